"""oauth_server: pending authorisation requests and clients' post-logout redirect URIs

Issue 13 items 5, 7: an authorisation request awaiting consent is stored server-side,
answered once, for minutes; a client registers where RP-initiated logout may return.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("oauth_clients", sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=True))
    op.create_table(
        "oauth_pending_authorizations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("session_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=1000), nullable=True),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_pending_authorizations")),
    )
    op.create_index(
        "ix_oauth_pending_authorizations_expires_at",
        "oauth_pending_authorizations",
        ["expires_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_oauth_pending_authorizations_expires_at", table_name="oauth_pending_authorizations"
    )
    op.drop_table("oauth_pending_authorizations")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("post_logout_redirect_uris")
