"""Sign-in with the DID wallet: requests bound to the browser that started them, answered
once by a wallet, turned once into a browser session.

Issue 13 item 6, over :mod:`oauth_server.openid4vp` (OpenID4VP 1.0 §14 security
considerations, cross-device flow):

- :meth:`SigninService.start` stores a request for a browser's *binding* (a random
  value the browser keeps in a cookie; only its SHA-256 is stored), with a fresh nonce
  and state (128 random bits each), a ``next`` path on the hub, and an expiry minutes
  away;
- its request object is served once (:meth:`request_object`): a second fetch is
  another device's and is refused;
- the wallet's direct_post is accepted once (:meth:`answer`: a conditional ``UPDATE``,
  so of two concurrent answers one wins), after the presentation verifies against the
  request's nonce and client id; a failing answer leaves the request answerable;
- only the starting browser learns the outcome (:meth:`status`), and the first poll
  after the answer gets the session cookie, once;
- a browser session cookie is 256 random bits, stored as its SHA-256, with a lifetime;
  :meth:`current_account` is how the authorisation endpoint knows who is signed in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit

from jwcrypto.jwk import JWK
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from credentials.verifier import Verifier
from oauth_server.account_models import BrowserSessionRow, SigninRequestRow
from oauth_server.accounts import AccountStore
from oauth_server.openid4vp import SigninRequest, short_code, sign_request_object, verify_response
from oauth_server.signin_errors import (
    InvalidVpToken,
    NotThisBrowser,
    RequestObjectFetched,
    SigninAlreadyAnswered,
    SigninRequestExpired,
    SigninRequestNotFound,
    UnsafeNext,
)

SIGNIN_PATH = "/signin"
REQUESTS_PATH = "/signin/requests"
DEEP_LINK_SCHEME = "openid4vp://"
DEFAULT_NEXT = "/"
MAX_NEXT_CHARS = 2048
RETENTION = 86_400  # seconds an expired request is kept, so a late replay is named as one

Progress = Literal["pending", "fetched", "signed_in", "completed"]


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_secret(nbytes: int = 16) -> str:
    return secrets.token_urlsafe(nbytes)


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on the hub itself; refused otherwise (no open redirect)."""
    if value is None or value == "":
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if (
        len(value) > MAX_NEXT_CHARS
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or not value.isprintable()
        or parts.scheme
        or parts.netloc
    ):
        raise UnsafeNext("next must be a path on this hub, such as /account")
    return value


@dataclass(frozen=True)
class StartedSignin:
    id: str
    code: str
    expires_at: int
    request_uri: str
    deep_link: str
    next_path: str


@dataclass(frozen=True)
class SigninStatus:
    progress: Progress
    next_path: str
    account_id: str | None = None
    session_cookie: str | None = None  # given once, to the first poll after the answer


