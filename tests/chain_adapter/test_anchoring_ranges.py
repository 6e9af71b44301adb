"""Sealing by id range under attack: enqueues committing out of order, in threads and in
processes, with sealers running; every item ends in exactly one batch that proves it."""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring import ranges
from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.sealing import seal_batch
from chain_adapter.anchoring.verify import verify_receipt
from chain_adapter.deploy import deploy_all
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.merkle import leaf_hash, verify_inclusion
from chain_adapter.transactor import Transactor
from notary_hub.db import create_db_engine, session_factory
from tests.chain_adapter.anchoring_checks import assert_exactly_once


class RolledBack(Exception):
    """Raised inside an enqueuing transaction to roll it back."""


def postgresql_only(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite's BEGIN IMMEDIATE never lets an enqueue be in flight")


def run_threads(targets: list[Callable[[], None]], timeout: float = 120) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # reported in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread hung (deadlock?)"
    return errors


def drain(sessions: sessionmaker[Session], max_items: int = 1000) -> None:
    while seal_batch(sessions, max_items) is not None:
        pass


def enqueue_in_flight(
    sessions: sessionmaker[Session], queue: AnchorQueue, ids: list[int]
) -> tuple[threading.Thread, threading.Event]:
    """A transaction that enqueued one item and has not committed until the event is set."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with sessions() as session, session.begin():
            ids.extend(queue.enqueue_many([os.urandom(32)], "deposit", session))
            held.set()
            assert release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(30)
    return thread, release


def test_a_sealer_waits_for_an_enqueue_in_flight(
    sessions: sessionmaker[Session], queue: AnchorQueue
) -> None:
    """Item a is drawn first and committed last: a range up to b must not skip it."""
    ids: list[int] = []
    holder, release = enqueue_in_flight(sessions, queue, ids)
    later = threading.Thread(
        target=lambda: ids.extend(queue.enqueue_many([os.urandom(32)], "deposit"))
    )
    later.start()
    sealed: list[int | None] = []
    sealer = threading.Thread(target=lambda: sealed.append(seal_batch(sessions, 100)))
    sealer.start()
    time.sleep(0.5)
    assert sealer.is_alive(), "the sealer did not wait for the transaction in flight"
    release.set()
    for thread in (holder, later, sealer):
        thread.join(30)
    drain(sessions)
    assert len(ids) == 2 and ids[0] < ids[1]
    assert assert_exactly_once(sessions, queue, ids) >= 1


def test_without_the_enqueue_lock_an_item_is_skipped(
    sessions: sessionmaker[Session], queue: AnchorQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack the lock answers: with it gone, the range seals b and leaves a behind."""
    postgresql_only(sessions)
    monkeypatch.setattr(ranges, "hold_enqueue_lock", lambda session: None)
    ids: list[int] = []
    holder, release = enqueue_in_flight(sessions, queue, ids)
    ids.extend(queue.enqueue_many([os.urandom(32)], "deposit"))
    assert seal_batch(sessions, 100) is not None  # did not wait
    release.set()
    holder.join(30)
    drain(sessions)
    with pytest.raises(AssertionError, match="1 items in no batch"):
        assert_exactly_once(sessions, queue, ids)


@pytest.fixture
def queue(sessions: sessionmaker[Session]) -> AnchorQueue:
    return AnchorQueue(sessions)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[EmbeddedChain, Transactor, Any]]:
    node: LocalAccount = Account.from_key(os.urandom(32))
    chain = EmbeddedChain.open(tmp_path / "chain", chain_id=1337, prefund={node.address: 10**24})
    transactor = Transactor(chain, node, receipt_timeout=10, poll_interval=0.01)
    yield chain, transactor, deploy_all(transactor, organisation_name="Test Notary")
    chain.close()


