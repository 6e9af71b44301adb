"""What a resource server (the hub's own routes) needs: who is calling, with which scopes.

:class:`AccessTokenValidator` checks an RFC 9068 JWT access token as §4 asks: the
``typ`` is ``at+jwt``, the signature is by one of the hub's published keys (ES256
only: no ``none``, no algorithm confusion), ``iss`` is the hub, ``aud`` is the hub's
resource audience, ``exp`` has not passed, and the token is on the ledger and not
revoked (cached briefly, :mod:`oauth_server.ledger`). Any failure is one
``invalid_token`` (401, RFC 6750 §3.1) naming the reason.
https://www.rfc-editor.org/rfc/rfc9068#section-4
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Iterable
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from oauth_server.access_tokens import TYP
from oauth_server.caller import Caller
from oauth_server.errors import OAuthError
from oauth_server.keys import ACCESS_JWS_ALG, SigningKeys
from oauth_server.ledger import TokenLedger

LEEWAY = 30  # seconds of clock skew tolerated on exp / iat
MAX_TOKEN_CHARS = 8192


def invalid_token(reason: str) -> OAuthError:
    return OAuthError(
        "invalid_token",
        reason,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{reason}"'},
    )


class AccessTokenValidator:
    def __init__(
        self,
        keys: SigningKeys,
        ledger: TokenLedger,
        *,
        issuer: str,
        audience: str,
        platform_did_of: Callable[[str], str | None],
        first_party: Container[str] = frozenset(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._ledger = ledger
        self._issuer = issuer
        self._audience = audience
        self._platform_did_of = platform_did_of
        self._first_party = first_party
        self._clock = clock

    def validate(self, token: str) -> Caller:
        """The caller the token names; ``invalid_token`` (401) when bad, expired, revoked
        or meant for another audience."""
        claims = self._claims(token)
        record = self._ledger.cached(str(claims["jti"]))
        if record is None:
            raise invalid_token("the hub has no record of this token")
        if record.revoked_at is not None:
            raise invalid_token("the token was revoked")
        if record.client_id != claims["client_id"]:
            raise invalid_token("the token's client is not the one it was issued to")
        scopes = frozenset(str(claims.get("scope") or "").split())
        ours = record.client_id in self._first_party
        if record.account_id is not None:
            return Caller(
                claims["sub"], record.client_id, scopes, record.account_id, None, "person", ours
            )
        did = self._platform_did_of(record.client_id)
        return Caller(claims["sub"], record.client_id, scopes, None, did, "platform", ours)

    def require(self, token: str, scopes: Iterable[str]) -> Caller:
        """:meth:`validate`, then ``insufficient_scope`` (403) unless every scope is granted."""
        caller = self.validate(token)
        missing = sorted(set(scopes) - caller.scopes)
        if missing:
            raise OAuthError(
                "insufficient_scope",
                f"the token lacks scope {' '.join(missing)}",
                headers={
                    "WWW-Authenticate": (
                        f'Bearer error="insufficient_scope", scope="{" ".join(missing)}"'
                    )
                },
            )
        return caller

    def _claims(self, token: str) -> dict[str, Any]:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise invalid_token("the token is empty or too long")
        try:
            decoded = jwt.decode(token, self._keys.public_keys(), algorithms=[ACCESS_JWS_ALG])
        except (JoseError, ValueError) as exc:
            raise invalid_token(f"the token is not a JWT signed by this hub ({exc})") from None
        typ = str(decoded.header.get("typ", "")).lower()
        if typ not in (TYP, "application/" + TYP):
            raise invalid_token("the token is not an access token (typ is not at+jwt)")
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            leeway=LEEWAY,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            exp={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
            client_id={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise invalid_token(_reason(exc)) from None
        return dict(decoded.claims)


def _reason(exc: JoseError) -> str:
    text = str(exc.description or exc.error)
    if "aud" in text:
        return f"the token is not meant for this hub ({text})"
    if "exp" in text or "expired" in text:
        return "the token has expired"
    return f"the token's claims are invalid ({text})"
