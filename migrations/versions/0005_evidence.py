"""evidence: deposits (content or digest, RFC 3161 token, anchor item, custody letter)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_deposits",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("depositor", sa.String(length=512), nullable=False),
        sa.Column("platform", sa.String(length=128), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("media_type", sa.String(length=255), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("sm3", sa.LargeBinary(length=32), nullable=True),
        sa.Column("content_stored", sa.Boolean(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "received",
                "timestamped",
                "anchored",
                "certified",
                name="depositstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timestamped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timestamp_token", sa.LargeBinary(), nullable=True),
        sa.Column("tsa", sa.String(length=500), nullable=True),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("timestamp_serial", sa.String(length=50), nullable=True),
        sa.Column("timestamp_hash_algorithm", sa.String(length=16), nullable=True),
        sa.Column("timestamp_certificates", sa.JSON(), nullable=True),
        sa.Column("anchor_item_id", sa.BigInteger(), nullable=True),
        sa.Column("letter", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_deposits")),
        sa.UniqueConstraint("anchor_item_id", name=op.f("uq_evidence_deposits_anchor_item_id")),
        sa.UniqueConstraint(
            "platform",
            "idempotency_key",
            name=op.f("uq_evidence_deposits_platform_idempotency_key"),
        ),
    )
    with op.batch_alter_table("evidence_deposits", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_deposits_sha256", ["sha256"], unique=False)
        batch_op.create_index(
            "ix_evidence_deposits_work", ["state", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence_deposits", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_deposits_work")
        batch_op.drop_index("ix_evidence_deposits_sha256")
    op.drop_table("evidence_deposits")
