"""Pushed authorisation requests (RFC 9126).

A client posts its authorisation request to ``/oauth/par``, authenticated as at the
token endpoint; the hub checks it as the authorisation endpoint would (response type
``code``, an exactly registered redirect URI, registered scopes, PKCE S256), stores it
and answers ``request_uri`` (``urn:ietf:params:oauth:request_uri:`` + 256 random
bits, stored as SHA-256) with ``expires_in`` (§2.2: short-lived). The authorisation
endpoint then calls :meth:`PushedRequests.take`, which hands the parameters out once,
to the client that pushed them, before they expire (§4).
https://www.rfc-editor.org/rfc/rfc9126
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.errors import OAuthError
from oauth_server.grants import TOKEN_AUTH_METHODS
from oauth_server.models import PushedRequestRow
from oauth_server.pkce import check_challenge
from oauth_server.server import Answer, HubAuthorizationServer, HubRequest, RawRequest

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
CREDENTIALS = {"client_secret", "client_assertion", "client_assertion_type"}
MAX_PARAMS = 50
MAX_VALUE_CHARS = 4096


def _digest(request_uri: str) -> bytes:
    return hashlib.sha256(request_uri.encode()).digest()


class PushedRequests:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lifetime: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 5 <= lifetime <= 600:
            raise ValueError("a pushed request lives 5 to 600 seconds")
        self._sessions = sessions
        self.lifetime = lifetime
        self._clock = clock

    def push(self, server: HubAuthorizationServer, raw: RawRequest) -> Answer:
        """The ``/oauth/par`` answer: 201 with ``request_uri``, or an RFC 6749 error."""
        request = server.oauth_request(raw)
        if not isinstance(request, HubRequest):
            return request
        try:
            client = server.authenticate_client(request, TOKEN_AUTH_METHODS, "par")
        except OAuth2Error as error:
            return server.handle_error_response(request, error)
        try:
            pairs = self._checked(client, list(raw.form))
        except OAuthError as refused:
            return (
                refused.status_code,
                {"error": refused.code, "error_description": refused.message},
                [],
            )
        request_uri = URN_PREFIX + secrets.token_urlsafe(32)
        now = int(self._clock())
        with self._sessions.begin() as session:
            session.execute(delete(PushedRequestRow).where(PushedRequestRow.expires_at < now))
            session.add(
                PushedRequestRow(
                    uri_hash=_digest(request_uri),
                    client_id=client.client_id,
                    params=[list(pair) for pair in pairs],
                    expires_at=now + self.lifetime,
                )
            )
        body = {"request_uri": request_uri, "expires_in": self.lifetime}
        return 201, body, [("Cache-Control", "no-store")]

    def take(self, request_uri: str, client_id: str) -> list[tuple[str, str]]:
        """The pushed parameters, once; ``invalid_request_uri`` when unknown, expired,
        used or pushed by another client."""
        now = int(self._clock())
        with self._sessions.begin() as session:
            row = session.get(PushedRequestRow, _digest(request_uri))
            if row is None or row.client_id != client_id:
                raise OAuthError("invalid_request_uri", "the request_uri is unknown to this client")
            if row.expires_at <= now:
                raise OAuthError("invalid_request_uri", "the request_uri has expired")
            spent = session.execute(
                update(PushedRequestRow)
                .where(
                    PushedRequestRow.uri_hash == row.uri_hash, PushedRequestRow.used_at.is_(None)
                )
                .values(used_at=now)
            )
            if getattr(spent, "rowcount", 0) != 1:
                raise OAuthError("invalid_request_uri", "the request_uri was already used")
            return [(name, value) for name, value in row.params]

    @staticmethod
    def _checked(client: Any, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        names = [name for name, _ in pairs]
        if len(pairs) > MAX_PARAMS or any(len(value) > MAX_VALUE_CHARS for _, value in pairs):
            raise OAuthError("invalid_request", "the pushed request is too large")
        if len(set(names)) != len(names):
            raise OAuthError("invalid_request", "a parameter is repeated")
        params = dict(pairs)
        if "request_uri" in params:
            raise OAuthError("invalid_request", "a pushed request cannot carry request_uri")
        if params.get("client_id", client.client_id) != client.client_id:
            raise OAuthError("invalid_request", "client_id is not the authenticated client")
        if params.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "the hub issues only codes")
        if not client.check_redirect_uri(params.get("redirect_uri", "")):
            raise OAuthError("invalid_request", "redirect_uri is not registered for this client")
        if client.get_allowed_scope(params.get("scope")) is None:
            raise OAuthError("invalid_scope", "a scope is not registered for this client")
        check_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
        kept = [(name, value) for name, value in pairs if name not in CREDENTIALS]
        if "client_id" not in params:
            kept.append(("client_id", client.client_id))
        return kept
