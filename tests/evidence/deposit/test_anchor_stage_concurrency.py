"""The anchor stage enqueues inside its own transaction, holding the enqueue lock until it
commits, with deposit rows locked FOR UPDATE SKIP LOCKED: with several stage workers,
sealers and the collector at once, nothing deadlocks and every deposit is anchored once."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.sealing import seal_batch
from evidence.deposit.anchor_stage import AnchorStage
from evidence.deposit.models import Deposit, DepositState
from tests.chain_adapter.anchoring_checks import assert_exactly_once
from tests.chain_adapter.test_anchoring_ranges import run_threads
from tests.fixtures.notary_world import NotaryWorld

DEPOSITS = 240


def timestamped_deposits(sessions: sessionmaker[Session]) -> dict[str, bytes]:
    digests = {os.urandom(16).hex(): os.urandom(32) for _ in range(DEPOSITS)}
    now = datetime.now(UTC)
    with sessions() as session, session.begin():
        session.add_all(
            Deposit(
                id=deposit_id,
                depositor="did:example:alice",
                platform="test",
                tags=[],
                sha256=digest,
                content_stored=False,
                state=DepositState.TIMESTAMPED,
                received_at=now,
                timestamped_at=now,
            )
            for deposit_id, digest in digests.items()
        )
    return digests


def test_stage_workers_sealers_and_collector_at_once(
    sessions: sessionmaker[Session], notary_world: NotaryWorld
) -> None:
    digests = timestamped_deposits(sessions)
    queue = AnchorQueue(sessions)
    done = threading.Event()
    batcher = Batcher(
        sessions,
        queue,
        notary_world.transactor,
        notary_world.deployment.anchor_registry,
        max_items=11,
        interval=1,
    )

    def stage() -> AnchorStage:
        return AnchorStage(sessions, queue, batch_size=7, stopping=done.is_set)

    def stage_worker() -> None:
        worker = stage()
        while worker.enqueue():
            pass

    def enqueue_all() -> None:
        try:
            assert run_threads([stage_worker] * 4) == []
        finally:
            done.set()

    def sealer() -> None:
        while not done.is_set():
            seal_batch(sessions, 11)

    def anchor_and_collect() -> None:
        collector = stage()
        while not done.is_set():
            batcher.run_once()
            collector.collect()

    assert run_threads([enqueue_all, sealer, sealer, anchor_and_collect], timeout=300) == []

    batcher.run_once()
    collector = stage()
    while collector.collect():
        pass
    with sessions() as session:
        rows = session.execute(select(Deposit.id, Deposit.state, Deposit.anchor_item_id)).all()
    assert {state for _, state, _ in rows} == {DepositState.ANCHORED}
    items: dict[str, int] = {}
    for deposit_id, _, item in rows:
        assert item is not None
        items[deposit_id] = item
    assert len(set(items.values())) == DEPOSITS
    assert_exactly_once(sessions, queue, list(items.values()))
    receipts = queue.receipts(list(items.values()))
    for deposit_id, item in items.items():
        assert receipts[item].leaf == digests[deposit_id]
