"""Deposits timestamped → anchored: each content's SHA-256 into the batch anchorer.

The anchor leaf is enqueued in the same database transaction that records the item
id, so a deposit never has two items (the column is unique too). The **anchor leaf is
the content's 32-byte SHA-256 digest**, kind ``"deposit"``: anyone holding the file
recomputes it, and the receipt's RFC 9162 leaf hash (``SHA-256(0x00 ‖ leaf)``) keeps
leaves apart from inner nodes. Once the item's batch is on chain (the queue says so:
:meth:`AnchorQueue.anchored_times`) the deposit is ``anchored``; a chain that is down
only delays that, as the batcher retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.queue import AnchorQueue
from evidence.deposit.claims import changed_rows
from evidence.deposit.models import Deposit, DepositState
from hub_kernel.request_context import bound_request_id

log = logging.getLogger(__name__)
ANCHOR_KIND = "deposit"
_DEPOSITS = cast(Table, Deposit.__table__)


def anchor_leaf(sha256: bytes) -> bytes:
    """What is anchored for a deposit: its content's SHA-256 digest, as is."""
    return sha256


class AnchorStage:
    name = "anchor"
    last_error: str | None = None  # failures are the batcher's, retried there

    def __init__(
        self,
        sessions: sessionmaker[Session],
        queue: AnchorQueue,
        *,
        batch_size: int,
        stopping: Callable[[], bool],
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._batch_size = batch_size
        self._stopping = stopping

    def run_pass(self) -> int:
        """Enqueue the anchor items not yet enqueued; how many deposits became anchored."""
        while self.enqueue() >= self._batch_size and not self._stopping():
            pass
        return self.collect()

    def enqueue(self) -> int:
        with self._sessions() as session, session.begin():
            rows = session.execute(
                select(Deposit.id, Deposit.sha256, Deposit.request_id)
                .where(Deposit.state == DepositState.TIMESTAMPED, Deposit.anchor_item_id.is_(None))
                .order_by(Deposit.received_at)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            leaves = [anchor_leaf(bytes(sha256)) for _, sha256, _ in rows]
            item_ids = self._queue.enqueue_many(leaves, ANCHOR_KIND, session)
            session.execute(
                update(_DEPOSITS)
                .where(_DEPOSITS.c.id == bindparam("_id"), _DEPOSITS.c.anchor_item_id.is_(None))
                .values(anchor_item_id=bindparam("_item")),
                [
                    {"_id": deposit_id, "_item": item_id}
                    for (deposit_id, _, _), item_id in zip(rows, item_ids, strict=True)
                ],
            )
        for (deposit_id, _, request_id), item_id in zip(rows, item_ids, strict=True):
            with bound_request_id(request_id):
                log.info(
                    "deposit queued for anchoring", extra={"deposit": deposit_id, "item": item_id}
                )
        return len(rows)

    def collect(self) -> int:
        """Mark ``anchored`` the waiting deposits whose item the queue has anchored."""
        with self._sessions() as session, session.begin():
            waiting = select(Deposit.anchor_item_id).where(
                Deposit.state == DepositState.TIMESTAMPED
            )
            times = self._queue.anchored_times(waiting, session, limit=self._batch_size)
            if not times:
                return 0
            deposits = session.execute(
                select(Deposit.id, Deposit.anchor_item_id, Deposit.request_id).where(
                    Deposit.anchor_item_id.in_(list(times))
                )
            ).all()
            rows = [(d_id, times[item]) for d_id, item, _ in deposits if item in times]
            result = session.execute(
                update(_DEPOSITS)
                .where(
                    _DEPOSITS.c.id == bindparam("_id"),
                    _DEPOSITS.c.state == DepositState.TIMESTAMPED,
                )
                .values(
                    state=DepositState.ANCHORED,
                    anchored_at=bindparam("_at"),
                    attempts=0,
                    last_error=None,
                    next_attempt_at=None,
                ),
                [
                    {"_id": deposit_id, "_at": datetime.fromtimestamp(block_time, UTC)}
                    for deposit_id, block_time in rows
                ],
            )
        for deposit_id, item, request_id in deposits:
            with bound_request_id(request_id):
                log.info(
                    "deposit moved",
                    extra={"deposit": deposit_id, "state": "anchored", "item": item},
                )
        return changed_rows(result, len(rows))
