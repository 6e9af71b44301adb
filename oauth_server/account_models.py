"""The tables of people's accounts, their DIDs, wallet sign-in requests and browser sessions.

An account is keyed by an internal random id, never by a DID: a DID is linked to it
(``oauth_account_dids``), so a wallet rotating its keys keeps its DID and so its
account, and a second DID joins only by an explicit link. Secrets a browser holds
(its sign-in binding, its session cookie) are stored as SHA-256 digests only. Times
are unix seconds (the same on SQLite and PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub_kernel.sql import component_metadata


class AccountBase(DeclarativeBase):
    metadata = component_metadata()


ACCOUNT_METADATA = AccountBase.metadata


class AccountRow(AccountBase):
    __tablename__ = "oauth_accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class AccountDidRow(AccountBase):
    __tablename__ = "oauth_account_dids"

    did: Mapped[str] = mapped_column(String(512), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("oauth_accounts.id", ondelete="CASCADE"))
    linked_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_oauth_account_dids_account_id", "account_id"),)


class SigninRequestRow(AccountBase):
    """One OpenID4VP request: its object served once, answered once, completed once."""

    __tablename__ = "oauth_signin_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    binding_digest: Mapped[bytes] = mapped_column(LargeBinary(32))  # the starting browser's
    nonce: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(64))
    next_path: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    fetched_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    answered_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    did: Mapped[str | None] = mapped_column(String(512), default=None)
    account_id: Mapped[str | None] = mapped_column(String(64), default=None)
    completed_at: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (Index("ix_oauth_signin_requests_expires_at", "expires_at"),)


class BrowserSessionRow(AccountBase):
    """A signed-in browser: keyed by the SHA-256 of its cookie value."""

    __tablename__ = "oauth_browser_sessions"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("oauth_accounts.id", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (
        Index("ix_oauth_browser_sessions_account_id", "account_id"),
        Index("ix_oauth_browser_sessions_expires_at", "expires_at"),
    )
