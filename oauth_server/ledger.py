"""The record of issued tokens: what the token endpoint issued, what is revoked.

An access token is a signed JWT (:mod:`oauth_server.access_tokens`) recorded by its
``jti``; the refresh token issued with it is recorded by its SHA-256, with the
*family* it belongs to (every refresh token descending from one code shares it).
RFC 9700 §4.14.2: a refresh token is used once (rotation); using it again revokes the
whole family, since either the client or an attacker holds a stolen copy. RFC 9700
§4.5: tokens issued from a code are revoked when the code is replayed.
Revocation is by ``jti``; :meth:`TokenLedger.is_revoked` caches answers for
``cache_seconds`` (a revocation made in this process clears its entry at once).
https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Table, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from hub_kernel.group_commit import GroupCommit
from oauth_server.errors import OAuthError
from oauth_server.models import TokenRow

_INSERT_TOKENS = insert(cast(Table, TokenRow.__table__))
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")

CACHE_ENTRIES = 50_000
_REUSED = "invalid_grant"
_REUSED_MESSAGE = "the refresh token was already used: its whole family is revoked"


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


@dataclass(frozen=True)
class NewToken:
    """What the ledger records of a token the token endpoint is about to answer."""

    jti: str
    client_id: str
    account_id: str | None
    subject: str
    scope: str
    issued_at: int
    expires_at: int
    refresh_hash: bytes | None
    refresh_expires_at: int | None
    family_id: str
    code_hash: bytes | None


@dataclass(frozen=True)
class TokenRecord:
    jti: str
    client_id: str
    account_id: str | None
    subject: str
    scope: str
    issued_at: int
    expires_at: int
    revoked_at: int | None
    refresh_expires_at: int | None
    refresh_used_at: int | None
    family_id: str

    @classmethod
    def of(cls, row: TokenRow) -> TokenRecord:
        return cls(
            row.jti,
            row.client_id,
            row.account_id,
            row.subject,
            row.scope,
            row.issued_at,
            row.expires_at,
            row.revoked_at,
            row.refresh_expires_at,
            row.refresh_used_at,
            row.family_id,
        )


class TokenLedger:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        cache_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, TokenRecord | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._records = GroupCommit[NewToken](self._insert, lambda one: self._insert([one]))

    def record(self, token: NewToken) -> None:
        """Record an issued token; returns once it is committed. Concurrent records share
        one transaction (:class:`~hub_kernel.group_commit.GroupCommit`), one multi-row
        INSERT."""
        self._records.submit(token)

    def _insert(self, tokens: Sequence[NewToken]) -> None:
        # Core, not the ORM: the hottest write of the token endpoint, plain rows in one
        # executemany, without the unit of work's bookkeeping.
        engine = self._sessions.kw["bind"]
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # A token whose record a crash loses is refused as unknown (fails closed), so
                # its insert need not wait for the WAL flush; revocations still do.
                connection.execute(_ASYNC_COMMIT)
            connection.execute(_INSERT_TOKENS, [vars(token) for token in tokens])

    def by_jti(self, jti: str) -> TokenRecord | None:
        with self._sessions() as session:
            row = session.get(TokenRow, jti)
            return TokenRecord.of(row) if row is not None else None

    def by_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        with self._sessions() as session:
            row = session.scalar(
                select(TokenRow).where(TokenRow.refresh_hash == digest(refresh_token))
            )
            return TokenRecord.of(row) if row is not None else None

    def use_refresh_token(self, refresh_token: str, client_id: str) -> TokenRecord:
        """The live record of ``client_id``'s ``refresh_token``, marked used (one caller
        wins); ``invalid_grant`` naming why otherwise. A second use revokes the family."""
        now = int(self._clock())
        found = self.by_refresh_token(refresh_token)
        if found is None or found.client_id != client_id:
            raise OAuthError("invalid_grant", "the refresh token is unknown to this client")
        if found.refresh_used_at is not None:
            self.revoke_replayed_family(found.family_id)
            raise OAuthError(_REUSED, _REUSED_MESSAGE)
        if found.revoked_at is not None:
            raise OAuthError("invalid_grant", "the refresh token was revoked")
        if (found.refresh_expires_at or 0) <= now:
            raise OAuthError("invalid_grant", "the refresh token has expired")
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(TokenRow)
                .where(TokenRow.jti == found.jti, TokenRow.refresh_used_at.is_(None))
                .values(refresh_used_at=now)
            )
            won = getattr(claimed, "rowcount", 0) == 1
        if not won:  # a concurrent use of the same refresh token: a replay
            self.revoke_replayed_family(found.family_id)
            raise OAuthError(_REUSED, _REUSED_MESSAGE)
        return found

    def revoke(self, jti: str) -> None:
        self._revoke(TokenRow.jti == jti)

    def revoke_family(self, family_id: str) -> None:
        self._revoke(TokenRow.family_id == family_id)

    def revoke_replayed_family(self, family_id: str) -> None:
        """Revoke a family whose refresh token was replayed, against a racing rotation.

        The rotation that won records its new token, then reads whether the token it spent
        was revoked (:meth:`spent_token_revoked`). The first sweep marks the family; if
        the winner read before that committed, its new token was already committed, and
        the second sweep, a later statement, sees and revokes it.
        """
        self.revoke_family(family_id)
        self.revoke_family(family_id)

    def spent_token_revoked(self, jti: str) -> bool:
        record = self.by_jti(jti)
        return record is None or record.revoked_at is not None

    def revoke_from_code(self, code_hash: bytes) -> None:
        """Every token issued from the code, and their descendants (same family)."""
        with self._sessions() as session:
            families = set(
                session.scalars(select(TokenRow.family_id).where(TokenRow.code_hash == code_hash))
            )
        for family in families:
            self.revoke_family(family)

    def revoke_client_account(self, client_id: str, account_id: str) -> None:
        """Every token of ``client_id`` for the person (their consent was withdrawn)."""
        self._revoke((TokenRow.client_id == client_id) & (TokenRow.account_id == account_id))

    def is_revoked(self, jti: str) -> bool:
        """Whether ``jti`` is revoked or unknown (cached ``cache_seconds``)."""
        record = self.cached(jti)
        return record is None or record.revoked_at is not None

    def cached(self, jti: str) -> TokenRecord | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(jti)
            if hit is not None and now - hit[0] < self._cache_seconds:
                return hit[1]
        record = self.by_jti(jti)
        with self._lock:
            self._cache[jti] = (now, record)
            self._cache.move_to_end(jti)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return record

    def _revoke(self, where: ColumnElement[bool]) -> None:
        now = int(self._clock())
        with self._sessions.begin() as session:
            jtis = list(session.scalars(select(TokenRow.jti).where(where)))
            session.execute(
                update(TokenRow).where(where, TokenRow.revoked_at.is_(None)).values(revoked_at=now)
            )
        with self._lock:
            for jti in jtis:
                self._cache.pop(jti, None)
