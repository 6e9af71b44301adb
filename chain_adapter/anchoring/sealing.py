"""Sealing: the oldest pending items of a kind, up to a batch's size, into one Merkle batch.

One database transaction claims the items by id range and stores the batch row
(kind, first and last item ids, size, root) and its tree levels: a sealer killed
at any instruction leaves nothing half-sealed, and the items are never written.
Why the range is safe under concurrent enqueues and sealers is in
:mod:`chain_adapter.anchoring.ranges`.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring import ranges
from chain_adapter.anchoring.ranges import ITEMS
from chain_adapter.merkle import MerkleTree, hash_leaves
from chain_adapter.models import AnchorBatch, AnchorLevel, BatchState

log = logging.getLogger(__name__)


def seal_batch(sessions: sessionmaker[Session], max_items: int) -> int | None:
    """Seal up to ``max_items`` pending items of the oldest kind into a batch."""
    bound = ranges.safe_bound(sessions)
    with sessions() as session, session.begin():
        ranges.hold_seal_lock(session)
        oldest = _oldest_pending(session, bound)
        if oldest is None:
            return None
        kind, watermark = oldest
        claim = select(ITEMS.c.id, ITEMS.c.data).where(ranges.pending(kind, watermark))
        if bound is not None:
            claim = claim.where(ITEMS.c.id <= bound)
        # Core, not ORM: no ORM rows to build for up to max_items items.
        rows = session.execute(claim.order_by(ITEMS.c.id).limit(max_items)).all()
        tree = MerkleTree.from_leaves(hash_leaves([data for _, data in rows]))
        batch = AnchorBatch(
            kind=kind,
            state=BatchState.SEALED,
            root=tree.root,
            size=tree.size,
            first_item_id=rows[0][0],
            last_item_id=rows[-1][0],
        )
        session.add(batch)
        session.flush()
        session.add_all(
            AnchorLevel(batch_id=batch.id, level=level, hashes=blob)
            for level, blob in enumerate(tree.to_level_blobs())
        )
        log.info("sealed anchor batch", extra={"batch": batch.id, "size": tree.size})
        return batch.id


def _oldest_pending(session: Session, bound: int | None) -> tuple[str, int] | None:
    """The kind of the oldest pending item at or below ``bound``, and its watermark."""
    marks = ranges.watermarks(session)
    oldest: tuple[int, str] | None = None
    for kind in ranges.kinds(session):
        query = select(func.min(ITEMS.c.id)).where(ranges.pending(kind, marks.get(kind, 0)))
        first = session.scalar(query)
        if first is not None and (bound is None or first <= bound):
            oldest = min(oldest, (first, kind)) if oldest else (first, kind)
    return None if oldest is None else (oldest[1], marks.get(oldest[1], 0))
