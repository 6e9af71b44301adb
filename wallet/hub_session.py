"""The wallet's session with its hub: tokens kept sealed in the vault, refreshed, renewed.

The tokens :func:`wallet.hub_signin.sign_in` obtains are kept per hub URL in the vault's
``hub_sessions`` record (sealed like every record, :mod:`wallet.vault`). An access token
is used until a minute before it expires; then the refresh token is exchanged (RFC 6749
§6, the hub rotating it: the new one replaces the old at once); when that is refused
(revoked, expired, reused) the wallet signs in again, with the DID's key. Logging out
revokes the refresh token, and with it its family, and the access token (RFC 7009 §2.1),
then forgets both. :class:`SessionAuth` puts the current access token on each request
(RFC 6750 §2.1) of a :class:`wallet.hub_client.HubClient`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import asdict, replace
from typing import Any

import httpx

from wallet.hub_client import TIMEOUT, HubUnavailable
from wallet.hub_signin import (
    WALLET_CLIENT_ID,
    Presenter,
    Tokens,
    discover,
    sign_in,
    tokens_of,
)
from wallet.login_errors import SigninFailed
from wallet.wallet import Wallet

RECORD = "hub_sessions"
MARGIN = 60  # seconds before expiry an access token is renewed


class HubSession:
    """The wallet's tokens for the hub at ``hub_url``, signing in as ``did`` when needed
    (``present`` answers the hub's sign-in request with the DID's key)."""

    def __init__(
        self,
        wallet: Wallet,
        hub_url: str,
        did: str,
        present: Presenter,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._wallet = wallet
        self._hub = hub_url.rstrip("/")
        self._did = did
        self._present = present
        self._transport = transport
        self._clock = clock

    def stored(self) -> Tokens | None:
        """The tokens kept for this hub, if any."""
        sessions = _sessions(self._wallet)
        kept = sessions.get(self._hub)
        return Tokens(**kept) if isinstance(kept, dict) else None

    def access_token(self) -> str:
        """A current access token of the wallet's DID: kept, refreshed, or signed in anew."""
        kept = self.stored()
        if kept is not None and kept.did == self._did:
            if kept.expires_at - MARGIN > self._clock():
                return kept.access_token
            renewed = self._refresh(kept)
            if renewed is not None:
                return renewed.access_token
        return self.sign_in().access_token

    def sign_in(self) -> Tokens:
        tokens = sign_in(self._hub, self._did, self._present, transport=self._transport)
        self._keep(tokens)
        return tokens

    def logout(self) -> bool:
        """Revoke and forget the tokens; False when there were none."""
        kept = self.stored()
        if kept is None:
            return False
        with self._http() as http:
            revoke = discover(http, self._hub).revocation
            for token, hint in ((kept.refresh_token, "refresh_token"),
                                (kept.access_token, "access_token")):  # fmt: skip
                if token is not None:
                    form = {"token": token, "token_type_hint": hint, "client_id": WALLET_CLIENT_ID}
                    revoked = _post(http, revoke, form)
                    if not revoked.is_success:  # RFC 7009 §2.2: 200 even for an unknown token
                        raise SigninFailed(f"the hub refused to revoke ({revoked.status_code})")
        self._keep(None)
        return True

    def invalidate(self, access_token: str) -> None:
        """The hub refused ``access_token`` (revoked, say): it is not used again; the
        refresh token is tried next, then a new sign-in."""
        kept = self.stored()
        if kept is not None and kept.access_token == access_token:
            self._keep(replace(kept, expires_at=0))

    def auth(self) -> SessionAuth:
        return SessionAuth(self)

    def _refresh(self, kept: Tokens) -> Tokens | None:
        """The refreshed tokens; None when the hub refuses the refresh token."""
        if kept.refresh_token is None:
            return None
        form = {"grant_type": "refresh_token", "refresh_token": kept.refresh_token,
                "client_id": WALLET_CLIENT_ID}  # fmt: skip
        with self._http() as http:
            token_path = discover(http, self._hub).token
            answer = _post(http, token_path, form)
        if answer.status_code in (400, 401):  # invalid_grant: revoked, expired or reused
            self._keep(None)
            return None
        issued = _check(answer, "the token endpoint")
        tokens = tokens_of(issued, kept.did, now=self._clock())
        self._keep(tokens)
        return tokens

    def _keep(self, tokens: Tokens | None) -> None:
        sessions = _sessions(self._wallet)
        if tokens is None:
            sessions.pop(self._hub, None)
        else:
            sessions[self._hub] = asdict(tokens)
        self._wallet.vault.commit({RECORD: sessions})

    def _http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self._hub, timeout=TIMEOUT, transport=self._transport, follow_redirects=False
        )


class SessionAuth(httpx.Auth):
    """Each request carries the session's current access token (RFC 6750 §2.1). A 401
    (RFC 6750 §3.1 ``invalid_token``) retires the token; a GET, which has no body to
    send again, is retried once with a renewed one."""

    def __init__(self, session: HubSession) -> None:
        self._session = session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._session.access_token()
        request.headers["authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self._session.invalidate(token)
            if request.method == "GET":
                request.headers["authorization"] = f"Bearer {self._session.access_token()}"
                yield request


def _sessions(wallet: Wallet) -> dict[str, Any]:
    if RECORD not in wallet.vault:
        return {}
    kept: dict[str, Any] = wallet.vault.read(RECORD)
    return kept


def _post(http: httpx.Client, path: str, form: dict[str, str]) -> httpx.Response:
    try:
        return http.post(path, data=form)
    except httpx.TransportError as exc:
        raise HubUnavailable(f"the hub at {http.base_url} is unreachable: {exc}") from None


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not response.is_success or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise SigninFailed(f"{what} answered {response.status_code} ({error or 'no JSON'})")
    return body
