"""oauth_server: clients, codes, tokens with refresh families, consents, signing keys,
the client-assertion jti cache, initial access tokens and pushed requests

Issue 13 (the authorisation-server core).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:55:45.458536
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("auth_method", sa.String(length=32), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("scope_purposes", sa.JSON(), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("id_token_alg", sa.String(length=8), nullable=False),
        sa.Column("platform_did", sa.String(length=512), nullable=True),
        sa.Column("sector_identifier", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("secret_rotated_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_clients")),
    )
    op.create_table(
        "oauth_codes",
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=1000), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("auth_time", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("replayed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_oauth_codes")),
    )
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_codes_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "oauth_consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("granted_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_consents")),
    )
    with op.batch_alter_table("oauth_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_oauth_consents_account", ["account_id", "client_id"], unique=False
        )

    op.create_table(
        "oauth_initial_tokens",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_oauth_initial_tokens")),
    )
    op.create_table(
        "oauth_pushed_requests",
        sa.Column("uri_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("uri_hash", name=op.f("pk_oauth_pushed_requests")),
    )
    with op.batch_alter_table("oauth_pushed_requests", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_pushed_requests_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "oauth_signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=8), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("retired_at", sa.BigInteger(), nullable=True),
        sa.Column("drop_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_oauth_signing_keys")),
    )
    op.create_table(
        "oauth_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=1000), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("refresh_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("refresh_expires_at", sa.BigInteger(), nullable=True),
        sa.Column("refresh_used_at", sa.BigInteger(), nullable=True),
        sa.Column("family_id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=True),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_oauth_tokens")),
    )
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.create_index(
            "ix_oauth_tokens_client_account", ["client_id", "account_id"], unique=False
        )
        batch_op.create_index("ix_oauth_tokens_code_hash", ["code_hash"], unique=False)
        batch_op.create_index("ix_oauth_tokens_family_id", ["family_id"], unique=False)
        batch_op.create_index("ix_oauth_tokens_refresh_hash", ["refresh_hash"], unique=True)

    op.create_table(
        "oauth_used_jtis",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_oauth_used_jtis")),
    )
    with op.batch_alter_table("oauth_used_jtis", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_used_jtis_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_used_jtis", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_used_jtis_expires_at")

    op.drop_table("oauth_used_jtis")
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_tokens_refresh_hash")
        batch_op.drop_index("ix_oauth_tokens_family_id")
        batch_op.drop_index("ix_oauth_tokens_code_hash")
        batch_op.drop_index("ix_oauth_tokens_client_account")

    op.drop_table("oauth_tokens")
    op.drop_table("oauth_signing_keys")
    with op.batch_alter_table("oauth_pushed_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_pushed_requests_expires_at")

    op.drop_table("oauth_pushed_requests")
    op.drop_table("oauth_initial_tokens")
    with op.batch_alter_table("oauth_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_consents_account")

    op.drop_table("oauth_consents")
    with op.batch_alter_table("oauth_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_codes_expires_at")

    op.drop_table("oauth_codes")
    op.drop_table("oauth_clients")
