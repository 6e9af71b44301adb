"""Tables of the DID registry index: decoded ERC-1056 events, and how far they are indexed.

https://eips.ethereum.org/EIPS/eip-1056 ("Events"): one row per
``DIDOwnerChanged`` / ``DIDDelegateChanged`` / ``DIDAttributeChanged`` log of a
registry, keyed by its position on chain, so the indexer can write the same
range twice (after a crash) without duplicating anything. Resolution reads an
identity's whole history with one range scan of ``ix_did_registry_events_history``.

The cursor is the newest row of ``did_registry_checkpoints``: the last block
indexed, with its hash, so that a reorganisation below it is noticed (the chain
answers a different hash for that height); older checkpoints are kept a while
to find where the index and the chain still agree.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Enum, Index, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from did_registry.ethr.events import (
    AttributeChanged,
    DelegateChanged,
    EventPosition,
    OwnerChanged,
    RegistryEvent,
)
from hub_kernel.sql import component_metadata


class DidIndexBase(DeclarativeBase):
    metadata = component_metadata()


class EventKind(enum.StrEnum):
    OWNER = "owner"
    DELEGATE = "delegate"
    ATTRIBUTE = "attribute"


class IndexedEvent(DidIndexBase):
    """One registry event; the fields a kind does not have are NULL."""

    __tablename__ = "did_registry_events"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    registry_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_hash: Mapped[str] = mapped_column(String(66))
    tx_hash: Mapped[str] = mapped_column(String(66))
    block_timestamp: Mapped[int] = mapped_column(BigInteger)
    identity: Mapped[str] = mapped_column(String(42))
    kind: Mapped[EventKind] = mapped_column(
        Enum(
            EventKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        )
    )
    owner: Mapped[str | None] = mapped_column(String(42), default=None)
    delegate_type: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    delegate: Mapped[str | None] = mapped_column(String(42), default=None)
    name: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    value: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # uint256, big-endian in 32 bytes: a validity may be (almost) 2**256 seconds, which
    # neither BIGINT nor SQLite's NUMERIC (REAL beyond 64 bits) holds exactly.
    valid_to: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    # A block number (the registry's ``changed[identity]`` at the time).
    previous_change: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # Resolution: an identity's events up to a block, in chain order.
        Index(
            "ix_did_registry_events_history",
            "chain_id",
            "registry_address",
            "identity",
            "block_number",
            "log_index",
        ),
        # versionTime: the event blocks around a point in time.
        Index("ix_did_registry_events_time", "chain_id", "registry_address", "block_timestamp"),
    )


class IndexCheckpoint(DidIndexBase):
    """A block up to which the registry is indexed; the newest one is the cursor."""

    __tablename__ = "did_registry_checkpoints"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    registry_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_hash: Mapped[str] = mapped_column(String(66))
    block_timestamp: Mapped[int] = mapped_column(BigInteger)


# -- events <-> rows ----------------------------------------------------------------------

# The columns resolution reads, in the order :func:`event_from_row` expects.
EVENT_COLUMNS = (
    IndexedEvent.kind,
    IndexedEvent.identity,
    IndexedEvent.block_number,
    IndexedEvent.log_index,
    IndexedEvent.tx_hash,
    IndexedEvent.block_timestamp,
    IndexedEvent.previous_change,
    IndexedEvent.owner,
    IndexedEvent.delegate_type,
    IndexedEvent.delegate,
    IndexedEvent.name,
    IndexedEvent.value,
    IndexedEvent.valid_to,
)

_UINT256_BYTES = 32
_MAX_BIGINT = 2**63 - 1


def event_values(
    chain_id: int, registry_address: str, block_hash: str, event: RegistryEvent
) -> dict[str, Any]:
    """The row of ``event`` (column name -> value), for a Core ``INSERT``."""
    at = event.at
    if not 0 <= event.previous_change <= _MAX_BIGINT:
        # The registry stores a block number there; anything else is not its event.
        raise ValueError(f"previousChange {event.previous_change} is not a block number")
    row: dict[str, Any] = {
        "chain_id": chain_id,
        "registry_address": registry_address,
        "block_number": at.block_number,
        "log_index": at.log_index,
        "block_hash": block_hash,
        "tx_hash": at.transaction_hash,
        "block_timestamp": at.block_timestamp,
        "identity": event.identity,
        "previous_change": event.previous_change,
        "owner": None,
        "delegate_type": None,
        "delegate": None,
        "name": None,
        "value": None,
        "valid_to": None,
    }
    if isinstance(event, OwnerChanged):
        row.update(kind=EventKind.OWNER, owner=event.owner)
    elif isinstance(event, DelegateChanged):
        row.update(
            kind=EventKind.DELEGATE,
            delegate_type=event.delegate_type,
            delegate=event.delegate,
            valid_to=event.valid_to.to_bytes(_UINT256_BYTES, "big"),
        )
    else:
        row.update(
            kind=EventKind.ATTRIBUTE,
            name=event.name,
            value=event.value,
            valid_to=event.valid_to.to_bytes(_UINT256_BYTES, "big"),
        )
    return row


def event_from_row(row: Sequence[Any]) -> RegistryEvent:
    """The event of a row selected as :data:`EVENT_COLUMNS`."""
    (kind, identity, block, log_index, tx_hash, timestamp, previous) = row[:7]
    at = EventPosition(block, log_index, tx_hash, timestamp)
    if kind == EventKind.OWNER:
        return OwnerChanged(identity, row[7], previous, at)
    valid_to = int.from_bytes(row[12], "big")
    if kind == EventKind.DELEGATE:
        return DelegateChanged(identity, bytes(row[8]), row[9], valid_to, previous, at)
    return AttributeChanged(identity, bytes(row[10]), bytes(row[11]), valid_to, previous, at)
