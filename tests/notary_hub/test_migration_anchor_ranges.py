"""Migration 0016 on a database with batches of the old form: their receipts do not change.

Before 0016 each item carried its batch's id, and the old claim could leave a batch's
items non-contiguous for its kind (an item committed after a later one was sealed) and
an item pending below its kind's highest sealed id. The database below holds all of
that at revision 0015; after the upgrade every old receipt is what the old rule gives
(leaf index: rank by id among the batch's items), the stragglers are sealed, the
unfinished batches anchor, and new items go into ranges.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.anchoring.verify import verify_receipt
from chain_adapter.deploy import deploy_all
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.merkle import MerkleTree, hash_leaves
from chain_adapter.transactor import Transactor
from notary_hub import migrate
from notary_hub.db import create_db_engine, session_factory

ITEMS = sa.table(
    "anchor_items",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("batch_id", sa.Integer),
)
BATCHES = sa.table(
    "anchor_batches",
    *(sa.column(name) for name in ("id", "kind", "state", "root", "size", "attempts")),
    *(sa.column(name) for name in ("tx_hash", "chain_id", "registry_address")),
    *(sa.column(name) for name in ("block_number", "block_hash", "block_timestamp")),
)
LEVELS = sa.table("anchor_levels", sa.column("batch_id"), sa.column("level"), sa.column("hashes"))
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
KINDS = "DDCDDCDDDCDDDD"  # items 1..14: D deposit, C capture
# Batches of the old form (batch id: items): 1-3 anchored, 4 sealed. 5, 8, 9 and 7, 13 are
# not contiguous for their kind; 11 and 12 are pending below 13, 10 and 14 above.
OLD_BATCHES = {1: (1, 2, 4), 2: (3, 6), 3: (5, 8, 9), 4: (7, 13)}
ANCHORED = (1, 2, 3)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def kind(item_id: int) -> str:
    return "deposit" if KINDS[item_id - 1] == "D" else "capture"


def old_database(engine: Engine) -> tuple[dict[int, bytes], dict[int, AnchorReceipt]]:
    """Items and batches at 0015, and the receipts the old rule gives the anchored ones."""
    migrate.upgrade(engine, "0015")
    data = {i: os.urandom(32) for i in range(1, len(KINDS) + 1)}
    expected: dict[int, AnchorReceipt] = {}
    with engine.begin() as db:
        for batch_id, members in OLD_BATCHES.items():
            tree = MerkleTree.from_leaves(hash_leaves([data[i] for i in members]))
            anchored = batch_id in ANCHORED
            chain_fields = {
                "tx_hash": f"0x{batch_id:064x}",
                "chain_id": 1337,
                "registry_address": REGISTRY,
                "block_number": 10 + batch_id,
                "block_hash": f"0x{batch_id + 100:064x}",
                "block_timestamp": 1_700_000_000 + batch_id,
            }
            db.execute(
                sa.insert(BATCHES).values(
                    id=batch_id,
                    kind=kind(members[0]),
                    state="anchored" if anchored else "sealed",
                    root=tree.root,
                    size=tree.size,
                    attempts=0,
                    **(chain_fields if anchored else {}),
                )
            )
            db.execute(
                sa.insert(LEVELS),
                [
                    {"batch_id": batch_id, "level": level, "hashes": blob}
                    for level, blob in enumerate(tree.to_level_blobs())
                ],
            )
            for index, item_id in enumerate(members):
                if anchored:
                    expected[item_id] = AnchorReceipt(
                        leaf=data[item_id],
                        leaf_index=index,
                        tree_size=tree.size,
                        audit_path=tuple(tree.inclusion_proof(index)),
                        root=tree.root,
                        kind=kind(item_id),
                        chain_id=1337,
                        registry=REGISTRY,
                        transaction_hash=str(chain_fields["tx_hash"]),
                        block_number=10 + batch_id,
                        block_hash=str(chain_fields["block_hash"]),
                        block_timestamp=1_700_000_000 + batch_id,
                    )
        of_batch = {i: b for b, members in OLD_BATCHES.items() for i in members}
        db.execute(
            sa.insert(ITEMS),
            [
                {"id": i, "kind": kind(i), "data": data[i], "batch_id": of_batch.get(i)}
                for i in data
            ],
        )
        if db.dialect.name == "postgresql":  # explicit ids leave the sequence behind
            db.execute(sa.text("SELECT setval('anchor_items_id_seq', 14)"))
            db.execute(sa.text("SELECT setval('anchor_batches_id_seq', 4)"))
    return data, expected


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[EmbeddedChain, Transactor]]:
    node: LocalAccount = Account.from_key(os.urandom(32))
    chain = EmbeddedChain.open(tmp_path / "chain", chain_id=1337, prefund={node.address: 10**24})
    yield chain, Transactor(chain, node, receipt_timeout=10, poll_interval=0.01)
    chain.close()


def test_old_receipts_survive_the_upgrade(
    engine: Engine, embedded: tuple[EmbeddedChain, Transactor]
) -> None:
    data, expected = old_database(engine)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    queue = AnchorQueue(sessions)

    for item_id, receipt in expected.items():
        assert queue.receipt(item_id) == receipt
    assert queue.receipts(list(data)) == expected
    for batch_id in ANCHORED:
        assert dict(queue.batch_receipts(batch_id)) == {
            i: expected[i] for i in OLD_BATCHES[batch_id]
        }
    assert queue.anchored_times(list(data)) == {
        i: r.block_timestamp for i, r in sorted(expected.items())
    }
    assert queue.status(7).state == "sealed" and queue.status(7).batch_id == 4
    # The stragglers 11 and 12 were sealed into a batch of their own; 10 and 14 wait.
    straggler_batch = queue.status(11).batch_id
    assert straggler_batch not in (None, *OLD_BATCHES) and queue.status(12).batch_id == (
        straggler_batch
    )
    assert [queue.status(i).state for i in (10, 14)] == ["queued", "queued"]
    assert queue.pending_count() == 2

    # New items after the upgrade go into ranges; everything anchors and verifies.
    new = {
        kind_: queue.enqueue_many([os.urandom(32) for _ in range(5)], kind_)
        for kind_ in ("deposit", "capture")
    }
    assert min(min(ids) for ids in new.values()) > len(KINDS)
    chain, transactor = embedded
    deployment = deploy_all(transactor, organisation_name="Test Notary")
    batcher = Batcher(
        sessions, queue, transactor, deployment.anchor_registry, max_items=4, interval=1
    )
    batcher.run_once()
    assert queue.pending_count() == 0
    everything = [*data, *new["deposit"], *new["capture"]]
    receipts = queue.receipts(everything)
    assert set(receipts) == set(everything)
    for item_id, receipt in receipts.items():
        if item_id in expected:
            assert receipt == expected[item_id]
        else:
            assert verify_receipt(receipt, chain).valid, item_id
    batches = {queue.status(i).batch_id for i in everything}
    assert None not in batches
    covered = 0
    for batch in batches:
        assert batch is not None
        bulk = dict(queue.batch_receipts(batch))
        assert bulk == {i: receipts[i] for i in bulk}
        covered += len(bulk)
    assert covered == len(everything)

    # Down to 0015 (each item gets its batch's id back) and up again: nothing changes.
    config = migrate.alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0015")
    with engine.connect() as db:
        unbatched = db.execute(
            sa.select(sa.func.count()).select_from(ITEMS).where(ITEMS.c.batch_id.is_(None))
        ).scalar_one()
    assert unbatched == 0
    migrate.upgrade(engine)
    assert AnchorQueue(sessions).receipts(everything) == receipts
