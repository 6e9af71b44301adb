"""The deposit table: a row per deposit, moving received → timestamped → anchored → certified.

A row is written once the content (or the declared digest) is accepted and is
never deleted; each background stage (:mod:`evidence.deposit.pipeline`) moves rows of
one state on. Stages that call out (the timestamp authority, the letter signer)
claim rows with a lease (``claimed_by`` / ``claimed_until``) so that several
processes share the work and a killed process's rows are picked up again once
its lease runs out. ``next_attempt_at`` spaces out retries after a failure.

The same content deposited twice is stored once (the blob store is addressed
by SHA-256) and has a row per deposit. A retried request with the same
``Idempotency-Key`` from the same platform finds its first row through the
unique constraint ``uq_evidence_deposits_platform_idempotency_key``.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_kernel.request_context import REQUEST_ID_MAX_LENGTH
from hub_kernel.sql import component_metadata

DEPOSIT_ID_LENGTH = 32
DID_MAX_LENGTH = 512
PLATFORM_MAX_LENGTH = 128
IDEMPOTENCY_KEY_MAX_LENGTH = 128
TITLE_MAX_LENGTH = 500
DESCRIPTION_MAX_LENGTH = 10_000
MEDIA_TYPE_MAX_LENGTH = 255
FILE_NAME_MAX_LENGTH = 255
TSA_MAX_LENGTH = 500
ERROR_MAX_LENGTH = 500


class EvidenceBase(DeclarativeBase):
    metadata = component_metadata()


class DepositState(enum.StrEnum):
    RECEIVED = "received"  # content stored (or digest recorded); nothing else yet
    TIMESTAMPED = "timestamped"  # an RFC 3161 token is recorded; anchoring under way
    ANCHORED = "anchored"  # the anchor item's batch is on chain
    CERTIFIED = "certified"  # the signed custody letter is stored


def _utc_column(nullable: bool = True) -> Any:
    return mapped_column(DateTime(timezone=True), nullable=nullable, default=None)


class Deposit(EvidenceBase):
    __tablename__ = "evidence_deposits"

    id: Mapped[str] = mapped_column(String(DEPOSIT_ID_LENGTH), primary_key=True)
    depositor: Mapped[str] = mapped_column(String(DID_MAX_LENGTH))
    platform: Mapped[str] = mapped_column(String(PLATFORM_MAX_LENGTH))
    idempotency_key: Mapped[str | None] = mapped_column(
        String(IDEMPOTENCY_KEY_MAX_LENGTH), default=None
    )
    # SHA-256 of what the keyed request asked for (evidence.deposit.idempotency); NULL
    # without a key, and on rows from before migration 0007.
    request_fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX_LENGTH), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[str]] = mapped_column(JSON)
    media_type: Mapped[str | None] = mapped_column(String(MEDIA_TYPE_MAX_LENGTH), default=None)
    file_name: Mapped[str | None] = mapped_column(String(FILE_NAME_MAX_LENGTH), default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)  # unknown: digest only
    sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    sm3: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    content_stored: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[DepositState] = mapped_column(
        Enum(
            DepositState,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    timestamped_at: Mapped[datetime | None] = _utc_column()
    anchored_at: Mapped[datetime | None] = _utc_column()
    certified_at: Mapped[datetime | None] = _utc_column()
    # RFC 3161: the DER TimeStampToken, who issued it, its genTime and serialNumber (up
    # to 160 bits: decimal text), its imprint algorithm and the TSA chain (base64 DER).
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    tsa: Mapped[str | None] = mapped_column(String(TSA_MAX_LENGTH), default=None)
    gen_time: Mapped[datetime | None] = _utc_column()
    timestamp_serial: Mapped[str | None] = mapped_column(String(50), default=None)
    timestamp_hash_algorithm: Mapped[str | None] = mapped_column(String(16), default=None)
    timestamp_certificates: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # chain_adapter's anchor_items.id; unique: a deposit never has two items.
    anchor_item_id: Mapped[int | None] = mapped_column(BigInteger, default=None, unique=True)
    letter: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Work bookkeeping of the pipeline stages.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_MAX_LENGTH), default=None)
    next_attempt_at: Mapped[datetime | None] = _utc_column()
    claimed_by: Mapped[str | None] = mapped_column(String(32), default=None)
    claimed_until: Mapped[datetime | None] = _utc_column()
    # The X-Request-Id of the request that created it (migration 0018): the stages log
    # under it, so one id follows the deposit through every process's logs.
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_MAX_LENGTH), default=None)

    __table_args__ = (
        UniqueConstraint("platform", "idempotency_key"),
        # The workers: the oldest due rows of one state.
        Index("ix_evidence_deposits_work", "state", "next_attempt_at"),
        # Deduplication: is a blob still referenced by any deposit?
        Index("ix_evidence_deposits_sha256", "sha256"),
        # GET /evidence/deposits: one depositor's deposits, newest first (id breaks ties);
        # a platform's reads of a person's deposits filter this short run by platform.
        Index("ix_evidence_deposits_depositor", "depositor", "received_at", "id"),
    )


def new_deposit_id() -> str:
    """128 random bits, base64url: unguessable, and safe in a URL path."""
    return secrets.token_urlsafe(16)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for ``DateTime(timezone=True)``: they are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


@dataclass(frozen=True, slots=True)
class DepositRecord:
    """A deposit as the service hands it out: a detached, immutable snapshot of its row."""

    id: str
    depositor: str
    platform: str
    title: str | None
    description: str | None
    tags: tuple[str, ...]
    media_type: str | None
    file_name: str | None
    size: int | None
    sha256: bytes
    sm3: bytes | None
    content_stored: bool
    state: DepositState
    received_at: datetime
    timestamped_at: datetime | None
    anchored_at: datetime | None
    certified_at: datetime | None
    tsa: str | None
    gen_time: datetime | None
    anchor_item_id: int | None
    attempts: int
    last_error: str | None
    request_fingerprint: bytes | None = None

    @classmethod
    def written(cls, values: dict[str, Any]) -> DepositRecord:
        """The record of a row just inserted with ``values``, without reading it back (nor
        building an ORM object: on the request path that cost more than the INSERT)."""
        return cls(
            id=values["id"],
            depositor=values["depositor"],
            platform=values["platform"],
            title=values["title"],
            description=values["description"],
            tags=tuple(values["tags"]),
            media_type=values["media_type"],
            file_name=values["file_name"],
            size=values["size"],
            sha256=values["sha256"],
            sm3=values["sm3"],
            content_stored=values["content_stored"],
            state=values["state"],
            received_at=as_utc(values["received_at"]),
            timestamped_at=None,
            anchored_at=None,
            certified_at=None,
            tsa=None,
            gen_time=None,
            anchor_item_id=None,
            attempts=values["attempts"],
            last_error=None,
            request_fingerprint=values["request_fingerprint"],
        )

    @classmethod
    def of(cls, row: Deposit) -> DepositRecord:
        return cls(
            id=row.id,
            depositor=row.depositor,
            platform=row.platform,
            title=row.title,
            description=row.description,
            tags=tuple(row.tags or ()),
            media_type=row.media_type,
            file_name=row.file_name,
            size=row.size,
            sha256=bytes(row.sha256),
            sm3=bytes(row.sm3) if row.sm3 is not None else None,
            content_stored=row.content_stored,
            state=row.state,
            received_at=as_utc(row.received_at),
            timestamped_at=_maybe_utc(row.timestamped_at),
            anchored_at=_maybe_utc(row.anchored_at),
            certified_at=_maybe_utc(row.certified_at),
            tsa=row.tsa,
            gen_time=_maybe_utc(row.gen_time),
            anchor_item_id=row.anchor_item_id,
            attempts=row.attempts,
            last_error=row.last_error,
            request_fingerprint=(
                bytes(row.request_fingerprint) if row.request_fingerprint is not None else None
            ),
        )
