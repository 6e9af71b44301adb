"""evidence: public draws (issue 14): draws, their upload sessions and the sessions' chunks

A draw's large parts (the uploaded chunks, entries.bin, the organiser's mapping, the
result) are blobs in the evidence blob store; these rows hold their SHA-256 and the
draw's state, commitment and result.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _state(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def _utc(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _digest(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.LargeBinary(length=32), nullable=True)


def upgrade() -> None:
    op.create_table(
        "evidence_draws",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("organiser", sa.String(length=512), nullable=False),
        sa.Column("platform", sa.String(length=128), nullable=False),
        sa.Column(
            "state",
            _state("drawstate", "created", "uploading", "committed", "drawn"),
            nullable=False,
        ),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("config_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("beacon_round", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _digest("entries_sha256"),
        _digest("mapping_sha256"),
        sa.Column("entry_count", sa.BigInteger(), nullable=True),
        _digest("candidate_root"),
        sa.Column("category_counts", sa.JSON(), nullable=True),
        _utc("listed_at"),
        sa.Column("commitment", sa.JSON(), nullable=True),
        sa.Column("timestamp_token", sa.LargeBinary(), nullable=True),
        sa.Column("tsa", sa.String(length=500), nullable=True),
        _utc("committed_at"),
        sa.Column("beacon", sa.JSON(), nullable=True),
        sa.Column("reveal", sa.JSON(), nullable=True),
        _digest("seed"),
        _digest("result_root"),
        _digest("result_sha256"),
        sa.Column("winners", sa.Integer(), nullable=True),
        sa.Column("result_tx", sa.String(length=66), nullable=True),
        _utc("drawn_at"),
        sa.Column("credential", sa.JSON(), nullable=True),
        _digest("winner_letters_sha256"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_draws")),
    )
    op.create_index(
        "ix_evidence_draws_organiser", "evidence_draws", ["organiser", "created_at", "id"]
    )
    op.create_table(
        "evidence_draw_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("draw_id", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("state", _state("uploadstate", "open", "finished", "refused"), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"],
            ["evidence_draws.id"],
            name=op.f("fk_evidence_draw_uploads_draw_id_evidence_draws"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_draw_uploads")),
    )
    op.create_index("ix_evidence_draw_uploads_draw_id", "evidence_draw_uploads", ["draw_id"])
    op.create_table(
        "evidence_draw_upload_chunks",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["evidence_draw_uploads.id"],
            name=op.f("fk_evidence_draw_upload_chunks_upload_id_evidence_draw_uploads"),
        ),
        sa.PrimaryKeyConstraint("upload_id", "seq", name=op.f("pk_evidence_draw_upload_chunks")),
        sa.UniqueConstraint(
            "upload_id", "start", name=op.f("uq_evidence_draw_upload_chunks_upload_id_start")
        ),
    )
    op.create_index(
        "ix_evidence_draw_upload_chunks_sha256", "evidence_draw_upload_chunks", ["sha256"]
    )


def downgrade() -> None:
    op.drop_index("ix_evidence_draw_upload_chunks_sha256", table_name="evidence_draw_upload_chunks")
    op.drop_table("evidence_draw_upload_chunks")
    op.drop_index("ix_evidence_draw_uploads_draw_id", table_name="evidence_draw_uploads")
    op.drop_table("evidence_draw_uploads")
    op.drop_index("ix_evidence_draws_organiser", table_name="evidence_draws")
    op.drop_table("evidence_draws")
