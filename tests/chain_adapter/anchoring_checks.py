"""Exactly-once, checked from the tables: every item in one batch, every leaf proved."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.merkle import MerkleTree, leaf_hash, verify_inclusion
from chain_adapter.models import AnchorBatch, AnchorItem, AnchorLevel


def assert_exactly_once(
    sessions: sessionmaker[Session], queue: AnchorQueue, item_ids: Collection[int]
) -> int:
    """Every id of ``item_ids`` (all the items there are) in exactly one batch, whose
    stored tree proves it at its leaf index; no range overlapping another of its kind.
    Returns the number of batches."""
    covered: dict[int, int] = {}
    with sessions() as session:
        batches = session.scalars(
            select(AnchorBatch).order_by(AnchorBatch.kind, AnchorBatch.first_item_id)
        ).all()
        last_of_kind: dict[str, int] = {}
        for batch in batches:
            assert batch.first_item_id is not None and batch.last_item_id is not None
            assert batch.first_item_id > last_of_kind.get(batch.kind, 0), "ranges overlap"
            last_of_kind[batch.kind] = batch.last_item_id
            rows = session.execute(
                select(AnchorItem.id, AnchorItem.data)
                .where(
                    AnchorItem.kind == batch.kind,
                    AnchorItem.id.between(batch.first_item_id, batch.last_item_id),
                )
                .order_by(AnchorItem.id)
            ).all()
            assert len(rows) == batch.size, f"batch {batch.id}: {len(rows)} != {batch.size}"
            assert (rows[0][0], rows[-1][0]) == (batch.first_item_id, batch.last_item_id)
            blobs = session.scalars(
                select(AnchorLevel.hashes)
                .where(AnchorLevel.batch_id == batch.id)
                .order_by(AnchorLevel.level)
            ).all()
            tree = MerkleTree.from_level_blobs(list(blobs), verify=True)
            assert tree.root == batch.root and tree.size == batch.size
            for index, (item_id, data) in enumerate(rows):
                assert item_id not in covered, f"item {item_id} in two batches"
                covered[item_id] = batch.id
                proof = tree.inclusion_proof(index)
                assert verify_inclusion(leaf_hash(data), index, tree.size, proof, tree.root)
        every = set(session.scalars(select(AnchorItem.id)))
    assert every == set(item_ids), "items the test did not enqueue, or lost ones"
    assert set(covered) == every, f"{len(every - set(covered))} items in no batch"
    assert queue.pending_count() == 0
    return len(batches)
