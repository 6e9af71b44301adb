"""People's consents per platform, and authorisation requests awaiting one.

Issue 13 item 7; OpenID Connect Core 1.0 §3.1.2.4 (the server obtains the person's
consent, and may store it to skip the page next time). One live consent per (client,
account): granting more scopes widens it; revoking ends it and, through
:meth:`oauth_server.ledger.TokenLedger.revoke_client_account`, every token issued
under it.

A request awaiting consent is stored here (never in the page), bound to the browser
session that saw it, answered once (a conditional ``UPDATE``: of two answers one
wins) within ``PENDING_SECONDS``. The consent form's CSRF token is an HMAC keyed by
the session cookie itself (OWASP CSRF Prevention Cheat Sheet, "signed double-submit
cookie"): the cookie is HttpOnly, so another site can neither read nor compute it, and
a token minted for one session or request is worthless in another.
https://openid.net/specs/openid-connect-core-1_0.html#Consent
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.authorize import AuthorizationRequest
from oauth_server.errors import OAuthError
from oauth_server.models import CodeRow, ConsentRow, PendingAuthorizationRow

PENDING_SECONDS = 600


def session_digest(cookie: str) -> bytes:
    return hashlib.sha256(cookie.encode()).digest()


def csrf_token(session_cookie: str, purpose: str) -> str:
    """The form token for ``purpose`` (a request id, an account action) in this session."""
    mac = hmac.new(session_cookie.encode(), b"notary-hub-csrf\x00" + purpose.encode(), "sha256")
    return mac.hexdigest()


def check_csrf(session_cookie: str, purpose: str, token: str | None) -> None:
    if not token or not hmac.compare_digest(csrf_token(session_cookie, purpose), token):
        raise OAuthError(
            "csrf_token_invalid",
            "the form's token is missing or not this session's; reload the page",
            status_code=403,
        )


@dataclass(frozen=True)
class Consent:
    client_id: str
    scopes: tuple[str, ...]
    granted_at: int


@dataclass(frozen=True)
class PendingAuthorization:
    id: str
    account_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str
    state: str | None
    nonce: str | None


class ConsentStore:
    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], float] = time.time
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    # -- consents ------------------------------------------------------------------------

    def granted(self, client_id: str, account_id: str) -> frozenset[str]:
        """The scopes the person's live consent to ``client_id`` covers (none: empty)."""
        with self._sessions() as session:
            row = self._live(session, client_id, account_id)
            return frozenset(row.scopes) if row is not None else frozenset()

    def grant(self, client_id: str, account_id: str, scopes: tuple[str, ...]) -> None:
        now = int(self._clock())
        with self._sessions.begin() as session:
            row = self._live(session, client_id, account_id)
            if row is None:
                session.add(
                    ConsentRow(
                        client_id=client_id,
                        account_id=account_id,
                        scopes=list(scopes),
                        granted_at=now,
                    )
                )
            else:
                row.scopes = list(dict.fromkeys([*row.scopes, *scopes]))
                row.granted_at = now

    def of_account(self, account_id: str) -> list[Consent]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ConsentRow)
                .where(ConsentRow.account_id == account_id, ConsentRow.revoked_at.is_(None))
                .order_by(ConsentRow.granted_at, ConsentRow.id)
            )
            return [Consent(row.client_id, tuple(row.scopes), row.granted_at) for row in rows]

    def revoke(self, client_id: str, account_id: str) -> bool:
        """End the live consent and spend its unused codes; whether there was one. The
        caller revokes its tokens."""
        now = int(self._clock())
        with self._sessions.begin() as session:
            # A code issued under the consent but not yet exchanged must not outlive it.
            session.execute(
                update(CodeRow)
                .where(
                    CodeRow.client_id == client_id,
                    CodeRow.account_id == account_id,
                    CodeRow.used_at.is_(None),
                )
                .values(used_at=now)
            )
            ended = session.execute(
                update(ConsentRow)
                .where(
                    ConsentRow.client_id == client_id,
                    ConsentRow.account_id == account_id,
                    ConsentRow.revoked_at.is_(None),
                )
                .values(revoked_at=now)
            )
            return bool(getattr(ended, "rowcount", 0))

    @staticmethod
    def _live(session: Session, client_id: str, account_id: str) -> ConsentRow | None:
        return session.scalars(
            select(ConsentRow)
            .where(
                ConsentRow.client_id == client_id,
                ConsentRow.account_id == account_id,
                ConsentRow.revoked_at.is_(None),
            )
            .order_by(ConsentRow.id.desc())
            .limit(1)
        ).first()

    # -- requests awaiting consent -------------------------------------------------------

    def hold(self, request: AuthorizationRequest, account_id: str, session_cookie: str) -> str:
        """Store ``request`` for the person's answer; its id."""
        request_id = secrets.token_urlsafe(24)
        now = int(self._clock())
        with self._sessions.begin() as session:
            # Requests long past their expiry go (a late answer to one is "unknown").
            session.execute(
                delete(PendingAuthorizationRow).where(
                    PendingAuthorizationRow.expires_at < now - PENDING_SECONDS
                )
            )
            session.add(
                PendingAuthorizationRow(
                    id=request_id,
                    session_digest=session_digest(session_cookie),
                    account_id=account_id,
                    client_id=request.client.client_id,
                    redirect_uri=request.redirect_uri,
                    scopes=list(request.scopes),
                    state=request.state,
                    nonce=request.nonce,
                    code_challenge=request.code_challenge,
                    expires_at=now + PENDING_SECONDS,
                )
            )
        return request_id

    def answer(self, request_id: str, session_cookie: str) -> PendingAuthorization:
        """The held request, once, to the session that saw it, before it expires."""
        now = int(self._clock())
        with self._sessions.begin() as session:
            row = session.get(PendingAuthorizationRow, request_id)
            if row is None or not hmac.compare_digest(
                row.session_digest, session_digest(session_cookie)
            ):
                raise OAuthError(
                    "consent_request_unknown",
                    "no such consent request in this browser session",
                    status_code=403,
                )
            if row.expires_at <= now:
                raise OAuthError(
                    "consent_request_expired",
                    "this consent page expired; start again",
                    status_code=410,
                )
            spent = session.execute(
                update(PendingAuthorizationRow)
                .where(
                    PendingAuthorizationRow.id == request_id,
                    PendingAuthorizationRow.answered_at.is_(None),
                )
                .values(answered_at=now)
            )
            if getattr(spent, "rowcount", 0) != 1:
                raise OAuthError(
                    "consent_already_answered", "this consent was already answered", status_code=409
                )
            return PendingAuthorization(
                id=row.id,
                account_id=row.account_id,
                client_id=row.client_id,
                redirect_uri=row.redirect_uri,
                scopes=tuple(row.scopes),
                code_challenge=row.code_challenge,
                state=row.state,
                nonce=row.nonce,
            )