def enqueuer(
    sessions: sessionmaker[Session], queue: AnchorQueue, seed: int, rounds: int
) -> tuple[Callable[[], None], list[int]]:
    """Rounds of 1 to 20 items of two kinds: some alone, some in a transaction that
    waits before committing (so later ids commit first), some rolled back."""
    accepted: list[int] = []
    rng = random.Random(seed)

    def run() -> None:
        for _ in range(rounds):
            items = [os.urandom(32) for _ in range(rng.randint(1, 20))]
            kind = rng.choice(["deposit", "capture"])
            how = rng.random()
            if how < 0.4:
                accepted.extend(queue.enqueue_many(items, kind))
                continue
            try:
                with sessions() as session, session.begin():
                    got = queue.enqueue_many(items, kind, session)
                    time.sleep(rng.random() * 0.02)
                    if how > 0.85:
                        raise RolledBack
            except RolledBack:
                continue
            accepted.extend(got)

    return run, accepted


def test_concurrent_enqueuers_and_sealers_in_threads(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    embedded: tuple[EmbeddedChain, Transactor, Any],
) -> None:
    done = threading.Event()

    def sealer() -> None:
        while not done.is_set():
            if seal_batch(sessions, 17) is None:
                time.sleep(0.001)

    enqueuers = [enqueuer(sessions, queue, seed, rounds=30) for seed in range(5)]

    def enqueue_all() -> None:
        try:
            assert run_threads([run for run, _ in enqueuers]) == []
        finally:
            done.set()

    assert run_threads([enqueue_all, sealer, sealer]) == []
    drain(sessions, 17)
    ids = [item for _, accepted in enqueuers for item in accepted]
    assert len(set(ids)) == len(ids)
    batches = assert_exactly_once(sessions, queue, ids)
    assert batches > 10  # the sealers ran while the enqueuers did

    # Anchored, every receipt proves its leaf against the root on chain.
    chain, transactor, deployment = embedded
    batcher = Batcher(
        sessions, queue, transactor, deployment.anchor_registry, max_items=17, interval=1
    )
    assert batcher.run_once() == batches
    receipts = queue.receipts(ids)
    assert set(receipts) == set(ids)
    few = ids[::40]  # one item of a batch of 17 at most: read without the whole batch
    assert queue.receipts(few) == {item: receipts[item] for item in few}
    for item in few[:5]:
        assert queue.receipt(item) == receipts[item]
    roots_checked: set[bytes] = set()
    for receipt in receipts.values():
        assert verify_inclusion(
            leaf_hash(receipt.leaf),
            receipt.leaf_index,
            receipt.tree_size,
            receipt.audit_path,
            receipt.root,
        )
        if receipt.root not in roots_checked:
            roots_checked.add(receipt.root)
            result = verify_receipt(receipt, chain)
            assert result.valid, result.errors
    assert len(roots_checked) == batches


def _enqueue_process(url: str, seed: int, rounds: int, out: Any) -> None:
    engine = create_db_engine(url)
    sessions = session_factory(engine)
    run, accepted = enqueuer(sessions, AnchorQueue(sessions), seed, rounds)
    run()
    out.put(accepted)
    engine.dispose()


def _seal_process(url: str, done: Any, out: Any) -> None:
    engine = create_db_engine(url)
    sessions = session_factory(engine)
    sealed = 0
    while not done.is_set():
        if seal_batch(sessions, 23) is None:
            time.sleep(0.002)
        else:
            sealed += 1
    out.put(sealed)
    engine.dispose()


def test_concurrent_enqueuers_and_sealers_in_processes(
    sessions: sessionmaker[Session], queue: AnchorQueue, db_url: str
) -> None:
    postgresql_only(sessions)
    context = multiprocessing.get_context("spawn")
    done, accepted, sealed = context.Event(), context.Queue(), context.Queue()
    enqueuers = [
        context.Process(target=_enqueue_process, args=(db_url, seed, 40, accepted))
        for seed in range(3)
    ]
    sealers = [context.Process(target=_seal_process, args=(db_url, done, sealed)) for _ in "ab"]
    for process in enqueuers + sealers:
        process.start()
    ids = [item for _ in enqueuers for item in accepted.get(timeout=180)]
    done.set()
    sealed_by_processes = sum(sealed.get(timeout=60) for _ in sealers)
    for process in enqueuers + sealers:
        process.join(30)
        assert process.exitcode == 0
    drain(sessions, 23)
    assert sealed_by_processes > 0
    assert assert_exactly_once(sessions, queue, ids) >= sealed_by_processes
