"""oauth_server: people's accounts, their linked DIDs, wallet sign-in requests, browser sessions

Issue 13 item 6. Accounts are keyed by an internal random id with DIDs linked to them;
sign-in requests (OpenID4VP) are fetched once, answered once and completed once; a
browser session is stored as the SHA-256 of its cookie.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"  # the integrator re-chains it after 0009 (oauth core)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_accounts")),
    )
    op.create_table(
        "oauth_account_dids",
        sa.Column("did", sa.String(length=512), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["oauth_accounts.id"],
            name=op.f("fk_oauth_account_dids_account_id_oauth_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("did", name=op.f("pk_oauth_account_dids")),
    )
    op.create_index("ix_oauth_account_dids_account_id", "oauth_account_dids", ["account_id"])
    op.create_table(
        "oauth_signin_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("binding_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("next_path", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("fetched_at", sa.BigInteger(), nullable=True),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.Column("did", sa.String(length=512), nullable=True),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_signin_requests")),
    )
    op.create_index("ix_oauth_signin_requests_expires_at", "oauth_signin_requests", ["expires_at"])
    op.create_table(
        "oauth_browser_sessions",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["oauth_accounts.id"],
            name=op.f("fk_oauth_browser_sessions_account_id_oauth_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_oauth_browser_sessions")),
    )
    op.create_index(
        "ix_oauth_browser_sessions_account_id", "oauth_browser_sessions", ["account_id"]
    )
    op.create_index(
        "ix_oauth_browser_sessions_expires_at", "oauth_browser_sessions", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_oauth_browser_sessions_expires_at", table_name="oauth_browser_sessions")
    op.drop_index("ix_oauth_browser_sessions_account_id", table_name="oauth_browser_sessions")
    op.drop_table("oauth_browser_sessions")
    op.drop_index("ix_oauth_signin_requests_expires_at", table_name="oauth_signin_requests")
    op.drop_table("oauth_signin_requests")
    op.drop_index("ix_oauth_account_dids_account_id", table_name="oauth_account_dids")
    op.drop_table("oauth_account_dids")
    op.drop_table("oauth_accounts")
