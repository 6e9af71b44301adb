"""evidence: remote captures (issue 15): one row per capture session

The session's chain, WARC, video and package are files and blobs; this row holds the
capture's state, its process lease, the chain's head and length, and the digests and
letter of its seal (evidence/capture/models.py draws the states).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 07:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATES = ("preflight", "refused", "live", "ending", "interrupted", "sealing", "sealed")
END_REASONS = (
    "user",
    "script_done",
    "idle_timeout",
    "max_duration",
    "browser_died",
    "interrupted",
)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def _utc(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _digest(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.LargeBinary(length=32), nullable=True)


def upgrade() -> None:
    op.create_table(
        "evidence_captures",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=512), nullable=False),
        sa.Column("platform", sa.String(length=128), nullable=False),
        sa.Column("mode", _enum("capturemode", "live", "scripted"), nullable=False),
        sa.Column("state", _enum("capturestate", *STATES), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _utc("started_at"),
        _utc("ended_at"),
        sa.Column("end_reason", _enum("endreason", *END_REASONS), nullable=True),
        sa.Column("outcome", sa.String(length=1000), nullable=True),
        sa.Column("interrupted", sa.Boolean(), nullable=False),
        sa.Column("interruption_reason", sa.String(length=1000), nullable=True),
        _utc("interrupted_at"),
        sa.Column("refusal", sa.JSON(), nullable=True),
        _digest("preflight_sha256"),
        _digest("chain_head"),
        sa.Column("chain_length", sa.BigInteger(), nullable=False),
        _digest("package_sha256"),
        sa.Column("package_size", sa.BigInteger(), nullable=True),
        sa.Column("letter", sa.JSON(), nullable=True),
        _utc("sealed_at"),
        sa.Column("held_by", sa.String(length=128), nullable=True),
        _utc("held_until"),
        _utc("renewed_at"),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_captures")),
    )
    op.create_index(
        "ix_evidence_captures_owner", "evidence_captures", ["owner", "created_at", "id"]
    )
    op.create_index("ix_evidence_captures_state", "evidence_captures", ["state", "held_until"])


def downgrade() -> None:
    op.drop_index("ix_evidence_captures_state", table_name="evidence_captures")
    op.drop_index("ix_evidence_captures_owner", table_name="evidence_captures")
    op.drop_table("evidence_captures")
