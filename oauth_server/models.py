"""The authorisation server's tables, in its own metadata (listed in ``notary_hub.db``).

Secrets are never stored: client secrets, codes, refresh tokens, initial access tokens
and PAR request URIs are kept as their SHA-256 (each is 256 random bits, so a digest
is enough; lookups compare digests). Times are unix seconds (the same on SQLite and
PostgreSQL). Consents are read and written by the sign-in side (issue 13 item 7).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_kernel.sql import component_metadata


class OAuthBase(DeclarativeBase):
    metadata = component_metadata()


OAUTH_METADATA = OAuthBase.metadata


class ClientRow(OAuthBase):
    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    name: Mapped[str] = mapped_column(String(200))
    auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    grant_types: Mapped[list[str]] = mapped_column(JSON)
    scope_purposes: Mapped[dict[str, str]] = mapped_column(JSON)  # scope -> why
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    id_token_alg: Mapped[str] = mapped_column(String(8))
    platform_did: Mapped[str | None] = mapped_column(String(512), default=None)
    sector_identifier: Mapped[str | None] = mapped_column(String(255), default=None)
    # OpenID Connect RP-Initiated Logout 1.0 §3.1: where logout may return, exactly.
    post_logout_redirect_uris: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[int] = mapped_column(BigInteger)
    secret_rotated_at: Mapped[int | None] = mapped_column(BigInteger, default=None)


class CodeRow(OAuthBase):
    __tablename__ = "oauth_codes"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(1000))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    code_challenge: Mapped[str] = mapped_column(String(128))
    nonce: Mapped[str | None] = mapped_column(String(255), default=None)
    auth_time: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    replayed_at: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (Index("ix_oauth_codes_expires_at", "expires_at"),)


class TokenRow(OAuthBase):
    """One issued access token (by its ``jti``) and the refresh token issued with it."""

    __tablename__ = "oauth_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(64), default=None)
    subject: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(1000))
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    refresh_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    refresh_expires_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    refresh_used_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    family_id: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)

    __table_args__ = (
        Index("ix_oauth_tokens_refresh_hash", "refresh_hash", unique=True),
        Index("ix_oauth_tokens_family_id", "family_id"),
        Index("ix_oauth_tokens_code_hash", "code_hash"),
        Index("ix_oauth_tokens_client_account", "client_id", "account_id"),
    )


class ConsentRow(OAuthBase):
    __tablename__ = "oauth_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    granted_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (Index("ix_oauth_consents_account", "account_id", "client_id"),)


class PendingAuthorizationRow(OAuthBase):
    """An authorisation request awaiting the person's consent: answered once, for minutes."""

    __tablename__ = "oauth_pending_authorizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_digest: Mapped[bytes] = mapped_column(LargeBinary(32))  # the browser session's
    account_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str | None] = mapped_column(String(1000), default=None)
    nonce: Mapped[str | None] = mapped_column(String(255), default=None)
    code_challenge: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    answered_at: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (Index("ix_oauth_pending_authorizations_expires_at", "expires_at"),)


class SigningKeyRow(OAuthBase):
    """A signing key's public record; its private half is in the hub's key store."""

    __tablename__ = "oauth_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(8))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger)
    retired_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    drop_at: Mapped[int | None] = mapped_column(BigInteger, default=None)


class UsedJtiRow(OAuthBase):
    """A client assertion's ``jti`` (RFC 7523 §3 item 7), kept until the assertion expires."""

    __tablename__ = "oauth_used_jtis"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)  # client, jti
    expires_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_oauth_used_jtis_expires_at", "expires_at"),)


class InitialTokenRow(OAuthBase):
    """A dynamic-registration initial access token (RFC 7591 §3) staff issued."""

    __tablename__ = "oauth_initial_tokens"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    note: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)


class PushedRequestRow(OAuthBase):
    """A pushed authorisation request (RFC 9126), used once before it expires."""

    __tablename__ = "oauth_pushed_requests"

    uri_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[list[list[str]]] = mapped_column(JSON)  # the pairs, in order
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (Index("ix_oauth_pushed_requests_expires_at", "expires_at"),)


class DeviceAuthorizationRow(OAuthBase):
    """A device authorisation request (RFC 8628 §3.1-3.5), by its device code's SHA-256.

    The user code is kept as its SHA-256 too (of the normalised form: upper case, no
    dash). The person's answer (``decision``, with the scopes granted) comes from the
    verification page; ``used_at`` marks the device code spent by the token it bought.
    """

    __tablename__ = "oauth_device_authorizations"

    device_code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    interval: Mapped[int] = mapped_column(Integer)
    last_polled_ms: Mapped[int | None] = mapped_column(BigInteger, default=None)
    account_id: Mapped[str | None] = mapped_column(String(64), default=None)
    subject: Mapped[str | None] = mapped_column(String(255), default=None)
    granted_scope: Mapped[str | None] = mapped_column(String(1000), default=None)
    decision: Mapped[str | None] = mapped_column(String(16), default=None)
    decided_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    used_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    replayed_at: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (
        Index("ix_oauth_device_authorizations_user_code_hash", "user_code_hash", unique=True),
        Index("ix_oauth_device_authorizations_expires_at", "expires_at"),
        Index("ix_oauth_device_authorizations_account_id", "account_id"),
    )


class StaffGrantRow(OAuthBase):
    """A staff scope (``admin``, ``consortium:vote``...) held by the person of a DID."""

    __tablename__ = "oauth_staff_grants"

    did: Mapped[str] = mapped_column(String(512), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    granted_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
