"""The table of presentation challenges the hub issued (:mod:`credentials.challenges`).

A row is keyed by the SHA-256 of its challenge, so a lookup compares digests, never
the challenge itself; ``used_at`` is set once, by the one verification that answers
it. Times are unix seconds (the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_kernel.sql import component_metadata


class ChallengeBase(DeclarativeBase):
    metadata = component_metadata()


CHALLENGE_METADATA = ChallengeBase.metadata


class ChallengeRow(ChallengeBase):
    __tablename__ = "presentation_challenges"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    domain: Mapped[str] = mapped_column(String(512))
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (Index("ix_presentation_challenges_expires_at", "expires_at"),)
