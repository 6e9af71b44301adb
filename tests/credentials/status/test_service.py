"""StatusService on SQLite and PostgreSQL, publishing on the embedded chain."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from credentials.errors import CredentialNotFound, StatusError, StatusListNotFound
from credentials.status.anchor import anchor_list_id
from credentials.status.bitstring import (
    MIN_ENTRIES,
    Bitstring,
    decode_list,
    encode_list,
    encoded_list_bytes,
    status_of,
)
from credentials.status.models import STATUS_METADATA, StatusEntryRow, StatusListRow
from credentials.status.service import MAX_ENTRIES, StatusService
from notary_hub.db import session_factory
from tests.credentials.status_helpers import BASE_URL, list_verifier, make_service
from tests.fixtures.notary_world import NotaryWorld


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def service(sessions: sessionmaker[Session], notary_world: NotaryWorld) -> StatusService:
    return make_service(sessions, notary_world)


def list_id_of(entry: dict[str, str]) -> str:
    return entry["statusListCredential"].rsplit("/", 1)[1]


def anchored(world: NotaryWorld, url: str) -> tuple[bytes, int, int, int]:
    assert world.deployment.status_lists is not None
    result: tuple[bytes, int, int, int] = world.deployment.status_lists.call(
        "latest", world.node.address, anchor_list_id(url)
    )
    return result


def test_migration_builds_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, STATUS_METADATA)
    mine = [d for d in diff if "status_" in repr(d)]
    assert mine == []


def test_allocate_publish_and_serve(service: StatusService, notary_world: NotaryWorld) -> None:
    (entry,) = service.allocate("urn:uuid:credential-1")
    assert entry["type"] == "BitstringStatusListEntry"
    assert entry["statusPurpose"] == "revocation"
    assert entry["statusListCredential"].startswith(BASE_URL)
    assert entry["id"] == f"{entry['statusListCredential']}#{entry['statusListIndex']}"
    list_id = list_id_of(entry)
    # Nothing is served before the first version is anchored.
    with pytest.raises(StatusListNotFound):
        service.list_credential(list_id)

    (published,) = service.publish()
    assert published.version == 1 and published.tx_hash is not None
    served = service.list_credential(list_id)
    assert served["id"] == entry["statusListCredential"]
    assert served["issuer"] == notary_world.notary.did
    assert served["statusListAnchor"] == {
        "chainId": 1337,
        "registry": notary_world.deployment.status_lists.address,  # type: ignore[union-attr]
        "listId": "0x" + anchor_list_id(entry["statusListCredential"]).hex(),
    }
    assert list_verifier(notary_world)(served).verified
    digest, version, _, block = anchored(notary_world, entry["statusListCredential"])
    bits = decode_list(served["credentialSubject"]["encodedList"])
    assert (digest, version) == (hashlib.sha256(bytes(bits)).digest(), 1)
    # The chain's copy of the list is the served credential's encodedList, byte for byte.
    (event,) = notary_world.deployment.status_lists.events(  # type: ignore[union-attr]
        "StatusListPublished",
        from_block=block,
        argument_filters={"listId": anchor_list_id(entry["statusListCredential"])},
    )
    assert event.args["encodedList"] == encoded_list_bytes(
        served["credentialSubject"]["encodedList"]
    )
    assert event.log.block_number == block
    assert status_of(entry, served) is False
    assert service.publish() == []  # nothing changed: no transaction


def test_allocate_is_idempotent_and_one_list_per_purpose(service: StatusService) -> None:
    revocation, suspension = service.allocate("urn:c", ("revocation", "suspension"))
    assert (revocation["statusPurpose"], suspension["statusPurpose"]) == (
        "revocation",
        "suspension",
    )
    assert revocation["statusListCredential"] != suspension["statusListCredential"]
    assert service.allocate("urn:c", ("suspension",)) == [suspension]
    (other,) = service.allocate("urn:d", ("suspension",))
    assert other["statusListCredential"] == suspension["statusListCredential"]
    assert service.status("urn:c") == {"revocation": False, "suspension": False}


def test_indexes_are_random(service: StatusService) -> None:
    indexes = [int(service.allocate(f"urn:r{i}")[0]["statusListIndex"]) for i in range(64)]
    assert len(set(indexes)) == 64
    assert indexes != sorted(indexes)
    # Spread over the whole list (herd privacy): every quarter is used.
    assert {i * 4 // MIN_ENTRIES for i in indexes} == {0, 1, 2, 3}
    assert max(indexes) - min(indexes) > MIN_ENTRIES // 2


def test_revoke_suspend_unsuspend(service: StatusService, notary_world: NotaryWorld) -> None:
    revocation, suspension = service.allocate("urn:x", ("revocation", "suspension"))
    service.publish()
    assert service.set_status("urn:x", "suspension", True) is True
    assert service.set_status("urn:x", "suspension", True) is False  # already set
    # Served only once published.
    assert status_of(suspension, service.list_credential(list_id_of(suspension))) is False
    (published,) = service.publish()
    assert published.version == 2
    assert status_of(suspension, service.list_credential(list_id_of(suspension))) is True
    assert service.set_status("urn:x", "suspension", False) is True
    service.publish()
    assert status_of(suspension, service.list_credential(list_id_of(suspension))) is False
    assert anchored(notary_world, suspension["statusListCredential"])[1] == 3

    assert service.set_status("urn:x", "revocation", True) is True
    service.publish()
    assert status_of(revocation, service.list_credential(list_id_of(revocation))) is True
    with pytest.raises(StatusError, match="revocation is permanent"):
        service.set_status("urn:x", "revocation", False)
    assert service.status("urn:x") == {"revocation": True, "suspension": False}


def test_many_changes_make_one_version(service: StatusService, notary_world: NotaryWorld) -> None:
    entries = [service.allocate(f"urn:m{i}", ("suspension",))[0] for i in range(10)]
    service.publish()
    height = notary_world.chain.block_number()
    for i in range(10):
        service.set_status(f"urn:m{i}", "suspension", True)
    (published,) = service.publish()
    assert published.version == 2
    assert notary_world.chain.block_number() == height + 1  # one transaction
    served = service.list_credential(list_id_of(entries[0]))
    assert all(status_of(e, served) for e in entries)

    # Changed and changed back before publishing: the served version is still current.
    service.set_status("urn:m0", "suspension", False)
    service.set_status("urn:m0", "suspension", True)
    (unchanged,) = service.publish()
    assert (unchanged.version, unchanged.tx_hash) == (2, None)
    assert notary_world.chain.block_number() == height + 1
    assert service.publish() == []


def test_a_full_list_starts_a_new_one(
    service: StatusService, sessions: sessionmaker[Session]
) -> None:
    (first,) = service.allocate("urn:f0")
    # Nearly full: three free indexes left, marked in the allocation bitmap.
    free = {5, 77_777, MIN_ENTRIES - 1} - {int(first["statusListIndex"])}
    allocation = Bitstring.from_bytes(b"\xff" * (MIN_ENTRIES // 8))
    for index in free:
        allocation.set(index, False)
    with sessions() as session, session.begin():
        session.execute(
            update(StatusListRow).values(
                allocation=bytes(allocation), allocated=MIN_ENTRIES - len(free)
            )
        )
    taken = {int(service.allocate(f"urn:f{i + 1}")[0]["statusListIndex"]) for i in range(len(free))}
    assert taken == free
    (next_entry,) = service.allocate("urn:next")
    assert next_entry["statusListCredential"] != first["statusListCredential"]
    with sessions() as session:
        lists = session.execute(
            select(StatusListRow.allocated, StatusListRow.size).order_by(StatusListRow.id)
        ).all()
    assert [tuple(r) for r in lists] == [(MIN_ENTRIES, MIN_ENTRIES), (1, MIN_ENTRIES)]


def test_concurrent_allocations_never_share_an_index(
    service: StatusService, sessions: sessionmaker[Session]
) -> None:
    threads, each = 8, 12
    results: list[dict[str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        start.wait()
        try:
            for i in range(each):
                got = service.allocate(f"urn:t{n}-{i}", ("revocation", "suspension"))
                with lock:
                    results.extend(got)
            # Everyone also races for one shared credential: it gets one entry per purpose.
            shared = service.allocate("urn:shared", ("suspension", "revocation"))
            with lock:
                results.extend({**e, "shared": "1"} for e in shared)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    run(worker, threads)
    assert errors == []
    shared = {tuple(sorted(e.items())) for e in results if e.pop("shared", None)}
    assert len(shared) == 2
    positions = [(e["statusListCredential"], e["statusListIndex"]) for e in results]
    assert len(set(positions)) == len(positions) - 2 * (threads - 1)
    with sessions() as session:
        count = session.scalar(select(func.count()).select_from(StatusEntryRow))
        allocated = session.scalar(select(func.sum(StatusListRow.allocated)))
    assert count == allocated == threads * each * 2 + 2


def run(worker: Callable[[int], None], threads: int) -> None:
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)


def test_bad_requests(service: StatusService, sessions: sessionmaker[Session]) -> None:
    with pytest.raises(StatusError, match="unsupported status purpose 'message'"):
        service.allocate("urn:b", ("message",))
    with pytest.raises(StatusError, match="each status purpose once"):
        service.allocate("urn:b", ("revocation", "revocation"))
    with pytest.raises(StatusError, match="non-empty"):
        service.allocate("")
    with pytest.raises(StatusError, match="at most 512"):
        service.allocate("urn:" + "x" * 600)
    with pytest.raises(CredentialNotFound):
        service.set_status("urn:nobody", "revocation", True)
    service.allocate("urn:b")
    with pytest.raises(CredentialNotFound, match="no suspension entry"):
        service.set_status("urn:b", "suspension", True)
    with pytest.raises(StatusListNotFound):
        service.list_credential("0123456789abcdef")


def test_misconfiguration_is_refused(
    sessions: sessionmaker[Session], notary_world: NotaryWorld
) -> None:
    with pytest.raises(StatusError, match="131072 to 262144 entries"):
        make_service(sessions, notary_world, list_size=1024)
    with pytest.raises(StatusError, match="always fits in its on-chain copy"):
        make_service(sessions, notary_world, list_size=MAX_ENTRIES + 8)
    assert make_service(sessions, notary_world, list_size=MAX_ENTRIES)
    with pytest.raises(StatusError, match="http"):
        make_service(sessions, notary_world, base_url="ftp://x/")
    with pytest.raises(StatusError, match="did:ethr issuer"):
        make_service(sessions, notary_world, issuer_did="did:key:z6Mkabc")
    other = "did:ethr:0x539:0x" + "11" * 20
    with pytest.raises(StatusError, match="must be published by"):
        make_service(sessions, notary_world, issuer_did=other)


def test_a_signer_that_alters_the_list_is_refused(
    sessions: sessionmaker[Session], notary_world: NotaryWorld
) -> None:
    revoked = Bitstring()
    revoked.set(1, True)

    def tamper(document: dict[str, Any]) -> dict[str, Any]:
        subject = {**document["credentialSubject"], "encodedList": encode_list(revoked)}
        return {**document, "credentialSubject": subject, "proof": {}}

    service = make_service(sessions, notary_world, sign=tamper)
    service.allocate("urn:s")
    height = notary_world.chain.block_number()
    with pytest.raises(StatusError, match="signer changed"):
        service.publish()
    assert notary_world.chain.block_number() == height  # nothing anchored
    unsigned = make_service(sessions, notary_world, sign=lambda d: d)
    with pytest.raises(StatusError, match="no proof"):
        unsigned.publish()


def test_allocate_many_is_idempotent(service: StatusService) -> None:
    (single,) = service.allocate("urn:b1")
    batch = service.allocate_many(["urn:b1", "urn:b2", "urn:b2", "urn:b3"])
    assert batch[0] == [single]  # allocated before: given back
    assert batch[1] == batch[2]  # an id twice in one call: one entry
    assert service.allocate_many(["urn:b3", "urn:b2"]) == [batch[3], batch[1]]
    assert service.allocate("urn:b2") == batch[1]
    assert service.allocate_many([]) == []


def test_allocate_many_in_one_call(service: StatusService, sessions: sessionmaker[Session]) -> None:
    ids = [f"urn:many{i}" for i in range(300)]
    entries = service.allocate_many(ids, ("revocation", "suspension"))
    assert [[e["statusPurpose"] for e in pair] for pair in entries] == [
        ["revocation", "suspension"]
    ] * 300
    for purpose in (0, 1):
        indexes = [int(pair[purpose]["statusListIndex"]) for pair in entries]
        assert len(set(indexes)) == 300
        assert indexes != sorted(indexes)  # handed out in random order
        assert {i * 4 // MIN_ENTRIES for i in indexes} == {0, 1, 2, 3}
        assert len({pair[purpose]["statusListCredential"] for pair in entries}) == 1
    with sessions() as session:
        rows = session.execute(
            select(StatusListRow.purpose, StatusListRow.allocated, StatusListRow.allocation)
        ).all()
    assert sorted((r.purpose, r.allocated) for r in rows) == [
        ("revocation", 300),
        ("suspension", 300),
    ]
    assert all(Bitstring.from_bytes(r.allocation).count() == 300 for r in rows)
    with pytest.raises(StatusError, match="non-empty"):
        service.allocate_many(["urn:ok", ""])


def test_allocate_many_spills_into_a_new_list(
    service: StatusService, sessions: sessionmaker[Session]
) -> None:
    (first,) = service.allocate("urn:s0")
    free = {9, 4242, MIN_ENTRIES - 2} - {int(first["statusListIndex"])}
    allocation = Bitstring.from_bytes(b"\xff" * (MIN_ENTRIES // 8))
    for index in free:
        allocation.set(index, False)
    with sessions() as session, session.begin():
        session.execute(
            update(StatusListRow).values(
                allocation=bytes(allocation), allocated=MIN_ENTRIES - len(free)
            )
        )
    batch = [entry for (entry,) in service.allocate_many([f"urn:s{i + 1}" for i in range(10)])]
    old = [e for e in batch if e["statusListCredential"] == first["statusListCredential"]]
    new = [e for e in batch if e["statusListCredential"] != first["statusListCredential"]]
    assert {int(e["statusListIndex"]) for e in old} == free
    assert len(new) == 10 - len(free) and len({e["statusListCredential"] for e in new}) == 1
    assert len({e["statusListIndex"] for e in new}) == len(new)
    with sessions() as session:
        lists = session.execute(
            select(StatusListRow.allocated, StatusListRow.size).order_by(StatusListRow.id)
        ).all()
    assert [tuple(r) for r in lists] == [(MIN_ENTRIES, MIN_ENTRIES), (len(new), MIN_ENTRIES)]


def test_concurrent_batches_never_share_an_index(
    service: StatusService, sessions: sessionmaker[Session]
) -> None:
    threads, batches, each = 6, 4, 25
    results: list[dict[str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker(n: int) -> None:
        start.wait()
        try:
            for b in range(batches):
                # Every batch also holds one id all threads race for.
                ids = [f"urn:p{n}-{b}-{i}" for i in range(each)] + ["urn:everyone"]
                got = service.allocate_many(ids, ("suspension", "revocation"))
                with lock:
                    results.extend(e for pair in got[:-1] for e in pair)
                    results.extend({**e, "shared": "1"} for e in got[-1])
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    run(worker, threads)
    assert errors == []
    shared = {tuple(sorted(e.items())) for e in results if e.pop("shared", None)}
    assert len(shared) == 2
    own = threads * batches * each * 2
    positions = {(e["statusListCredential"], e["statusListIndex"]) for e in results}
    assert len(positions) == own + 2
    with sessions() as session:
        count = session.scalar(select(func.count()).select_from(StatusEntryRow))
        allocated = session.scalar(select(func.sum(StatusListRow.allocated)))
    assert count == allocated == own + 2
