"""The anchoring queue and batcher on the embedded chain, on SQLite and PostgreSQL.

Crashes are reproduced by stopping a batcher between its steps (the database and
chain keep what was committed) and letting a fresh batcher recover.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue, InvalidAnchorItem, UnknownAnchorItem
from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.anchoring.verify import verify_receipt
from chain_adapter.deploy import Deployment, deploy_all
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.errors import InvalidReceipt
from chain_adapter.models import AnchorBatch, BatchState
from chain_adapter.transactor import SignedTx, Transactor
from tests.chain_adapter.anchoring_checks import assert_exactly_once


@pytest.fixture
def node() -> LocalAccount:
    account: LocalAccount = Account.from_key(os.urandom(32))
    return account


@pytest.fixture
def chain(tmp_path: Path, node: LocalAccount) -> Iterator[EmbeddedChain]:
    chain = EmbeddedChain.open(tmp_path / "chain", chain_id=1337, prefund={node.address: 10**24})
    yield chain
    chain.close()


@pytest.fixture
def transactor(chain: EmbeddedChain, node: LocalAccount) -> Transactor:
    return Transactor(chain, node, receipt_timeout=10, poll_interval=0.01)


@pytest.fixture
def deployment(transactor: Transactor) -> Deployment:
    return deploy_all(transactor, organisation_name="Test Notary")


@pytest.fixture
def queue(sessions: sessionmaker[Session]) -> AnchorQueue:
    return AnchorQueue(sessions)


def make_batcher(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
    max_items: int = 1000,
) -> Batcher:
    return Batcher(
        sessions, queue, transactor, deployment.anchor_registry, max_items=max_items, interval=0.05
    )


def seal_and_sign(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
) -> tuple[Batcher, int, bytes, SignedTx]:
    """A batcher's steps up to a signed anchoring transaction, which the caller records or not."""
    crashed = make_batcher(sessions, queue, transactor, deployment)
    batch_id = crashed.seal()
    assert batch_id is not None
    with sessions() as session:
        batch = session.get(AnchorBatch, batch_id)
        assert batch is not None
        root, size = batch.root, batch.size
    signed = transactor.build(
        deployment.anchor_registry.address,
        deployment.anchor_registry.encode("anchor", root, size, b"deposit".ljust(32, b"\0")),
    )
    return crashed, batch_id, root, signed


def restarted(transactor: Transactor) -> Transactor:
    """The transactor of a new process: it knows no nonce it reserved before the crash."""
    return Transactor(transactor.chain, transactor._account, receipt_timeout=10, poll_interval=0.01)


def anchored_roots(chain: EmbeddedChain, deployment: Deployment) -> list[str]:
    events = deployment.anchor_registry.events("RootAnchored", 0)
    return ["0x" + bytes(event.args["root"]).hex() for event in events]


def test_items_are_anchored_and_receipts_verify(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
    chain: EmbeddedChain,
) -> None:
    items = [os.urandom(32) for _ in range(37)]
    ids = queue.enqueue_many(items, "deposit")
    assert queue.receipt(ids[0]) is None
    assert queue.status(ids[0]).state == "queued"

    batcher = make_batcher(sessions, queue, transactor, deployment, max_items=16)
    assert batcher.run_once() == 3  # 16 + 16 + 5
    assert queue.pending_count() == 0

    for item_id, data in zip(ids, items, strict=True):
        receipt = queue.receipt(item_id)
        assert receipt is not None and receipt.leaf == data
        round_tripped = AnchorReceipt.from_json(receipt.to_json())
        result = verify_receipt(round_tripped, chain)
        assert result.valid, result.errors
    assert len(anchored_roots(chain, deployment)) == 3


def test_batch_receipts_match_single_receipts(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
) -> None:
    ids = queue.enqueue_many([os.urandom(32) for _ in range(10)], "capture")
    make_batcher(sessions, queue, transactor, deployment).run_once()
    batch_id = queue.status(ids[0]).batch_id
    assert batch_id is not None
    bulk = dict(queue.batch_receipts(batch_id))
    assert bulk == {item_id: queue.receipt(item_id) for item_id in ids}
    # A few items of a larger batch are read otherwise (leaf indexes from the item ids).
    few = [ids[0], ids[3], ids[9]]
    assert queue.receipts([*few, 10**9]) == {item_id: bulk[item_id] for item_id in few}
    assert queue.receipts(ids) == bulk


