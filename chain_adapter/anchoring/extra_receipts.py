"""The extra chains' receipts (issue 16), derived from the primary receipt.

A batch's tree is the same wherever its root is anchored, so an item's receipt on an
extra chain is its primary receipt (leaf, index, tree size, audit path, root, kind) with
that chain's id, registry, transaction and block. Asked by root, never by batch
internals: what the queue answers for an item is all the caller needs to have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.extra_anchor_models import ExtraAnchor
from chain_adapter.models import BatchState


class ExtraReceipts:
    """The receipts on the configured extra chains, in the configured order."""

    def __init__(self, sessions: sessionmaker[Session], chain_ids: Sequence[int]) -> None:
        self._sessions = sessions
        self.chain_ids = tuple(chain_ids)

    def receipts(self, primary: Sequence[AnchorReceipt]) -> list[tuple[AnchorReceipt, ...]]:
        """For each primary receipt, its receipts on the extra chains anchored so far."""
        if not self.chain_ids or not primary:
            return [() for _ in primary]
        roots = {receipt.root for receipt in primary}
        with self._sessions() as session:
            rows = session.execute(
                select(ExtraAnchor).where(
                    ExtraAnchor.root.in_(roots),
                    ExtraAnchor.chain_id.in_(self.chain_ids),
                    ExtraAnchor.state == BatchState.ANCHORED,
                )
            ).scalars()
            anchorings = {(bytes(row.root), row.chain_id): row for row in rows}
        return [
            tuple(
                _derived(receipt, anchorings[(receipt.root, chain_id)])
                for chain_id in self.chain_ids
                if (receipt.root, chain_id) in anchorings
            )
            for receipt in primary
        ]

    def complete(self, extras: tuple[AnchorReceipt, ...]) -> bool:
        """Whether ``extras`` (one item's, from :meth:`receipts`) covers every extra chain."""
        return len(extras) == len(self.chain_ids)


def _derived(primary: AnchorReceipt, row: ExtraAnchor) -> AnchorReceipt:
    """``primary``'s tree and leaf, anchored where ``row`` says."""
    assert row.tx_hash and row.block_hash and row.registry_address  # ANCHORED invariant
    assert row.block_number is not None and row.block_timestamp is not None
    return replace(
        primary,
        chain_id=row.chain_id,
        registry=row.registry_address,
        transaction_hash=row.tx_hash,
        block_number=row.block_number,
        block_hash=row.block_hash,
        block_timestamp=row.block_timestamp,
    )
