"""status lists: Bitstring Status Lists and the entries handed out to credentials

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:12:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "status_lists",
        sa.Column("id", _ID, nullable=False),
        sa.Column("list_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("bits", sa.LargeBinary(), nullable=False),
        sa.Column("allocation", sa.LargeBinary(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("published_revision", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("credential", sa.Text(), nullable=True),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
        sa.UniqueConstraint("list_id", name=op.f("uq_status_lists_list_id")),
        sa.UniqueConstraint("url", name=op.f("uq_status_lists_url")),
    )
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.create_index("ix_status_lists_open", ["purpose", "allocated", "id"], unique=False)

    op.create_table(
        "status_entries",
        sa.Column("list_pk", _ID, nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.String(length=512), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["list_pk"],
            ["status_lists.id"],
            name=op.f("fk_status_entries_list_pk_status_lists"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("list_pk", "status_index", name=op.f("pk_status_entries")),
        sa.UniqueConstraint(
            "credential_id", "purpose", name=op.f("uq_status_entries_credential_id_purpose")
        ),
    )


def downgrade() -> None:
    op.drop_table("status_entries")
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.drop_index("ix_status_lists_open")

    op.drop_table("status_lists")
