"""A second anchor (issue 16): every batch root, once on the primary chain, on each extra chain.

One :class:`ExtraChainAnchorer` per extra chain, on a :class:`~hub_kernel.worker.Worker` of
its own, so a chain that is down delays its own anchorings only. Its rows
(:class:`~chain_adapter.extra_anchor_models.ExtraAnchor`, one per batch and chain) follow
the batcher's exactly-once rules (:mod:`chain_adapter.anchoring.batcher`):

1. a row is created, with the batch's root, size and kind, only once the primary chain
   anchored the batch (one ``INSERT ... SELECT``; a row two hubs both insert is
   refused by its primary key, and the pass simply runs again);
2. the anchoring transaction is signed and recorded (``signed``) before it is
   broadcast; after a restart the same bytes are re-sent, never a second transaction;
   bytes whose nonce went to another transaction are replaced only if the root is not
   on that chain;
3. a root the registry already holds is adopted (its ``RootAnchored`` event's
   transaction), never sent again.

The registry on an extra chain is the hub's own ``AnchorRegistry`` deployed there
beforehand (``notary-hub chain deploy-anchor``, :func:`deploy_anchor_registry`); its
code is checked before the first anchoring (:func:`attach_extra_registry`). An extra
chain's receipt is the primary receipt (leaf, index, audit path, root) with that chain's
transaction and block: :class:`ExtraReceipts`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from sqlalchemy import Table, and_, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.adoption import adopt_existing, anchored_block
from chain_adapter.anchoring.batcher import ROOT_EXISTS, kind_to_bytes32
from chain_adapter.contract import BoundContract
from chain_adapter.errors import (
    CallReverted,
    ChainError,
    ChainUnavailable,
    TransactionRejected,
    TransactionReverted,
)
from chain_adapter.extra_anchor_models import ExtraAnchor
from chain_adapter.extra_registry import attach_extra_registry
from chain_adapter.models import AnchorBatch, BatchState
from chain_adapter.protocol import Chain, Receipt
from chain_adapter.transactor import SignedTx, Transactor
from hub_kernel.advisory_locks import PassGuard
from hub_kernel.worker import Worker

log = logging.getLogger(__name__)

_EXTRA = cast(Table, ExtraAnchor.__table__)
_ENQUEUE_LIMIT = 1000  # batches taken on per pass; the next pass takes the rest


@dataclass(frozen=True, slots=True)
class ExtraChain:
    """Where to anchor: a node's URL, the chain id it must serve, the hub's registry there."""

    url: str
    chain_id: int
    registry: str
    confirmations: int = 0


@dataclass(frozen=True, slots=True)
class _Link:
    chain: Chain
    transactor: Transactor
    registry: BoundContract


class ExtraChainAnchorer:
    """Anchors each batch the primary chain anchored on one extra chain, exactly once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        target: ExtraChain,
        account: LocalAccount,
        *,
        connect: Callable[[ExtraChain], Chain],
        interval: float,
        receipt_timeout: float = 120.0,
        poll_interval: float = 0.5,
    ) -> None:
        self._sessions = sessions
        self.target = target
        self._account = account
        self._connect = connect
        self._receipt_timeout = receipt_timeout
        self._poll_interval = poll_interval
        self._chain: Chain | None = None
        self._listeners: list[Callable[[int, int], None]] = []
        self.name = f"anchor-chain-{target.chain_id}"
        self._worker = Worker(self.name, self.run_once, interval)
        self.last_error: str | None = None
        self._mine = _EXTRA.c.chain_id == target.chain_id

    def subscribe_anchored(self, listener: Callable[[int, int], None]) -> None:
        """Call ``listener(batch_id, chain_id)`` after each anchoring is recorded."""
        self._listeners.append(listener)

    def wake(self, _batch_id: int | None = None) -> None:
        """The primary batcher anchored a batch: the batcher's ``subscribe_anchored``."""
        self._worker.wake()

    # -- one pass ---------------------------------------------------------------------

    def run_once(self) -> int:
        """Take on the batches anchored since, anchor what is unfinished; how many anchored."""
        try:
            self.enqueue()
            unfinished = self._unfinished()
            anchored = 0
            if unfinished:
                link = self.link()
                for batch_id in unfinished:
                    anchored += self._anchor(link, batch_id)
        except ChainError as exc:
            if isinstance(exc, ChainUnavailable):
                self._disconnect()  # the node may come back another: connect and check again
            self.last_error = f"{exc.code}: {exc.message}"
            log.warning(
                "extra chain anchoring failed, will retry",
                extra={"chain": self.target.chain_id, "error": exc.code},
            )
            raise
        self.last_error = None
        return anchored

    def link(self) -> _Link:
        """The chain (connected on first use: a chain down at start only delays this), its
        registry's code checked and a transactor reading the node's nonce afresh, for one
        pass: a node replaced or reset since is found out before anything is signed."""
        if self._chain is None:
            self._chain = self._connect(self.target)
        chain = self._chain
        registry = attach_extra_registry(chain, self.target.registry, self._account.address)
        transactor = Transactor(
            chain,
            self._account,
            confirmations=self.target.confirmations,
            receipt_timeout=self._receipt_timeout,
            poll_interval=self._poll_interval,
        )
        return _Link(chain, transactor, registry)

    def _disconnect(self) -> None:
        chain, self._chain = self._chain, None
        if chain is not None:
            chain.close()

    def enqueue(self) -> int:
        """A ``sealed`` row for each batch the primary chain anchored and this chain has not."""
        batches = cast(Table, AnchorBatch.__table__)
        missing = (
            select(
                batches.c.id,
                batches.c.root,
                batches.c.size,
                batches.c.kind,
            )
            .where(
                batches.c.state == BatchState.ANCHORED.value,
                ~exists().where(
                    and_(
                        _EXTRA.c.batch_id == batches.c.id, _EXTRA.c.chain_id == self.target.chain_id
                    )
                ),
            )
            .order_by(batches.c.id)
            .limit(_ENQUEUE_LIMIT)
        )
        try:
            with self._sessions() as session, session.begin():
                rows = session.execute(missing).all()
                if rows:
                    session.execute(
                        insert(_EXTRA),
                        [
                            {"batch_id": batch_id, "chain_id": self.target.chain_id,
                             "root": root, "size": size, "kind": kind,
                             "state": BatchState.SEALED.value, "attempts": 0}
                            for batch_id, root, size, kind in rows
                        ],
                    )  # fmt: skip
        except IntegrityError:  # another hub process took them on first: theirs stand
            return 0
        return len(rows)

    def _unfinished(self) -> list[int]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(ExtraAnchor.batch_id)
                    .where(
                        ExtraAnchor.chain_id == self.target.chain_id,
                        ExtraAnchor.state != BatchState.ANCHORED,
                    )
                    .order_by(ExtraAnchor.batch_id)
                )
            )

    # -- anchoring one root -------------------------------------------------------------

    def _anchor(self, link: _Link, batch_id: int) -> int:
        with self._sessions() as session:
            row = session.get(ExtraAnchor, (batch_id, self.target.chain_id))
            assert row is not None
            state, root, raw, tx_hash = row.state, row.root, row.raw_transaction, row.tx_hash
        if state is BatchState.ANCHORED:
            return 0
        try:
            if state is BatchState.SIGNED and raw is not None and tx_hash is not None:
                receipt = self._resend(link, batch_id, raw, tx_hash, root)
            else:
                receipt = self._sign_and_send(link, batch_id)
        except ChainError as exc:
            self._update(batch_id, last_error=f"{exc.code}: {exc.message}"[:500])
            raise
        self._finish(link, batch_id, receipt)
        return 1

    def _sign_and_send(self, link: _Link, batch_id: int) -> Receipt:
        with self._sessions() as session:
            row = session.get(ExtraAnchor, (batch_id, self.target.chain_id))
            assert row is not None
            root, size, kind = row.root, row.size, row.kind
        data = link.registry.encode("anchor", root, size, kind_to_bytes32(kind))
        try:
            signed = link.transactor.build(link.registry.address, data)
        except CallReverted as exc:
            if exc.reason == ROOT_EXISTS:
                return self._adopt_existing(link, root)
            raise
        self._record_signed(batch_id, signed)
        link.transactor.send(signed)
        return self._wait(link, signed.hash, root)

    def _resend(self, link: _Link, batch_id: int, raw: bytes, tx_hash: str, root: bytes) -> Receipt:
        if link.chain.get_receipt(tx_hash) is None:
            try:
                link.chain.send_raw_transaction(raw)
            except TransactionRejected:
                # Its nonce went to another transaction: never minable. Sign afresh
                # only if the root is not on this chain already.
                if anchored_block(link.registry, root) is not None:
                    return self._adopt_existing(link, root)
                self._reset(batch_id)
                return self._sign_and_send(link, batch_id)
        try:
            return self._wait(link, tx_hash, root)
        except TransactionReverted:
            # Mined without anchoring (reverted, or sent to a registry since reset): the
            # root is not on chain, so the next pass signs afresh.
            if anchored_block(link.registry, root) is None:
                self._reset(batch_id)
            raise

    def _reset(self, batch_id: int) -> None:
        self._update(batch_id, state=BatchState.SEALED, raw_transaction=None, tx_hash=None)

    def _wait(self, link: _Link, tx_hash: str, root: bytes) -> Receipt:
        try:
            receipt = link.transactor.wait(tx_hash)
        except TransactionReverted:
            if anchored_block(link.registry, root) is not None:
                return self._adopt_existing(link, root)
            raise
        events = link.registry.decode_logs(receipt, "RootAnchored")
        if not any(bytes(event.args["root"]) == root for event in events):
            # Mined, yet no anchoring: the registry is not what was checked (a chain reset).
            raise TransactionReverted(f"transaction {tx_hash} anchored no root")
        return receipt

    def _adopt_existing(self, link: _Link, root: bytes) -> Receipt:
        """The root is on this chain already (sent before a crash): that anchoring stands."""
        return adopt_existing(link.registry, link.chain, root)

    # -- bookkeeping ----------------------------------------------------------------------

    def _record_signed(self, batch_id: int, signed: SignedTx) -> None:
        self._update(
            batch_id,
            state=BatchState.SIGNED,
            raw_transaction=signed.raw,
            tx_hash=signed.hash,
            tx_nonce=signed.nonce,
            attempts=ExtraAnchor.attempts + 1,
        )

    def _finish(self, link: _Link, batch_id: int, receipt: Receipt) -> None:
        block = link.chain.get_block(receipt.block_number)
        self._update(
            batch_id,
            state=BatchState.ANCHORED,
            tx_hash=receipt.transaction_hash,
            registry_address=link.registry.address,
            block_number=block.number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            anchored_at=datetime.now(UTC),
            last_error=None,
        )
        log.info(
            "anchored batch on an extra chain",
            extra={"batch": batch_id, "chain": self.target.chain_id, "block": block.number},
        )
        for listener in self._listeners:
            listener(batch_id, self.target.chain_id)

    def _update(self, batch_id: int, **values: Any) -> None:
        with self._sessions() as session, session.begin():
            session.execute(
                update(ExtraAnchor)
                .where(
                    ExtraAnchor.batch_id == batch_id,
                    ExtraAnchor.chain_id == self.target.chain_id,
                    ExtraAnchor.state != BatchState.ANCHORED,
                )
                .values(**values)
            )

    # -- the background loop ----------------------------------------------------------------

    def start(self, guard: PassGuard | None = None) -> None:
        """Run passes in the background; ``guard``: one pass at a time across the hub's
        processes, so only one of them ever signs for this chain (no sender lock needed:
        the node key sends nothing else there)."""
        self._worker.guard = guard
        self._worker.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the worker and close the connection (the next pass opens it again)."""
        self._worker.stop(timeout)
        self._disconnect()
