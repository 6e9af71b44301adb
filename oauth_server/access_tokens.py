"""JWT access tokens (RFC 9068), issued by the token endpoint and recorded by ``jti``.

Authlib's :class:`~authlib.oauth2.rfc9068.JWTBearerTokenGenerator` writes the claims
(``iss``, ``exp``, ``aud``, ``sub``, ``client_id``, ``iat``, ``jti``, ``scope``) and
the ``typ: at+jwt`` header (RFC 9068 §2.1); the hub signs with its active ES256 key
(its ``kid`` in the header, so rotation is seamless). ``aud`` is the hub's resource
audience: a token is good for the hub's APIs and nothing else. A person's token has
their pairwise ``sub``; a client-credentials token's ``sub`` is the client id
(RFC 9068 §2.2). Refresh tokens are 256 random bits, opaque.
https://www.rfc-editor.org/rfc/rfc9068#section-2
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc import jws
from joserfc.jwk import KeySet

from oauth_server.keys import ACCESS_JWS_ALG, SigningKeys

TYP = "at+jwt"


@dataclass(frozen=True)
class Person:
    """The resource owner of a code or refresh grant, as Authlib's ``user``."""

    account_id: str
    subject: str  # pairwise, per the client's sector

    def get_user_id(self) -> str:
        return self.subject


@dataclass(frozen=True)
class Lifetimes:
    """Seconds each credential lives."""

    access_token: int = 600
    refresh_token: int = 30 * 86_400
    code: int = 60
    pushed_request: int = 60


def _refresh_token(**_: Any) -> str:
    return secrets.token_urlsafe(32)


class AccessTokenIssuer(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(
        self, keys: SigningKeys, *, issuer: str, audience: str, lifetimes: Lifetimes
    ) -> None:
        super().__init__(
            issuer,
            alg=ACCESS_JWS_ALG,
            refresh_token_generator=_refresh_token,
            expires_generator=lifetimes.access_token,
        )
        self._keys = keys
        self.audience = audience

    def get_jwks(self) -> KeySet:
        return self._keys.signing_key(ACCESS_JWS_ALG)

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        return self.audience

    def get_jti(self, client: Any, grant_type: str, user: Any, scope: str) -> str:
        return secrets.token_urlsafe(24)


def unverified_claims(access_token: str) -> Mapping[str, Any]:
    """The claims of a token this process has just signed (to record it); never for input."""
    payload = jws.extract_compact(access_token.encode()).payload
    claims: dict[str, Any] = json.loads(payload)
    return claims
