"""Tables of the chain layer: the durable anchoring queue and its batches."""

from __future__ import annotations

import enum
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
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_kernel.sql import component_metadata


class ChainBase(DeclarativeBase):
    metadata = component_metadata()


class BatchState(enum.StrEnum):
    SEALED = "sealed"  # items assigned, root computed, nothing sent yet
    SIGNED = "signed"  # transaction signed and recorded; may or may not be broadcast
    ANCHORED = "anchored"  # mined (and confirmed) on chain


class AnchorItem(ChainBase):
    """One accepted item, never updated once inserted.

    Its batch is the batch of its kind whose id range covers it
    (:mod:`chain_adapter.anchoring.batcher`); ``batch_id`` is set only on items
    sealed before migration 0016, whose batches record no range.
    """

    __tablename__ = "anchor_items"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("anchor_batches.id", ondelete="RESTRICT"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # Pending items of a kind, a batch's range, a leaf index: all ranges of (kind, id).
        Index("ix_anchor_items_kind", "kind", "id"),
        # Items of batches sealed before 0016 only: new rows leave it untouched.
        Index(
            "ix_anchor_items_batch",
            "batch_id",
            "id",
            postgresql_where=text("batch_id IS NOT NULL"),
            sqlite_where=text("batch_id IS NOT NULL"),
        ),
    )


class AnchorBatch(ChainBase):
    """A sealed Merkle tree over a run of items, and the transaction that anchors its root."""

    __tablename__ = "anchor_batches"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[BatchState] = mapped_column(
        Enum(
            BatchState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    size: Mapped[int] = mapped_column(Integer)
    # The batch's items: those of its kind with ids in [first, last], ``size`` of them.
    # A batch sealed before 0016 has no first (its items carry batch_id) and, as last,
    # the highest id it holds, so the highest last of a kind is always its watermark.
    first_item_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    last_item_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    sealed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Recorded before broadcast so a restart re-sends the same bytes, never a second transaction.
    raw_transaction: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    tx_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    tx_nonce: Mapped[int | None] = mapped_column(BigInteger, default=None)
    chain_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    registry_address: Mapped[str | None] = mapped_column(String(42), default=None)
    block_number: Mapped[int | None] = mapped_column(BigInteger, default=None)
    block_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    block_timestamp: Mapped[int | None] = mapped_column(BigInteger, default=None)
    anchored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)

    __table_args__ = (
        Index("ix_anchor_batches_state", "state"),
        # A kind's watermark and an item's batch; ranges of a kind never share an end.
        Index("ix_anchor_batches_range", "kind", "last_item_id", unique=True),
    )


class AnchorLevel(ChainBase):
    """One level of a batch's tree, node hashes concatenated, so audit paths need no rehash."""

    __tablename__ = "anchor_levels"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("anchor_batches.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)


class ContractRecord(ChainBase):
    """Where the hub's contracts live on a chain (deployed by the hub or configured)."""

    __tablename__ = "chain_contracts"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(42))
    block_number: Mapped[int | None] = mapped_column(BigInteger, default=None)
    tx_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
