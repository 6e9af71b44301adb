"""Tables of the status service: the hub's Bitstring Status Lists and the entries handed out.

https://www.w3.org/TR/vc-bitstring-status-list/ §2.1 (entries), §2.2 (list credentials),
§5 (random indexes). One list serves one purpose. ``bits`` is the working bitstring,
changes included that are not yet published; ``revision`` counts its changes and
``published_revision`` is the revision the served credential shows, so a list is
"changed" while they differ. ``credential`` is the signed list credential of the
latest version published on chain (``version``, ``digest``, ``tx_hash``): the only
thing ever served. ``allocation`` marks the indexes handed out, so a random free
index is found even when the list is nearly full; ``status_entries`` holds the same
facts per credential, and its primary key is what makes an index unique.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_kernel.sql import component_metadata

_ID = BigInteger().with_variant(Integer, "sqlite")


class StatusBase(DeclarativeBase):
    metadata = component_metadata()


STATUS_METADATA = StatusBase.metadata


class StatusListRow(StatusBase):
    """One status list of one purpose."""

    __tablename__ = "status_lists"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    list_id: Mapped[str] = mapped_column(String(64), unique=True)  # the URL's last segment
    url: Mapped[str] = mapped_column(String(2048), unique=True)  # the list credential's id
    purpose: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)  # entries (bits)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    allocation: Mapped[bytes] = mapped_column(LargeBinary)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(BigInteger, default=1)  # a new list is unpublished
    published_revision: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=0)  # on chain; 0: never published
    credential: Mapped[str | None] = mapped_column(Text, default=None)  # JSON, as signed
    digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    tx_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # Allocation: the oldest list of a purpose that still has room.
        Index("ix_status_lists_open", "purpose", "allocated", "id"),
    )


class StatusEntryRow(StatusBase):
    """One index of one list, handed out to one credential for one purpose."""

    __tablename__ = "status_entries"

    list_pk: Mapped[int] = mapped_column(
        _ID, ForeignKey("status_lists.id", ondelete="RESTRICT"), primary_key=True
    )
    status_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    credential_id: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("credential_id", "purpose"),)
