"""chain: a batch root anchored on extra chains (issue 16): one row per (batch, chain)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "anchor_extra_chains",
        sa.Column("batch_id", big, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "sealed", "signed", "anchored", name="batchstate", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("raw_transaction", sa.LargeBinary(), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("tx_nonce", sa.BigInteger(), nullable=True),
        sa.Column("registry_address", sa.String(length=42), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["anchor_batches.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("batch_id", "chain_id"),
    )
    op.create_index("ix_anchor_extra_chains_state", "anchor_extra_chains", ["chain_id", "state"])
    op.create_index("ix_anchor_extra_chains_root", "anchor_extra_chains", ["root"])


def downgrade() -> None:
    op.drop_index("ix_anchor_extra_chains_root", table_name="anchor_extra_chains")
    op.drop_index("ix_anchor_extra_chains_state", table_name="anchor_extra_chains")
    op.drop_table("anchor_extra_chains")
