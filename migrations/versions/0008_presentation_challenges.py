"""credentials: the presentation challenges the hub issues, each answered once

Issue 12 item 5. ``POST /presentations/challenges`` stores a challenge (by its SHA-256)
with its domain and expiry; ``POST /presentations/verify`` marks it used.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "presentation_challenges",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("domain", sa.String(length=512), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_presentation_challenges")),
    )
    op.create_index(
        "ix_presentation_challenges_expires_at",
        "presentation_challenges",
        ["expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_presentation_challenges_expires_at", table_name="presentation_challenges")
    op.drop_table("presentation_challenges")