def test_kinds_are_batched_separately(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
) -> None:
    a = queue.enqueue(os.urandom(32), "deposit")
    b = queue.enqueue(os.urandom(32), "draw")
    make_batcher(sessions, queue, transactor, deployment).run_once()
    ra, rb = queue.receipt(a), queue.receipt(b)
    assert ra is not None and rb is not None
    assert (ra.kind, rb.kind) == ("deposit", "draw")
    assert ra.root != rb.root


def test_crash_after_signing_before_broadcast_resends_the_same_transaction(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
    chain: EmbeddedChain,
) -> None:
    ids = queue.enqueue_many([os.urandom(32) for _ in range(5)], "deposit")
    crashed, batch_id, root, signed = seal_and_sign(sessions, queue, transactor, deployment)
    crashed._record_signed(batch_id, signed)  # recorded, then the process died

    make_batcher(sessions, queue, restarted(transactor), deployment).run_once()
    receipt = queue.receipt(ids[0])
    assert receipt is not None and receipt.transaction_hash == signed.hash
    assert anchored_roots(chain, deployment) == ["0x" + root.hex()]


def test_crash_after_broadcast_adopts_the_mined_transaction(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
    chain: EmbeddedChain,
) -> None:
    ids = queue.enqueue_many([os.urandom(32) for _ in range(3)], "deposit")
    crashed, batch_id, _root, signed = seal_and_sign(sessions, queue, transactor, deployment)
    crashed._record_signed(batch_id, signed)
    transactor.send(signed)  # mined; the process died before recording it

    assert make_batcher(sessions, queue, restarted(transactor), deployment).run_once() == 1
    assert len(anchored_roots(chain, deployment)) == 1
    assert queue.receipt(ids[0]) is not None


def test_crash_after_sealing_before_signing(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
    chain: EmbeddedChain,
) -> None:
    ids = queue.enqueue_many([os.urandom(32) for _ in range(4)], "deposit")
    assert make_batcher(sessions, queue, transactor, deployment).seal() is not None
    make_batcher(sessions, queue, transactor, deployment).run_once()
    assert all(queue.receipt(i) is not None for i in ids)
    assert len(anchored_roots(chain, deployment)) == 1


def test_recorded_transaction_whose_nonce_was_taken_is_signed_again(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
    chain: EmbeddedChain,
) -> None:
    ids = queue.enqueue_many([os.urandom(32) for _ in range(3)], "deposit")
    crashed, batch_id, _root, signed = seal_and_sign(sessions, queue, transactor, deployment)
    crashed._record_signed(batch_id, signed)
    # After the restart, another transaction of the node takes the recorded nonce.
    after = restarted(transactor)
    after.transact(after.address, b"")

    make_batcher(sessions, queue, after, deployment).run_once()
    receipt = queue.receipt(ids[0])
    assert receipt is not None and receipt.transaction_hash != signed.hash
    assert verify_receipt(receipt, chain).valid
    assert len(anchored_roots(chain, deployment)) == 1


def test_twin_batch_with_an_anchored_root_adopts_it(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
    chain: EmbeddedChain,
) -> None:
    data = os.urandom(32)
    first = queue.enqueue(data, "deposit")
    batcher = make_batcher(sessions, queue, transactor, deployment)
    batcher.run_once()
    second = queue.enqueue(data, "deposit")  # same single leaf: same root
    batcher.run_once()
    r1, r2 = queue.receipt(first), queue.receipt(second)
    assert r1 is not None and r2 is not None
    assert r1.root == r2.root and r1.transaction_hash == r2.transaction_hash
    assert len(anchored_roots(chain, deployment)) == 1


