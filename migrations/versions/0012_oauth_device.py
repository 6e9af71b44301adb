"""oauth_server: device authorisation requests (RFC 8628) and staff grants

Issue 13 item 8: staff tools obtain tokens through a device-authorisation login; a
person's account (by its DID) may hold staff scopes, granted by ``notary-hub staff``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEVICE = "oauth_device_authorizations"


def upgrade() -> None:
    op.create_table(
        DEVICE,
        sa.Column("device_code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("last_polled_ms", sa.BigInteger(), nullable=True),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("granted_scope", sa.String(length=1000), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("replayed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("device_code_hash", name=op.f("pk_oauth_device_authorizations")),
    )
    op.create_index(
        "ix_oauth_device_authorizations_user_code_hash", DEVICE, ["user_code_hash"], unique=True
    )
    op.create_index("ix_oauth_device_authorizations_expires_at", DEVICE, ["expires_at"])
    op.create_index("ix_oauth_device_authorizations_account_id", DEVICE, ["account_id"])
    op.create_table(
        "oauth_staff_grants",
        sa.Column("did", sa.String(length=512), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("did", "scope", name=op.f("pk_oauth_staff_grants")),
    )


def downgrade() -> None:
    op.drop_table("oauth_staff_grants")
    op.drop_index("ix_oauth_device_authorizations_account_id", table_name=DEVICE)
    op.drop_index("ix_oauth_device_authorizations_expires_at", table_name=DEVICE)
    op.drop_index("ix_oauth_device_authorizations_user_code_hash", table_name=DEVICE)
    op.drop_table(DEVICE)
