"""The batcher: seal queued items into Merkle batches and anchor each root once.

Exactly-once, across a kill at any instruction, rests on three rules:

1. sealing is one database transaction that claims items by id range (the batch row
   records its kind and first and last ids; :mod:`chain_adapter.anchoring.ranges`
   says why a range never skips an item nor overlaps another), stores the tree and
   the batch: either all of it commits or none;
2. the anchoring transaction is signed and *recorded* before it is broadcast, so
   after a restart the same bytes are re-sent (nodes answer "already known", or
   the receipt is found), never a second transaction for the same batch;
3. the registry refuses a root it already holds, and a batch whose root is found
   on chain adopts that anchoring instead of failing.

Anything the chain refuses or cannot answer leaves the batch where it was, to be
retried; nothing accepted is ever dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.adoption import adopt_existing, anchored_block
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.sealing import seal_batch
from chain_adapter.contract import BoundContract
from chain_adapter.errors import (
    CallReverted,
    ChainError,
    TransactionRejected,
    TransactionReverted,
)
from chain_adapter.metrics import count_chain_error
from chain_adapter.models import AnchorBatch, BatchState
from chain_adapter.protocol import Receipt
from chain_adapter.transactor import SignedTx, Transactor
from hub_kernel.advisory_locks import PassGuard
from hub_kernel.worker import Worker

log = logging.getLogger(__name__)

ROOT_EXISTS = "root_exists"


def kind_to_bytes32(kind: str) -> bytes:
    return kind.encode().ljust(32, b"\x00")


class Batcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        queue: AnchorQueue,
        transactor: Transactor,
        registry: BoundContract,
        *,
        max_items: int,
        interval: float,
        on_anchored: Callable[[int], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._transactor = transactor
        self._registry = registry
        self._max_items = max_items
        self._interval = interval
        self._anchored_listeners: list[Callable[[int], None]] = (
            [on_anchored] if on_anchored is not None else []
        )
        # Wake early only when enough items are queued for a full batch.
        self._worker = Worker(
            "anchor-batcher",
            self.run_once,
            interval,
            wake_when=lambda: queue.pending_count() >= max_items,
        )
        queue.subscribe(self._worker.wake)
        self.last_error: str | None = None

    def subscribe_anchored(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(batch_id)`` after each batch is recorded as anchored."""
        self._anchored_listeners.append(listener)

    # -- one pass ---------------------------------------------------------------------

    def run_once(self) -> int:
        """Finish unfinished batches, seal what is queued, anchor it; return batches anchored."""
        anchored = 0
        for unfinished in self._unfinished():
            anchored += self._anchor(unfinished)
        while (sealed := self.seal()) is not None:
            anchored += self._anchor(sealed)
        return anchored

    def seal(self) -> int | None:
        """Seal up to ``max_items`` pending items of the oldest kind into a batch."""
        return seal_batch(self._sessions, self._max_items)

    # -- anchoring a batch ---------------------------------------------------------------

    def _unfinished(self) -> list[int]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(AnchorBatch.id)
                    .where(AnchorBatch.state != BatchState.ANCHORED)
                    .order_by(AnchorBatch.id)
                )
            )

    def _anchor(self, batch_id: int) -> int:
        with self._sessions() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            state, root, size, kind = batch.state, batch.root, batch.size, batch.kind
            raw, tx_hash = batch.raw_transaction, batch.tx_hash
        if state is BatchState.ANCHORED:
            return 0
        try:
            if state is BatchState.SIGNED and raw is not None and tx_hash is not None:
                receipt = self._resend(batch_id, raw, tx_hash, root)
            else:
                receipt = self._sign_and_send(batch_id, root, size, kind)
        except ChainError as exc:
            self._record_error(batch_id, exc)
            raise
        self._finish(batch_id, receipt)
        return 1

    def _sign_and_send(self, batch_id: int, root: bytes, size: int, kind: str) -> Receipt:
        data = self._registry.encode("anchor", root, size, kind_to_bytes32(kind))
        # Recorded and sent under the sender's lock: no other process (or thread) of this
        # hub signs over the nonce between the two (chain_adapter.transactor).
        with self._transactor.sending():
            try:
                signed = self._transactor.build(self._registry.address, data)
            except CallReverted as exc:
                if exc.reason == ROOT_EXISTS:
                    return self._adopt_existing(root)
                raise
            self._record_signed(batch_id, signed)
            self._transactor.send(signed)
        return self._wait(signed.hash, root)

    def _resend(self, batch_id: int, raw: bytes, tx_hash: str, root: bytes) -> Receipt:
        if self._transactor.chain.get_receipt(tx_hash) is None:
            try:
                self._transactor.chain.send_raw_transaction(raw)
            except TransactionRejected:
                # Its nonce went to another transaction: the recorded bytes can
                # never be mined. If the root is not on chain, sign afresh.
                if self._anchored_block(root) is not None:
                    return self._adopt_existing(root)
                self._reset_to_sealed(batch_id)
                size, kind = self._size_and_kind(batch_id)
                return self._sign_and_send(batch_id, root, size, kind)
        return self._wait(tx_hash, root)

    def _size_and_kind(self, batch_id: int) -> tuple[int, str]:
        with self._sessions() as session:
            batch = session.get(AnchorBatch, batch_id)
            assert batch is not None
            return batch.size, batch.kind

    def _wait(self, tx_hash: str, root: bytes) -> Receipt:
        try:
            return self._transactor.wait(tx_hash)
        except TransactionReverted:
            if self._anchored_block(root) is not None:
                return self._adopt_existing(root)
            raise

    def _anchored_block(self, root: bytes) -> int | None:
        return anchored_block(self._registry, root)

    def _adopt_existing(self, root: bytes) -> Receipt:
        """The root is already on chain (sent before a crash, or by a twin batch): use that."""
        return adopt_existing(self._registry, self._transactor.chain, root)

    # -- bookkeeping -----------------------------------------------------------------------

    def _record_signed(self, batch_id: int, signed: SignedTx) -> None:
        self._update(
            batch_id,
            state=BatchState.SIGNED,
            raw_transaction=signed.raw,
            tx_hash=signed.hash,
            tx_nonce=signed.nonce,
            attempts=AnchorBatch.attempts + 1,
        )

    def _reset_to_sealed(self, batch_id: int) -> None:
        self._update(batch_id, state=BatchState.SEALED, raw_transaction=None, tx_hash=None)

    def _record_error(self, batch_id: int, exc: ChainError) -> None:
        self.last_error = f"{exc.code}: {exc.message}"
        count_chain_error("batcher", exc.code)
        log.warning("anchoring failed, will retry", extra={"batch": batch_id, "error": exc.code})
        self._update(batch_id, last_error=self.last_error[:500])

    def _finish(self, batch_id: int, receipt: Receipt) -> None:
        block = self._transactor.chain.get_block(receipt.block_number)
        self._update(
            batch_id,
            state=BatchState.ANCHORED,
            tx_hash=receipt.transaction_hash,
            chain_id=self._transactor.chain.chain_id,
            registry_address=self._registry.address,
            block_number=block.number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            anchored_at=datetime.now(UTC),
            last_error=None,
        )
        self.last_error = None
        log.info("anchored batch", extra={"batch": batch_id, "block": block.number})
        for listener in self._anchored_listeners:
            listener(batch_id)

    def _update(self, batch_id: int, **values: Any) -> None:
        with self._sessions() as session, session.begin():
            session.execute(
                update(AnchorBatch)
                .where(and_(AnchorBatch.id == batch_id, AnchorBatch.state != BatchState.ANCHORED))
                .values(**values)
            )

    # -- the background loop ---------------------------------------------------------------

    def start(self, guard: PassGuard | None = None) -> None:
        """Run passes in the background; ``guard``: one pass at a time across processes."""
        self._worker.guard = guard
        self._worker.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._worker.stop(timeout)