def test_every_item_in_exactly_one_batch(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
) -> None:
    ids = queue.enqueue_many([os.urandom(32) for _ in range(50)], "deposit")
    batcher = make_batcher(sessions, queue, transactor, deployment, max_items=7)
    batcher.run_once()
    with sessions() as session:
        sizes = session.scalars(select(AnchorBatch.size).order_by(AnchorBatch.id)).all()
        assert sizes == [7] * 7 + [1]
        assert set(session.scalars(select(AnchorBatch.state))) == {BatchState.ANCHORED}
    assert assert_exactly_once(sessions, queue, ids) == 8


def test_bad_items_are_refused(queue: AnchorQueue) -> None:
    with pytest.raises(InvalidAnchorItem):
        queue.enqueue(b"", "deposit")
    with pytest.raises(InvalidAnchorItem):
        queue.enqueue(b"x" * 2000, "deposit")
    with pytest.raises(InvalidAnchorItem):
        queue.enqueue(b"x", "k" * 33)
    with pytest.raises(UnknownAnchorItem):
        queue.status(987654)
    assert queue.pending_count() == 0


def test_tampered_receipts_fail_with_reasons(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
    chain: EmbeddedChain,
) -> None:
    ids = queue.enqueue_many([os.urandom(32) for _ in range(6)], "deposit")
    make_batcher(sessions, queue, transactor, deployment).run_once()
    receipt = queue.receipt(ids[2])
    assert receipt is not None
    good = receipt.to_json()
    other_hash = "0x" + "ab" * 32
    tampered = {
        "leaf": "0x" + os.urandom(32).hex(),
        "leafIndex": 3,
        "root": other_hash,
        "blockHash": other_hash,
        "blockNumber": good["blockNumber"] + 1,
        "blockTimestamp": good["blockTimestamp"] + 1,
        "transactionHash": other_hash,
        "treeSize": 7,
        "chainId": 1,
        "registry": deployment.did_registry.address,
        "kind": "draw",
    }
    for field, value in tampered.items():
        doc = dict(good, **{field: value})
        result = verify_receipt(AnchorReceipt.from_json(doc), chain)
        assert not result.valid, field
        assert result.errors, field
    doc = dict(good, auditPath=[*good["auditPath"][:-1], other_hash])
    assert not verify_receipt(AnchorReceipt.from_json(doc), chain).valid


@pytest.mark.parametrize(
    "change",
    [
        {"type": "Other"},
        {"version": 2},
        {"leafIndex": -1},
        {"leafIndex": True},
        {"treeSize": 0},
        {"root": "0x1234"},
        {"auditPath": "nope"},
        {"registry": "0x123"},
        {"leaf": "zz"},
        {"kind": ""},
    ],
)
def test_malformed_receipts_are_refused(change: dict[str, object]) -> None:
    doc = {
        "type": "MerkleAnchorReceipt",
        "version": 1,
        "hashAlgorithm": "sha-256",
        "treeAlgorithm": "rfc9162",
        "leaf": "0x00",
        "leafIndex": 0,
        "treeSize": 1,
        "auditPath": [],
        "root": "0x" + "00" * 32,
        "kind": "deposit",
        "chainId": 1337,
        "registry": "0x" + "11" * 20,
        "transactionHash": "0x" + "22" * 32,
        "blockNumber": 1,
        "blockHash": "0x" + "33" * 32,
        "blockTimestamp": 1,
    }
    AnchorReceipt.from_json(doc)
    with pytest.raises(InvalidReceipt):
        AnchorReceipt.from_json({**doc, **change})


def test_concurrent_sealers_never_claim_the_same_item(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    transactor: Transactor,
    deployment: Deployment,
) -> None:
    """Two batchers (two processes, say) sealing at once over one database."""
    ids = queue.enqueue_many([os.urandom(32) for _ in range(400)], "deposit")
    sealers = [make_batcher(sessions, queue, transactor, deployment, max_items=9) for _ in range(4)]
    barrier = threading.Barrier(len(sealers))
    errors: list[BaseException] = []

    def seal_all(batcher: Batcher) -> None:
        barrier.wait()
        try:
            while batcher.seal() is not None:
                pass
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=seal_all, args=(b,)) for b in sealers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert assert_exactly_once(sessions, queue, ids) == 45  # 44 of 9, one of 4
