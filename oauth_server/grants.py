"""The grants the hub's token endpoint serves, on Authlib's grant classes.

- Authorisation code (RFC 6749 §4.1) with PKCE S256 (:mod:`oauth_server.pkce`). The
  code-issuing half runs after the person signed in and consented (the sign-in side
  calls :meth:`CodeIssuer.issue_code`, which answers with the redirect carrying
  ``code``, ``state`` and ``iss``, RFC 9207). A code is used once: the token request
  consumes it in one conditional ``UPDATE``, and a replayed code is refused and
  revokes every token issued from it (RFC 6749 §4.1.2, RFC 9700 §4.5).
- Refresh tokens (RFC 6749 §6) rotate on every use; a reused one revokes its family
  (RFC 9700 §4.14.2; :mod:`oauth_server.ledger`).
- Client credentials (RFC 6749 §4.4), for a platform acting for itself; never the
  identity scopes (``openid``, ``profile``, ``did``).
No implicit and no password grant (RFC 9700 §2.1.2, §2.4): they are never registered.
https://www.rfc-editor.org/rfc/rfc9700#section-2.1
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidScopeError, grants
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.access_tokens import Lifetimes, Person
from oauth_server.clients import Client
from oauth_server.errors import OAuthError
from oauth_server.ledger import TokenLedger, TokenRecord
from oauth_server.models import CodeRow
from oauth_server.pkce import check_challenge
from oauth_server.staff import split_scopes
from oauth_server.subjects import PairwiseSubjects

TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
CONFIDENTIAL_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
IDENTITY_SCOPES = frozenset({"openid", "profile", "did"})


def code_digest(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()


@dataclass(frozen=True)
class IssuedCode:
    code: str
    redirect_to: str  # the redirect URI with code, state and iss (RFC 9207)


class CodeIssuer:
    """The code-issuing half of the code grant, for a signed-in person who consented."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        subjects: PairwiseSubjects,
        *,
        issuer: str,
        lifetimes: Lifetimes,
        staff_scopes_of: Callable[[str], frozenset[str]] = lambda _account: frozenset(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._subjects = subjects
        self._staff_scopes_of = staff_scopes_of
        self._issuer = issuer
        self._lifetime = lifetimes.code
        self._clock = clock

    def subject_for(self, client: Client, account_id: str) -> str:
        return self._subjects.subject(client.sector_identifier, account_id)

    def issue_code(
        self,
        client: Client,
        account_id: str,
        scopes: Sequence[str],
        redirect_uri: str,
        code_challenge: str | None,
        nonce: str | None = None,
        *,
        code_challenge_method: str | None = "S256",
        state: str | None = None,
        auth_time: int | None = None,
    ) -> IssuedCode:
        """A single-use code for ``client`` and the person ``account_id``.

        Refused (never redirected, RFC 9700 §4.1.1) when the redirect URI is not one the
        client registered exactly; refused when the client may not use the code grant,
        asks for scopes it did not register or staff scopes the person does not hold, or
        the PKCE challenge is missing or not S256.
        """
        if not client.check_redirect_uri(redirect_uri):
            raise OAuthError("invalid_redirect_uri", "the redirect URI is not registered")
        if "authorization_code" not in client.grant_types:
            raise OAuthError("unauthorized_client", "the client may not use the code grant")
        unknown = sorted(set(scopes) - set(client.scopes))
        if not scopes or unknown:
            raise OAuthError("invalid_scope", f"scope not registered: {' '.join(unknown)}")
        # A person grants staff scopes only when their account holds them (oauth_server.staff).
        not_held = split_scopes(scopes, self._staff_scopes_of(account_id)).refused
        if not_held:
            raise OAuthError(
                "invalid_scope", f"the person's account does not hold {' '.join(not_held)}"
            )
        challenge = check_challenge(code_challenge, code_challenge_method)
        code = secrets.token_urlsafe(32)
        now = int(self._clock())
        with self._sessions.begin() as session:
            session.add(
                CodeRow(
                    code_hash=code_digest(code),
                    client_id=client.client_id,
                    account_id=account_id,
                    subject=self.subject_for(client, account_id),
                    scope=" ".join(dict.fromkeys(scopes)),
                    redirect_uri=redirect_uri,
                    code_challenge=challenge,
                    nonce=nonce,
                    auth_time=auth_time if auth_time is not None else now,
                    expires_at=now + self._lifetime,
                )
            )
        params = {
            "code": code,
            **({"state": state} if state is not None else {}),
            "iss": self._issuer,
        }
        separator = "&" if urlsplit(redirect_uri).query else "?"
        return IssuedCode(code, redirect_uri + separator + urlencode(params))


@dataclass(frozen=True)
class StoredCode:
    """A consumed code, as Authlib's grant reads it."""

    code_hash: bytes
    client_id: str
    account_id: str
    subject: str
    scope: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None  # one way to sign in (the DID wallet): no levels to tell apart

    def get_amr(self) -> list[str] | None:
        return None


def code_replayed(sessions: sessionmaker[Session], code_hash: bytes) -> bool:
    """Whether a replay of the code was seen (it may have raced the exchange that won)."""
    with sessions() as session:
        row = session.get(CodeRow, code_hash)
        return row is not None and row.replayed_at is not None


def consume_code(
    sessions: sessionmaker[Session], ledger: TokenLedger, code: str, client_id: str, now: int
) -> StoredCode:
    """The code's record, marked used; ``invalid_grant`` when unknown, another client's,
    expired or already used (then its tokens are revoked)."""
    digest = code_digest(code)
    with sessions.begin() as session:
        row = session.get(CodeRow, digest)
        if row is None or row.client_id != client_id:
            raise InvalidGrantError("the code is unknown or was issued to another client")
        claimed = session.execute(
            update(CodeRow)
            .where(CodeRow.code_hash == digest, CodeRow.used_at.is_(None))
            .values(used_at=now)
        )
        replayed = getattr(claimed, "rowcount", 0) != 1
        if replayed:  # the winner's save_token looks for this (a replay racing it)
            row.replayed_at = now
        expired = row.expires_at <= now
        stored = StoredCode(
            digest,
            row.client_id,
            row.account_id,
            row.subject,
            row.scope,
            row.redirect_uri,
            row.code_challenge,
            row.nonce,
            row.auth_time,
        )
    if replayed:
        ledger.revoke_from_code(digest)
        raise InvalidGrantError("the code was already used: its tokens are revoked")
    if expired:
        raise InvalidGrantError("the code has expired")
    return stored


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    # The authorisation endpoint is the sign-in side's (CodeIssuer); this grant answers
    # only the token endpoint.
    RESPONSE_TYPES: frozenset[str] = frozenset()

    def query_authorization_code(self, code: str, client: Client) -> StoredCode:
        server = self.server
        now = int(server.clock())
        return consume_code(server.sessions, server.ledger, code, client.client_id, now)

    def delete_authorization_code(self, authorization_code: StoredCode) -> None:
        # The code was marked used when it was read (consume_code), atomically, so two
        # concurrent exchanges cannot both succeed; a used code is kept to detect replays.
        return None

    def authenticate_user(self, authorization_code: StoredCode) -> Person:
        return Person(authorization_code.account_id, authorization_code.subject)


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

    def authenticate_refresh_token(self, refresh_token: str) -> StoredRefresh:
        client: Client = self.request.client  # authenticated before the token is read
        try:
            record = self.server.ledger.use_refresh_token(refresh_token, client.client_id)
        except OAuthError as refused:
            raise InvalidGrantError(refused.message) from None
        return StoredRefresh(record)

    def authenticate_user(self, refresh_token: StoredRefresh) -> Person | None:
        record = refresh_token.record
        return Person(record.account_id, record.subject) if record.account_id else None

    def revoke_old_credential(self, refresh_token: StoredRefresh) -> None:
        # The refresh token was spent when it was read; the access token issued with it
        # goes too, so one grant has one live access token.
        self.server.ledger.revoke(refresh_token.record.jti)


@dataclass(frozen=True)
class StoredRefresh:
    record: TokenRecord

    def check_client(self, client: Client) -> bool:
        return self.record.client_id == client.client_id

    def get_scope(self) -> str:
        return self.record.scope


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CONFIDENTIAL_AUTH_METHODS

    def validate_token_request(self) -> None:
        super().validate_token_request()
        asked = set((self.request.payload.scope or "").split())
        if asked & IDENTITY_SCOPES:
            raise InvalidScopeError("client credentials carry no person's identity scopes")

    def create_token_response(self) -> tuple[int, Any, Any]:
        client: Client = self.request.client
        scope = self.request.payload.scope or " ".join(
            name for name in client.scopes if name not in IDENTITY_SCOPES
        )
        token = self.generate_token(scope=scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
