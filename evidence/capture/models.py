"""The capture table: one row per remote capture session (issue 15), and its states.

A capture moves through these states (:mod:`evidence.capture.service` says which step is
allowed when; every move is a compare-and-set on the row, so two hub processes never both
make it)::

    preflight ──► refused                       (a failed pre-flight check; terminal)
        │
        ▼
      live ──► ending ──► sealing ──► sealed    (sealed: the package and letter exist)
        │        │           ▲
        └────────┴──► interrupted               (the live process's lease lapsed)

- ``preflight``: the browser is starting and the cleanliness checks run; nothing is shown
  to the user yet. A process that dies here leaves nothing recorded: its row is
  ``refused`` once its lease lapses.
- ``live``: the session runs; the hub process running it holds the lease
  (``held_by``, ``held_until``) and renews it. ``ending``: an end was asked for (by the
  user, the script, a timer, or a dead browser: ``end_reason``); the final checkpoint
  and the browser's teardown run.
- ``interrupted``: the process holding a ``live`` or ``ending`` capture stopped (kill -9,
  a crash, a lost host) and its lease lapsed; everything recorded up to the chain's last
  entry is kept, and the capture is sealed with the interruption stated in its letter.
- ``sealing``: the WACZ is being built, signed, stored and certified, under a lease of
  its own, so a crashed sealer's work is taken over after it. ``sealed``: done.

Large things are not rows: the hash chain, the WARC, the video and the package live on
disk and in the blob store; the row holds their digests, the chain's head and length,
and the letter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Enum, Index, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_kernel.sql import component_metadata

CAPTURE_ID_LENGTH = 32  # 128 random bits as lowercase hex
DID_MAX_LENGTH = 512
PLATFORM_MAX_LENGTH = 128
TARGET_MAX_LENGTH = 2048
HOLDER_MAX_LENGTH = 128
REASON_MAX_LENGTH = 1000
ERROR_MAX_LENGTH = 2000


class CaptureBase(DeclarativeBase):
    metadata = component_metadata()


CAPTURE_METADATA = CaptureBase.metadata


class CaptureState(enum.StrEnum):
    PREFLIGHT = "preflight"
    REFUSED = "refused"
    LIVE = "live"
    ENDING = "ending"
    INTERRUPTED = "interrupted"
    SEALING = "sealing"
    SEALED = "sealed"


class CaptureMode(enum.StrEnum):
    LIVE = "live"  # a person drives the browser through the live page
    SCRIPTED = "scripted"  # steps run without a person (monitoring)


class EndReason(enum.StrEnum):
    USER = "user"
    SCRIPT_DONE = "script_done"
    IDLE_TIMEOUT = "idle_timeout"
    MAX_DURATION = "max_duration"
    BROWSER_DIED = "browser_died"
    INTERRUPTED = "interrupted"  # set by recovery only, never asked for


def _enum(kind: type[enum.StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


def _utc() -> Any:
    return mapped_column(DateTime(timezone=True), nullable=True, default=None)


class Capture(CaptureBase):
    __tablename__ = "evidence_captures"

    id: Mapped[str] = mapped_column(String(CAPTURE_ID_LENGTH), primary_key=True)
    owner: Mapped[str] = mapped_column(String(DID_MAX_LENGTH))
    platform: Mapped[str] = mapped_column(String(PLATFORM_MAX_LENGTH))
    mode: Mapped[CaptureMode] = mapped_column(_enum(CaptureMode))
    state: Mapped[CaptureState] = mapped_column(_enum(CaptureState))
    target: Mapped[str] = mapped_column(String(TARGET_MAX_LENGTH))  # the first address
    # {"idleSeconds", "maxDurationSeconds", "downloadCapBytes"}
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = _utc()
    ended_at: Mapped[datetime | None] = _utc()
    end_reason: Mapped[EndReason | None] = mapped_column(_enum(EndReason), default=None)
    # How the session ended, in words: "script completed", "script failed: step 3 …".
    outcome: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH), default=None)
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    interruption_reason: Mapped[str | None] = mapped_column(String(REASON_MAX_LENGTH), default=None)
    interrupted_at: Mapped[datetime | None] = _utc()  # its process's last sign of life
    refusal: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # failed checks
    preflight_sha256: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    chain_head: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    chain_length: Mapped[int] = mapped_column(BigInteger, default=0)
    package_sha256: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    package_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    letter: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    sealed_at: Mapped[datetime | None] = _utc()
    # The lease of the hub process working on the capture; ``renewed_at`` is its last sign
    # of life, what an interruption's reason names.
    held_by: Mapped[str | None] = mapped_column(String(HOLDER_MAX_LENGTH), default=None)
    held_until: Mapped[datetime | None] = _utc()
    renewed_at: Mapped[datetime | None] = _utc()
    error: Mapped[str | None] = mapped_column(String(ERROR_MAX_LENGTH), default=None)

    __table_args__ = (
        Index("ix_evidence_captures_owner", "owner", "created_at", "id"),
        Index("ix_evidence_captures_state", "state", "held_until"),
    )


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """A capture as the service hands it out: a detached snapshot of its row."""

    id: str
    owner: str
    platform: str
    mode: CaptureMode
    state: CaptureState
    target: str
    limits: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    end_reason: EndReason | None
    outcome: str | None
    interrupted: bool
    interruption_reason: str | None
    interrupted_at: datetime | None
    refusal: tuple[str, ...] | None
    preflight_sha256: bytes | None
    chain_head: bytes | None
    chain_length: int
    package_sha256: bytes | None
    package_size: int | None
    letter: dict[str, Any] | None
    sealed_at: datetime | None
    held_by: str | None
    held_until: datetime | None
    renewed_at: datetime | None
    error: str | None

    @classmethod
    def of(cls, row: Capture) -> CaptureRecord:
        return cls(
            id=row.id,
            owner=row.owner,
            platform=row.platform,
            mode=row.mode,
            state=row.state,
            target=row.target,
            limits=dict(row.limits),
            created_at=as_utc(row.created_at) or row.created_at,
            started_at=as_utc(row.started_at),
            ended_at=as_utc(row.ended_at),
            end_reason=row.end_reason,
            outcome=row.outcome,
            interrupted=row.interrupted,
            interruption_reason=row.interruption_reason,
            interrupted_at=as_utc(row.interrupted_at),
            refusal=tuple(row.refusal) if row.refusal is not None else None,
            preflight_sha256=_bytes(row.preflight_sha256),
            chain_head=_bytes(row.chain_head),
            chain_length=row.chain_length,
            package_sha256=_bytes(row.package_sha256),
            package_size=row.package_size,
            letter=dict(row.letter) if row.letter is not None else None,
            sealed_at=as_utc(row.sealed_at),
            held_by=row.held_by,
            held_until=as_utc(row.held_until),
            renewed_at=as_utc(row.renewed_at),
            error=row.error,
        )


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for ``DateTime(timezone=True)``: they are UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _bytes(value: bytes | None) -> bytes | None:
    return bytes(value) if value is not None else None


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def interruption_reason(alive: datetime, chain_length: int) -> str:
    """What an interrupted capture's letter states: when its process was last alive
    (its last renewal) and the chain's last entry (``seq``, from 0) kept."""
    kept = (
        f"recorded up to chain entry {chain_length - 1}"
        if chain_length
        else "nothing had entered the hash chain"
    )
    return f"the hub process stopped at {iso_time(alive)}; {kept}"
