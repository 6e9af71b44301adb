"""The capture records (issue 15), on SQLite and PostgreSQL: each step once and in order,
owners only, one winner of a race, and a killed process's captures found interrupted."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from evidence.capture.capture_request import CaptureLimits, new_holder
from evidence.capture.errors import CaptureError
from evidence.capture.models import CaptureState, EndReason
from evidence.capture.service import CaptureService
from evidence.capture.service_errors import (
    CaptureLeaseLost,
    CaptureNotFound,
    CaptureStateConflict,
    InvalidCaptureRequest,
)
from evidence.principal import Principal
from notary_hub import migrate
from notary_hub.db import create_db_engine

S = CaptureState
OWNER = Principal("did:key:z6MkOwner", "platform-a")
LEASE = timedelta(seconds=30)
START = datetime(2026, 12, 4, 8, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def digest(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(sessions: sessionmaker[Session], clock: Clock) -> CaptureService:
    return CaptureService(sessions, lease=LEASE, clock=clock)


def live(service: CaptureService, holder: str = "hub-1", entries: int = 0) -> str:
    capture = service.create(OWNER, "live", "https://example.org/page", holder=holder)
    service.started(capture.id, digest("preflight"), holder)
    for seq in range(entries):
        service.chain_progress(capture.id, digest(f"entry {seq}"), seq + 1, holder=holder)
    return capture.id


def refused_unchanged(service: CaptureService, capture_id: str, step: Callable[[], Any]) -> None:
    before = service.record(capture_id)
    with pytest.raises(CaptureStateConflict) as raised:
        step()
    assert (raised.value.code, raised.value.status_code) == ("capture_state_conflict", 409)
    assert service.record(capture_id) == before


def test_a_capture_from_preflight_to_sealed_each_step_once(
    service: CaptureService, clock: Clock
) -> None:
    capture = service.create(OWNER, "live", "https://example.org/", {"idleSeconds": 60})
    assert capture.state is S.PREFLIGHT and len(capture.id) == 32
    assert capture.limits == {**CaptureLimits().to_json(), "idleSeconds": 60}
    record = service.started(capture.id, digest("preflight"), "hub-1")
    assert (record.state, record.held_by, record.held_until) == (S.LIVE, "hub-1", START + LEASE)
    refused_unchanged(service, capture.id, lambda: service.started(capture.id, digest("x"), "h"))
    service.chain_progress(capture.id, digest("e0"), 1, holder="hub-1")
    clock.advance(20)
    assert service.renew(capture.id, "hub-1").held_until == clock.now + LEASE
    record = service.end_requested(capture.id, OWNER, "user")
    assert (record.state, record.end_reason, record.ended_at) == (S.ENDING, EndReason.USER, clock())
    service.chain_progress(capture.id, digest("e1"), 2, holder="hub-1")  # the final stamp
    assert service.sealing(capture.id, "hub-1").state is S.SEALING
    refused_unchanged(service, capture.id, lambda: service.sealing(capture.id, "hub-1"))
    letter = {"type": ["VerifiableCredential", "EvidenceCaptureCredential"]}
    record = service.sealed(capture.id, digest("package"), 1234, letter, holder="hub-1")
    assert (record.state, record.package_size, record.letter, record.held_by) == (
        S.SEALED, 1234, letter, None,
    )  # fmt: skip
    assert (record.chain_head, record.chain_length, record.interrupted) == (digest("e1"), 2, False)
    refused_unchanged(
        service, capture.id, lambda: service.sealed(capture.id, digest("p"), 1, letter)
    )


def test_steps_out_of_order_are_refused_and_change_nothing(service: CaptureService) -> None:
    capture = service.create(OWNER, "scripted", "https://example.org/", holder="hub-1")
    for step in (
        lambda: service.end_requested(capture.id, None, "script_done"),
        lambda: service.sealing(capture.id, "hub-1"),
        lambda: service.sealed(capture.id, digest("p"), 1, {}),
        lambda: service.chain_progress(capture.id, digest("e0"), 1),
    ):
        refused_unchanged(service, capture.id, step)
    record = service.refused(capture.id, ["hosts file: an entry for example.org", "clock: 9 s"])
    assert record.state is S.REFUSED and record.refusal == (
        "hosts file: an entry for example.org",
        "clock: 9 s",
    )
    assert record.held_by is None
    refused_unchanged(service, capture.id, lambda: service.started(capture.id, digest("p"), "h"))
    refused_unchanged(service, capture.id, lambda: service.refused(capture.id, ["again"]))


def test_an_end_asked_twice_is_refused(service: CaptureService, clock: Clock) -> None:
    capture_id = live(service)
    first = service.end_requested(capture_id, OWNER, "user")
    clock.advance(5)
    refused_unchanged(service, capture_id, lambda: service.end_requested(capture_id, OWNER, "user"))
    refused_unchanged(
        service, capture_id, lambda: service.end_requested(capture_id, None, "idle_timeout")
    )
    assert service.record(capture_id).ended_at == first.ended_at


def test_someone_elses_capture_is_not_found(service: CaptureService) -> None:
    capture_id = live(service)
    strangers = (
        Principal("did:key:z6MkStranger", "platform-a"),
        Principal(OWNER.did, "platform-b"),  # the owner, through another platform
    )
    for stranger in strangers:
        with pytest.raises(CaptureNotFound) as raised:
            service.owned(stranger, capture_id)
        assert raised.value.status_code == 404
        assert raised.value.message == f"no capture {capture_id!r}"  # as for a missing one
        with pytest.raises(CaptureNotFound):
            service.end_requested(capture_id, stranger, "user")
        assert service.list_for(stranger) == []
    assert service.record(capture_id).state is S.LIVE
    wallet = Principal(OWNER.did, "wallet", all_platforms=True)
    assert service.owned(wallet, capture_id).id == capture_id
    assert [r.id for r in service.list_for(OWNER)] == [capture_id]
    with pytest.raises(CaptureNotFound):
        service.owned(OWNER, "0" * 32)
    with pytest.raises(CaptureNotFound):
        service.owned(OWNER, "x" * 5000)  # never sent to the database


def test_racing_threads_make_a_step_once(
    sessions: sessionmaker[Session], clock: Clock, service: CaptureService
) -> None:
    """Two hub processes (two services on one database), four threads each."""
    other = CaptureService(sessions, lease=LEASE, clock=clock)
    capture_id = live(service)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def end(on: CaptureService) -> None:
        barrier.wait()
        try:
            on.end_requested(capture_id, OWNER, "user")
            outcomes.append("ended")
        except CaptureError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=end, args=(s,)) for s in (service, other) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["capture_state_conflict"] * 7 + ["ended"]
    assert service.record(capture_id).state is S.ENDING


def test_two_recovering_processes_interrupt_each_capture_once(
    sessions: sessionmaker[Session], clock: Clock, service: CaptureService
) -> None:
    other = CaptureService(sessions, lease=LEASE, clock=clock)
    ids = {live(service, entries=2) for _ in range(3)}
    clock.advance(LEASE.total_seconds() + 1)
    barrier = threading.Barrier(2)
    moved: list[list[str]] = []

    def recover(on: CaptureService) -> None:
        barrier.wait()
        moved.append([record.id for record in on.recover_interrupted()])

    threads = [threading.Thread(target=recover, args=(s,)) for s in (service, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(moved[0] + moved[1]) == sorted(ids)
    assert {service.record(i).state for i in ids} == {S.INTERRUPTED}


def test_a_lapsed_lease_is_found_interrupted_and_sealed_saying_so(
    service: CaptureService, clock: Clock
) -> None:
    killed = live(service, "hub-1", entries=42)
    running = live(service, "hub-2")
    ending = live(service, "hub-3")
    service.end_requested(ending, OWNER, "user")
    clock.advance(25)
    service.renew(running, "hub-2")
    clock.advance(10)  # past hub-1's and hub-3's leases, within hub-2's
    recovered = {r.id: r for r in service.recover_interrupted()}
    assert set(recovered) == {killed, ending}
    record = recovered[killed]
    assert (record.state, record.interrupted, record.end_reason) == (
        S.INTERRUPTED, True, EndReason.INTERRUPTED,
    )  # fmt: skip
    assert record.interruption_reason == (
        "the hub process stopped at 2026-12-04T08:00:00Z; recorded up to chain entry 41"
    )
    assert record.ended_at == START and record.held_by is None
    assert recovered[ending].end_reason is EndReason.USER  # the end asked for is kept
    assert recovered[ending].interruption_reason == (
        "the hub process stopped at 2026-12-04T08:00:00Z; nothing had entered the hash chain"
    )
    assert service.record(running).state is S.LIVE
    assert service.recover_interrupted() == []  # once only
    # The killed process, come back, finds it has lost the capture and records nothing.
    with pytest.raises(CaptureLeaseLost) as lost:
        service.renew(killed, "hub-1")
    assert (lost.value.code, lost.value.status_code) == ("capture_lease_lost", 409)
    with pytest.raises(CaptureLeaseLost):
        service.chain_progress(killed, digest("late"), 43, holder="hub-1")
    refused_unchanged(service, killed, lambda: service.end_requested(killed, OWNER, "user"))
    # Both created at the same (frozen) time: oldest first, then by id.
    assert service.due_for_sealing() == sorted([killed, ending])
    service.sealing(killed, "hub-9")
    # The chain file holds one entry more than the row knew (written, then killed).
    found = service.chain_progress(killed, digest("entry 42"), 43, holder="hub-9")
    assert found.interruption_reason == (
        "the hub process stopped at 2026-12-04T08:00:00Z; recorded up to chain entry 42"
    )
    sealed = service.sealed(killed, digest("package"), 99, {"interrupted": True}, holder="hub-9")
    assert (sealed.state, sealed.interrupted, sealed.chain_length) == (S.SEALED, True, 43)
    assert sealed.interruption_reason == found.interruption_reason


def test_a_process_killed_in_the_preflight_leaves_a_refused_capture(
    service: CaptureService, clock: Clock
) -> None:
    capture = service.create(OWNER, "live", "https://example.org/", holder="hub-1")
    clock.advance(LEASE.total_seconds() + 1)
    (record,) = service.recover_interrupted()
    assert (record.id, record.state, record.interrupted) == (capture.id, S.REFUSED, False)
    assert record.refusal == (
        "the hub process stopped at 2026-12-04T08:00:00Z, during the pre-flight",
    )


def test_a_crashed_sealer_is_taken_over_after_its_lease(
    service: CaptureService, clock: Clock
) -> None:
    capture_id = live(service, "hub-1", entries=1)
    service.end_requested(capture_id, None, "max_duration")
    with pytest.raises(CaptureLeaseLost):
        service.sealing(capture_id, "hub-2")  # hub-1 still runs it
    service.sealing(capture_id, "hub-1")
    with pytest.raises(CaptureLeaseLost):
        service.sealing(capture_id, "hub-2")  # hub-1 is sealing it
    assert service.due_for_sealing() == []
    clock.advance(LEASE.total_seconds() + 1)
    assert service.due_for_sealing() == [capture_id]
    assert service.sealing(capture_id, "hub-2").held_by == "hub-2"
    with pytest.raises(CaptureLeaseLost):  # the old sealer's late result is not written
        service.sealed(capture_id, digest("stale"), 5, {}, holder="hub-1")
    failed = service.seal_failed(capture_id, "hub-2", "blob_store_unavailable: try later")
    assert (failed.state, failed.error, failed.held_by) == (
        S.SEALING, "blob_store_unavailable: try later", None,
    )  # fmt: skip
    assert service.due_for_sealing() == [capture_id]
    service.sealing(capture_id, "hub-3")
    record = service.sealed(capture_id, digest("package"), 7, {}, holder="hub-3")
    assert (record.state, record.error, record.end_reason) == (
        S.SEALED, None, EndReason.MAX_DURATION,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.create(OWNER, "remote", "https://a.example/"), "mode must be"),
        (lambda s: s.create(OWNER, "live", "file:///etc/passwd"), "http or https"),
        (lambda s: s.create(OWNER, "live", "https://u:pw@a.example/"), "password"),
        (lambda s: s.create(OWNER, "live", "https://[::1/"), "not a valid URL"),
        (lambda s: s.create(OWNER, "live", "https://a.example/" + "a" * 3000), "at most"),
        (lambda s: s.create(OWNER, "live", "https://a.example/", {"idleSeconds": 0}), "positive"),
        (
            lambda s: s.create(OWNER, "live", "https://a.example/", {"downloadCapBytes": 2**40}),
            "at most",
        ),
        (lambda s: s.create(OWNER, "live", "https://a.example/", {"cpu": 1}), "unknown limit"),
        (lambda s: s.create(OWNER, "live", "https://a.example/", holder=""), "lease holder"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(
    service: CaptureService, call: Callable[[CaptureService], object], message: str
) -> None:
    with pytest.raises(InvalidCaptureRequest, match=message) as raised:
        call(service)
    assert raised.value.status_code == 422
    assert service.list_for(OWNER) == []


def test_forged_and_replayed_steps_are_refused(service: CaptureService) -> None:
    capture_id = live(service, entries=3)
    with pytest.raises(InvalidCaptureRequest, match="reason 'user'"):
        service.end_requested(capture_id, OWNER, "idle_timeout")  # a user forging a timeout
    with pytest.raises(InvalidCaptureRequest, match="found by recovery"):
        service.end_requested(capture_id, None, "interrupted")
    with pytest.raises(CaptureStateConflict, match="already has 3 entries"):
        service.chain_progress(capture_id, digest("entry 1"), 2)  # an old progress replayed
    with pytest.raises(InvalidCaptureRequest, match="32 bytes"):
        service.chain_progress(capture_id, b"short", 4)
    with pytest.raises(CaptureLeaseLost):
        service.renew(capture_id, "hub-intruder")
    record = service.record(capture_id)
    assert (record.state, record.chain_length, record.chain_head) == (S.LIVE, 3, digest("entry 2"))


def test_the_migration_downgrades_and_upgrades(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        migrate.upgrade(engine)
        assert "evidence_captures" in inspect(engine).get_table_names()
        config = migrate.alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0014")
        tables = inspect(engine).get_table_names()
        assert "evidence_captures" not in tables and "evidence_draws" in tables
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
        indexes = {i["name"] for i in inspect(engine).get_indexes("evidence_captures")}
        assert indexes == {"ix_evidence_captures_owner", "ix_evidence_captures_state"}
    finally:
        engine.dispose()


def test_each_process_run_holds_under_a_name_of_its_own(service: CaptureService) -> None:
    first, second = new_holder(), new_holder()
    assert first != second and first.split(":")[:2] == second.split(":")[:2]
    capture_id = live(service, first)
    with pytest.raises(CaptureLeaseLost):
        service.renew(capture_id, second)  # a restarted process cannot keep it alive
