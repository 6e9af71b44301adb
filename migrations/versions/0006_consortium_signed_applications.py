"""consortium: signed applications (the signed document and its one-use nonce)

Issue 9 item 10. Applications are signed by the organisation's DID key and its node
key; the hub keeps the signed document and refuses a nonce it has seen (unique per
registry). Rows from before have neither and stay NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consortium_applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nonce", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("signed_application", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_consortium_applications_nonce", ["consortium_address", "nonce"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("consortium_applications", schema=None) as batch_op:
        batch_op.drop_index("ix_consortium_applications_nonce")
        batch_op.drop_column("signed_application")
        batch_op.drop_column("nonce")
