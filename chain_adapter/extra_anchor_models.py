"""The extra chains' anchorings (issue 16): one row per (batch, extra chain).

Kept apart from :mod:`chain_adapter.models`' batch tables on purpose: a row is keyed by
the batch id and carries the root, size and kind it copied when the primary chain had
anchored the batch, so anchoring on an extra chain reads nothing else of the batch.
The states are the batcher's (:class:`BatchState`), with the same meaning.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from chain_adapter.models import BatchState, ChainBase


class ExtraAnchor(ChainBase):
    """A batch root on one extra chain: sealed (to send), signed (recorded, maybe sent),
    anchored (mined, with its block)."""

    __tablename__ = "anchor_extra_chains"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("anchor_batches.id", ondelete="RESTRICT"), primary_key=True
    )
    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[BatchState] = mapped_column(
        Enum(
            BatchState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    # Recorded before broadcast, as the batcher does: a restart re-sends these bytes.
    raw_transaction: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    tx_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    tx_nonce: Mapped[int | None] = mapped_column(BigInteger, default=None)
    registry_address: Mapped[str | None] = mapped_column(String(42), default=None)
    block_number: Mapped[int | None] = mapped_column(BigInteger, default=None)
    block_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    block_timestamp: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    anchored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)

    __table_args__ = (
        Index("ix_anchor_extra_chains_state", "chain_id", "state"),
        # The letters' question: this root's anchorings on the extra chains.
        Index("ix_anchor_extra_chains_root", "root"),
    )
