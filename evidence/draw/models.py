"""The draw tables: a draw, its upload sessions and their chunks.

A draw moves ``created`` → ``uploading`` → ``committed`` → ``drawn`` (issue 14), never
back and never twice (:mod:`evidence.draw.service` says which step is allowed when).
Large things are not rows: the uploaded list arrives as chunks, each an encrypted blob
in the evidence blob store (:mod:`evidence.draw.uploads`); the accepted list becomes two
blobs, the public ``entries.bin`` and the organiser's mapping (entrant identifiers and
salts, never published, encrypted at rest like every blob); the result is a blob of
``result.jsonl``. Rows hold their SHA-256 (the blob store's address) and what a page
shows. The notary's commit-reveal secret is in the key store, not here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_kernel.sql import component_metadata

DRAW_ID_LENGTH = 32  # 128 random bits as lowercase hex: a key-store name and a drawId
UPLOAD_ID_LENGTH = 32
DID_MAX_LENGTH = 512
PLATFORM_MAX_LENGTH = 128
TSA_MAX_LENGTH = 500


class DrawBase(DeclarativeBase):
    metadata = component_metadata()


DRAW_METADATA = DrawBase.metadata


class DrawState(enum.StrEnum):
    CREATED = "created"  # configuration fixed, no list yet
    UPLOADING = "uploading"  # a list is being uploaded, or one is accepted and can be replaced
    COMMITTED = "committed"  # configuration, list and round on chain, timestamped
    DRAWN = "drawn"  # beacon, reveal, seed and result recorded; the result on chain


class UploadState(enum.StrEnum):
    OPEN = "open"  # chunks are being appended
    FINISHED = "finished"  # the list was accepted; its chunks are gone
    REFUSED = "refused"  # finishing found problems; nothing of it is kept but them


def _enum(kind: type[enum.StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


def _utc(nullable: bool = True) -> Any:
    return mapped_column(DateTime(timezone=True), nullable=nullable, default=None)


class Draw(DrawBase):
    __tablename__ = "evidence_draws"

    id: Mapped[str] = mapped_column(String(DRAW_ID_LENGTH), primary_key=True)
    organiser: Mapped[str] = mapped_column(String(DID_MAX_LENGTH))
    platform: Mapped[str] = mapped_column(String(PLATFORM_MAX_LENGTH))
    state: Mapped[DrawState] = mapped_column(_enum(DrawState))
    # The configuration as JSON and the SHA-256 of its JCS bytes (docs/draw-algorithm.md §1).
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    config_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    beacon_round: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The accepted list (§2): its blobs, count and root.
    entries_sha256: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    mapping_sha256: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    entry_count: Mapped[int | None] = mapped_column(BigInteger, default=None)
    candidate_root: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    category_counts: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    listed_at: Mapped[datetime | None] = _utc()
    # The commitment: on chain and RFC 3161.
    commitment: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    tsa: Mapped[str | None] = mapped_column(String(TSA_MAX_LENGTH), default=None)
    committed_at: Mapped[datetime | None] = _utc()
    # The draw: what the export's beacon.json, reveal.json and result.jsonl hold.
    beacon: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    reveal: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    seed: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    result_root: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    result_sha256: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    winners: Mapped[int | None] = mapped_column(Integer, default=None)
    result_tx: Mapped[str | None] = mapped_column(String(66), default=None)
    drawn_at: Mapped[datetime | None] = _utc()
    credential: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # The winners' credentials (JSON Lines; they name the winners: an encrypted blob).
    winner_letters_sha256: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)

    __table_args__ = (Index("ix_evidence_draws_organiser", "organiser", "created_at", "id"),)


class DrawUpload(DrawBase):
    __tablename__ = "evidence_draw_uploads"

    id: Mapped[str] = mapped_column(String(UPLOAD_ID_LENGTH), primary_key=True)
    draw_id: Mapped[str] = mapped_column(ForeignKey("evidence_draws.id"), index=True)
    format: Mapped[str] = mapped_column(String(8))  # "csv" or "jsonl"
    state: Mapped[UploadState] = mapped_column(_enum(UploadState))
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)  # declared, if known
    offset: Mapped[int] = mapped_column(BigInteger, default=0)  # bytes received so far
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DrawUploadChunk(DrawBase):
    """One appended chunk: an encrypted blob addressed by its SHA-256, at ``start``."""

    __tablename__ = "evidence_draw_upload_chunks"

    upload_id: Mapped[str] = mapped_column(ForeignKey("evidence_draw_uploads.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (
        UniqueConstraint("upload_id", "start"),
        Index("ix_evidence_draw_upload_chunks_sha256", "sha256"),
    )


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for ``DateTime(timezone=True)``: they are UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DrawRecord:
    """A draw as the service hands it out: a detached snapshot of its row."""

    id: str
    organiser: str
    platform: str
    state: DrawState
    config: dict[str, Any]
    config_hash: bytes
    beacon_round: int
    created_at: datetime
    entry_count: int | None
    candidate_root: bytes | None
    category_counts: tuple[int, ...] | None
    entries_sha256: bytes | None
    commitment: dict[str, Any] | None
    tsa: str | None
    committed_at: datetime | None
    beacon: dict[str, Any] | None
    reveal: dict[str, Any] | None
    seed: bytes | None
    result_root: bytes | None
    result_sha256: bytes | None
    winners: int | None
    result_tx: str | None
    drawn_at: datetime | None

    @classmethod
    def of(cls, row: Draw) -> DrawRecord:
        return cls(
            id=row.id,
            organiser=row.organiser,
            platform=row.platform,
            state=row.state,
            config=dict(row.config),
            config_hash=bytes(row.config_hash),
            beacon_round=row.beacon_round,
            created_at=as_utc(row.created_at) or row.created_at,
            entry_count=row.entry_count,
            candidate_root=_bytes(row.candidate_root),
            category_counts=tuple(row.category_counts) if row.category_counts else None,
            entries_sha256=_bytes(row.entries_sha256),
            commitment=dict(row.commitment) if row.commitment is not None else None,
            tsa=row.tsa,
            committed_at=as_utc(row.committed_at),
            beacon=dict(row.beacon) if row.beacon is not None else None,
            reveal=dict(row.reveal) if row.reveal is not None else None,
            seed=_bytes(row.seed),
            result_root=_bytes(row.result_root),
            result_sha256=_bytes(row.result_sha256),
            winners=row.winners,
            result_tx=row.result_tx,
            drawn_at=as_utc(row.drawn_at),
        )


def _bytes(value: bytes | None) -> bytes | None:
    return bytes(value) if value is not None else None
