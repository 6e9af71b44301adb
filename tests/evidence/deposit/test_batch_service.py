"""Batch digest deposits in the service, on SQLite and PostgreSQL: each item a deposit of its
own, idempotent by its own key, one insert for the new ones, races settled by the
``(platform, idempotency_key)`` constraint."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from evidence.deposit.batch import MAX_BATCH_ITEMS, BatchTooLarge, InvalidBatch, ItemResult
from evidence.deposit.request import DepositMetadata
from evidence.deposit.service import DepositService
from evidence.errors import NotDepositOwner
from evidence.principal import Principal
from tests.evidence.deposit_support import alice, blobs, bob, deposit_count, service

__all__ = ["alice", "blobs", "bob", "service"]  # fixtures, used by name below


def items(count: int, prefix: str | None = None) -> list[dict[str, Any]]:
    prefix = prefix or secrets.token_hex(4)
    return [
        {"sha256": secrets.token_hex(32), "title": f"item {i}", "idempotencyKey": f"{prefix}-{i}"}
        for i in range(count)
    ]


def ids(results: list[ItemResult]) -> list[str]:
    return [r.record.id for r in results if r.record is not None]


def test_a_batch_records_each_item(
    service: DepositService, sessions: sessionmaker[Session], alice: Principal
) -> None:
    woken: list[int] = []
    service.subscribe(lambda: woken.append(1))
    body = {"items": items(50)}
    results = service.deposit_batch(alice, body)
    assert [(r.index, r.status) for r in results] == [(i, 201) for i in range(50)]
    assert len(set(ids(results))) == 50 and deposit_count(sessions) == 50
    assert woken == [1]  # the pipeline is woken once per batch
    for item, result in zip(body["items"], results, strict=True):
        assert result.record is not None
        stored = service.get(alice, result.record.id)
        assert stored == result.record  # the answer is the row as written
        assert stored.sha256.hex() == item["sha256"] and stored.title == item["title"]
        assert stored.state.value == "received" and not stored.content_stored


def test_the_same_batch_twice_gives_the_same_deposits(
    service: DepositService, sessions: sessionmaker[Session], alice: Principal
) -> None:
    body = {"items": items(30)}
    first = service.deposit_batch(alice, body)
    again = service.deposit_batch(alice, body)
    assert ids(again) == ids(first) and {r.status for r in again} == {200}
    assert deposit_count(sessions) == 30


def test_a_key_reused_for_other_content_is_refused_for_that_item_only(
    service: DepositService, sessions: sessionmaker[Session], alice: Principal
) -> None:
    body = {"items": items(5)}
    first = service.deposit_batch(alice, body)
    changed = [dict(item) for item in body["items"]]
    changed[2]["sha256"] = secrets.token_hex(32)
    changed[3]["title"] = "other metadata"
    changed.append(items(1)[0])  # a new item beside them
    results = service.deposit_batch(alice, {"items": changed})
    assert [r.status for r in results] == [200, 200, 422, 422, 200, 201]
    assert results[2].error is not None and results[2].error.code == "idempotency_key_reused"
    assert results[3].error is not None and results[3].error.code == "idempotency_key_reused"
    assert ids(results)[:3] == [ids(first)[i] for i in (0, 1, 4)]
    assert deposit_count(sessions) == 6


def test_a_key_from_a_single_deposit_is_the_same_key_in_a_batch(
    service: DepositService, alice: Principal
) -> None:
    sha256 = secrets.token_bytes(32)
    single = service.deposit_digest(
        alice, DepositMetadata(title="t", idempotency_key="k-1"), sha256=sha256
    )
    same = {"sha256": sha256.hex(), "title": "t", "idempotencyKey": "k-1"}
    other = {"sha256": secrets.token_hex(32), "title": "t", "idempotencyKey": "k-1"}
    replay, refused = service.deposit_batch(alice, {"items": [same, other]})
    assert replay.status == 200 and replay.record == single
    assert refused.status == 422


def test_two_items_with_one_key_in_one_batch(
    service: DepositService, sessions: sessionmaker[Session], alice: Principal
) -> None:
    first = items(1)[0]
    clash = {**first, "sha256": secrets.token_hex(32)}
    results = service.deposit_batch(alice, {"items": [first, dict(first), clash]})
    assert [r.status for r in results] == [201, 200, 422]
    assert results[0].record == results[1].record and deposit_count(sessions) == 1


def test_malformed_items_are_named_by_index_and_the_good_ones_kept(
    service: DepositService, sessions: sessionmaker[Session], alice: Principal
) -> None:
    good = items(3)
    bad: list[Any] = [
        "not an object",
        {"sha256": secrets.token_hex(32)},  # no key
        {"sha256": "zz", "idempotencyKey": "bad-digest"},
        {"sm3": secrets.token_hex(32), "idempotencyKey": "sm3-only"},
        {"sha256": secrets.token_hex(32), "idempotencyKey": "x", "colour": "red"},
        {"sha256": secrets.token_hex(32), "idempotencyKey": "has space"},
        {"sha256": secrets.token_hex(32), "idempotencyKey": "k", "md5": "00" * 16},
    ]
    results = service.deposit_batch(alice, {"items": [good[0], *bad, good[1], good[2]]})
    assert [r.status for r in results] == [201, 400, 400, 400, 422, 400, 400, 400, 201, 201]
    codes = [r.error.code for r in results if r.error is not None]
    assert codes[3] == "sha256_required" and codes[6] == "unsupported_hash_algorithm"
    assert "idempotencyKey" in (results[2].error.message if results[2].error else "")
    assert deposit_count(sessions) == 3


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"items": []}, InvalidBatch),
        ({"items": {}}, InvalidBatch),
        ([], InvalidBatch),
        ({"items": [{}], "more": 1}, InvalidBatch),
        ({"items": [{}] * (MAX_BATCH_ITEMS + 1)}, BatchTooLarge),
    ],
)
def test_a_malformed_or_oversized_batch_is_refused_whole(
    service: DepositService,
    sessions: sessionmaker[Session],
    alice: Principal,
    body: Any,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        service.deposit_batch(alice, body)
    assert deposit_count(sessions) == 0


def test_a_full_batch_of_a_thousand(
    service: DepositService, sessions: sessionmaker[Session], alice: Principal
) -> None:
    results = service.deposit_batch(alice, {"items": items(MAX_BATCH_ITEMS)})
    assert {r.status for r in results} == {201} and deposit_count(sessions) == MAX_BATCH_ITEMS


def test_another_platform_cannot_read_the_batch_and_has_keys_of_its_own(
    service: DepositService, sessions: sessionmaker[Session], alice: Principal, bob: Principal
) -> None:
    body = {"items": items(3)}
    results = service.deposit_batch(alice, body)
    elsewhere = Principal(alice.did, "another-platform")
    for deposit_id in ids(results):
        for stranger in (elsewhere, bob):
            with pytest.raises(NotDepositOwner):
                service.get(stranger, deposit_id)
    # The same keys through another platform are that platform's own deposits.
    theirs = service.deposit_batch(elsewhere, body)
    assert {r.status for r in theirs} == {201} and not set(ids(theirs)) & set(ids(results))
    assert deposit_count(sessions) == 6


def test_concurrent_identical_batches_make_each_deposit_once(
    service: DepositService, sessions: sessionmaker[Session], alice: Principal
) -> None:
    body = {"items": items(300)}
    answers: list[list[ItemResult]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def send() -> None:
        start.wait()
        try:
            answers.append(service.deposit_batch(alice, body))
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures and len(answers) == 2
    assert ids(answers[0]) == ids(answers[1]) and len(set(ids(answers[0]))) == 300
    statuses = [r.status for answer in answers for r in answer]
    assert statuses.count(201) == 300 and statuses.count(200) == 300
    assert deposit_count(sessions) == 300