class SigninService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        accounts: AccountStore,
        verifier: Verifier,
        key: JWK,
        *,
        origin: str,
        request_lifetime: int = 300,
        session_lifetime: int = 8 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if request_lifetime < 1 or session_lifetime < 1:
            raise ValueError("requests and sessions live at least one second")
        self._sessions = sessions
        self.accounts = accounts
        self._verifier = verifier
        self._key = key
        self.origin = origin.rstrip("/")
        self._request_lifetime = request_lifetime
        self.session_lifetime = session_lifetime
        self._clock = clock

    def public_jwks(self) -> dict[str, object]:
        """The key request objects are signed with, as a JWK Set (RFC 7517 §5)."""
        public = self._key.export_public(as_dict=True)
        public.update(kid=self._key.thumbprint(), use="sig")
        return {"keys": [public]}

    # -- the browser starts, the wallet fetches and answers ------------------------------

    def start(self, binding: str, next_path: str | None) -> StartedSignin:
        target = safe_next(next_path)
        now = int(self._clock())
        request_id, nonce = new_secret(), new_secret()
        with self._sessions.begin() as session:
            session.execute(
                delete(SigninRequestRow).where(SigninRequestRow.expires_at < now - RETENTION)
            )
            session.add(
                SigninRequestRow(
                    id=request_id,
                    binding_digest=digest(binding),
                    nonce=nonce,
                    state=new_secret(),
                    next_path=target,
                    created_at=now,
                    expires_at=now + self._request_lifetime,
                )
            )
        request_uri = self._uri(request_id, "object")
        link = (
            DEEP_LINK_SCHEME
            + "?"
            + urlencode({"client_id": self.origin, "request_uri": request_uri})
        )
        return StartedSignin(
            request_id, short_code(nonce), now + self._request_lifetime, request_uri, link, target
        )

    def request_object(self, request_id: str) -> str:
        """The signed request object, served to the first fetch only."""
        row = self._live(request_id)
        now = int(self._clock())
        with self._sessions.begin() as session:
            changed = session.execute(
                update(SigninRequestRow)
                .where(SigninRequestRow.id == row.id, SigninRequestRow.fetched_at.is_(None))
                .values(fetched_at=now)
            )
            if getattr(changed, "rowcount", 0) != 1:
                raise RequestObjectFetched(
                    "this sign-in request was already fetched by a wallet; start a new one"
                )
        return sign_request_object(self._request(row), self._key)

    def answer(self, request_id: str, vp_token: str, state: str | None) -> str:
        """Accept the wallet's direct_post once; the DID it proved control of."""
        row = self._live(request_id)
        if row.answered_at is not None:
            raise SigninAlreadyAnswered("this sign-in request was already answered: a replay")
        if row.fetched_at is None:
            raise InvalidVpToken("no wallet fetched this request: nothing can answer it")
        verified = verify_response(self._request(row), vp_token, state, self._verifier)
        account_id = self.accounts.account_for_did(verified.did)
        with self._sessions.begin() as session:
            changed = session.execute(
                update(SigninRequestRow)
                .where(SigninRequestRow.id == row.id, SigninRequestRow.answered_at.is_(None))
                .values(answered_at=int(self._clock()), did=verified.did, account_id=account_id)
            )
            if getattr(changed, "rowcount", 0) != 1:
                raise SigninAlreadyAnswered("this sign-in request was already answered: a replay")
        return verified.did

    # -- the starting browser learns the outcome ----------------------------------------

    def status(self, request_id: str, binding: str | None) -> SigninStatus:
        row = self._row(request_id)
        if binding is None or not hmac.compare_digest(row.binding_digest, digest(binding)):
            raise NotThisBrowser("this sign-in was started by another browser")
        if row.completed_at is not None:
            return SigninStatus("completed", row.next_path, row.account_id)
        if row.account_id is not None:
            return self._complete(row, row.account_id)
        if row.expires_at <= int(self._clock()):
            raise SigninRequestExpired("this sign-in request expired; start a new one")
        return SigninStatus("fetched" if row.fetched_at else "pending", row.next_path)

    def _complete(self, row: SigninRequestRow, account_id: str) -> SigninStatus:
        now = int(self._clock())
        cookie = new_secret(32)
        with self._sessions.begin() as session:
            changed = session.execute(
                update(SigninRequestRow)
                .where(SigninRequestRow.id == row.id, SigninRequestRow.completed_at.is_(None))
                .values(completed_at=now)
            )
            if getattr(changed, "rowcount", 0) != 1:  # a concurrent poll completed it
                return SigninStatus("completed", row.next_path, account_id)
            session.execute(
                delete(BrowserSessionRow).where(BrowserSessionRow.expires_at < now - RETENTION)
            )
            session.add(
                BrowserSessionRow(
                    digest=digest(cookie),
                    account_id=account_id,
                    created_at=now,
                    expires_at=now + self.session_lifetime,
                )
            )
        return SigninStatus("signed_in", row.next_path, account_id, cookie)

    # -- browser sessions ----------------------------------------------------------------

    def current_account(self, cookie: str | None) -> str | None:
        """The account a session cookie signs in, None when absent, unknown, ended or expired."""
        if not cookie:
            return None
        with self._sessions() as session:
            row = session.get(BrowserSessionRow, digest(cookie))
            if row is None or row.ended_at is not None or row.expires_at <= int(self._clock()):
                return None
            return row.account_id

    def now(self) -> int:
        """The sign-in side's clock, in whole seconds (what ``signed_in_at`` is on)."""
        return int(self._clock())

    def signed_in_at(self, cookie: str | None) -> int | None:
        """When the live session of ``cookie`` began: the ID token's ``auth_time``."""
        if not cookie or self.current_account(cookie) is None:
            return None
        with self._sessions() as session:
            row = session.get(BrowserSessionRow, digest(cookie))
            return row.created_at if row is not None else None

    def end_session(self, cookie: str | None) -> None:
        if not cookie:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(BrowserSessionRow)
                .where(BrowserSessionRow.digest == digest(cookie))
                .values(ended_at=int(self._clock()))
            )

    # -- plumbing ------------------------------------------------------------------------

    def _uri(self, request_id: str, leaf: str) -> str:
        return f"{self.origin}{REQUESTS_PATH}/{request_id}/{leaf}"

    def _row(self, request_id: str) -> SigninRequestRow:
        with self._sessions() as session:
            row = session.get(SigninRequestRow, request_id)
            if row is None:
                raise SigninRequestNotFound("no such sign-in request")
            session.expunge(row)
            return row

    def _live(self, request_id: str) -> SigninRequestRow:
        row = self._row(request_id)
        if row.expires_at <= int(self._clock()):
            raise SigninRequestExpired("this sign-in request expired; start a new one")
        return row

    def _request(self, row: SigninRequestRow) -> SigninRequest:
        return SigninRequest(
            client_id=self.origin,
            response_uri=self._uri(row.id, "response"),
            nonce=row.nonce,
            state=row.state,
            issued_at=row.created_at,
            expires_at=row.expires_at,
        )
