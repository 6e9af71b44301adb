"""consortium: membership applications (certificate path, DID, node, proposals)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:33:31.433765
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consortium_applications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("consortium_address", sa.String(length=42), nullable=False),
        sa.Column("organisation_name", sa.String(length=256), nullable=False),
        sa.Column("organisation_address", sa.String(length=42), nullable=False),
        sa.Column("common_name", sa.String(length=256), nullable=True),
        sa.Column("did", sa.String(length=256), nullable=False),
        sa.Column("node_address", sa.String(length=42), nullable=False),
        sa.Column("node_type", sa.SmallInteger(), nullable=False),
        sa.Column("certificate_chain_pem", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("evidence_hash", sa.String(length=66), nullable=False),
        sa.Column("member_proposal_id", sa.BigInteger(), nullable=True),
        sa.Column("node_proposal_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "submitted",
                "member_proposed",
                "node_proposed",
                "admitted",
                "rejected",
                "failed",
                name="applicationstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consortium_applications")),
    )
    with op.batch_alter_table("consortium_applications", schema=None) as batch_op:
        batch_op.create_index("ix_consortium_applications_node", ["node_address"], unique=False)
        batch_op.create_index("ix_consortium_applications_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("consortium_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_consortium_applications_state")
        batch_op.drop_index("ix_consortium_applications_node")

    op.drop_table("consortium_applications")
