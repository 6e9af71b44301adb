"""Token introspection (RFC 7662) for authenticated clients.

A client authenticates (never ``none``: §2.1 requires authorisation of the caller) and
learns about tokens issued to it; a client registered with the ``admin`` scope (the
hub's own staff tools) may introspect any token. A token that is unknown, expired,
revoked, spent (a rotated refresh token) or not the caller's is ``{"active": false}``
and nothing more (§2.2: no hint why).
https://www.rfc-editor.org/rfc/rfc7662#section-2
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc import jwt
from joserfc.errors import JoseError

from oauth_server.clients import Client
from oauth_server.keys import ACCESS_JWS_ALG, SigningKeys
from oauth_server.ledger import TokenLedger, TokenRecord

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


@dataclass(frozen=True)
class FoundToken:
    record: TokenRecord
    kind: str  # "access_token" or "refresh_token"
    now: int

    def is_expired(self) -> bool:
        if self.kind == "access_token":
            return self.record.expires_at <= self.now
        return (self.record.refresh_expires_at or 0) <= self.now

    def is_revoked(self) -> bool:
        spent = self.kind == "refresh_token" and self.record.refresh_used_at is not None
        return self.record.revoked_at is not None or spent

    def check_client(self, client: Client) -> bool:
        return self.record.client_id == client.client_id

    def get_scope(self) -> str:
        return self.record.scope


class TokenFinder:
    """A presented token's record: an access token by its (verified) ``jti``, a refresh
    token by its digest."""

    def __init__(
        self, keys: SigningKeys, ledger: TokenLedger, clock: Callable[[], float] = time.time
    ) -> None:
        self._keys = keys
        self._ledger = ledger
        self._clock = clock

    def find(self, token: str, hint: str | None) -> FoundToken | None:
        now = int(self._clock())
        order = (
            ("refresh_token", "access_token")
            if hint == "refresh_token"
            else (
                "access_token",
                "refresh_token",
            )
        )
        for kind in order:
            record = self._access(token) if kind == "access_token" else self._refresh(token)
            if record is not None:
                return FoundToken(record, kind, now)
        return None

    def _access(self, token: str) -> TokenRecord | None:
        if token.count(".") != 2:
            return None
        try:
            decoded = jwt.decode(token, self._keys.public_keys(), algorithms=[ACCESS_JWS_ALG])
        except (JoseError, ValueError):
            return None
        jti = decoded.claims.get("jti")
        return self._ledger.by_jti(jti) if isinstance(jti, str) else None

    def _refresh(self, token: str) -> TokenRecord | None:
        return self._ledger.by_refresh_token(token)


class HubIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, finder: TokenFinder, *, issuer: str, audience: str) -> None:
        super().__init__()
        self._finder = finder
        self._issuer = issuer
        self._audience = audience

    def query_token(self, token_string: str, token_type_hint: str | None) -> FoundToken | None:
        return self._finder.find(token_string, token_type_hint)

    def check_permission(self, token: FoundToken, client: Client, request: Any) -> bool:
        return token.check_client(client) or "admin" in client.scopes

    def introspect_token(self, token: FoundToken) -> dict[str, Any]:
        record = token.record
        answer: dict[str, Any] = {
            "active": True,
            "scope": record.scope,
            "client_id": record.client_id,
            "sub": record.subject,
            "iss": self._issuer,
            "iat": record.issued_at,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
        }
        if token.kind == "access_token":
            answer.update(exp=record.expires_at, aud=self._audience, jti=record.jti)
        else:
            answer["exp"] = record.refresh_expires_at
        return answer
