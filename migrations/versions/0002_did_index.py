"""did registry: indexed ERC-1056 events and indexer checkpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 23:29:22.608455
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "did_registry_checkpoints",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("registry_address", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "chain_id", "registry_address", "block_number", name=op.f("pk_did_registry_checkpoints")
        ),
    )
    op.create_table(
        "did_registry_events",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("registry_address", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("identity", sa.String(length=42), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "owner", "delegate", "attribute", name="eventkind", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("owner", sa.String(length=42), nullable=True),
        sa.Column("delegate_type", sa.LargeBinary(length=32), nullable=True),
        sa.Column("delegate", sa.String(length=42), nullable=True),
        sa.Column("name", sa.LargeBinary(length=32), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("valid_to", sa.LargeBinary(length=32), nullable=True),
        sa.Column("previous_change", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "chain_id",
            "registry_address",
            "block_number",
            "log_index",
            name=op.f("pk_did_registry_events"),
        ),
    )
    with op.batch_alter_table("did_registry_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_did_registry_events_history",
            ["chain_id", "registry_address", "identity", "block_number", "log_index"],
            unique=False,
        )
        batch_op.create_index(
            "ix_did_registry_events_time",
            ["chain_id", "registry_address", "block_timestamp"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("did_registry_events", schema=None) as batch_op:
        batch_op.drop_index("ix_did_registry_events_time")
        batch_op.drop_index("ix_did_registry_events_history")

    op.drop_table("did_registry_events")
    op.drop_table("did_registry_checkpoints")
