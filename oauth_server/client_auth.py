"""Client authentication at the token, introspection, revocation and PAR endpoints.

RFC 6749 §2.3.1 ``client_secret_basic`` and ``client_secret_post`` (Authlib's, over
:meth:`oauth_server.clients.Client.check_client_secret`), ``none`` for public clients
(§2.1; they must use PKCE), and ``private_key_jwt`` (OpenID Connect Core §9, RFC 7523
§2.2): a JWT signed by a key of the client's registered JWKS, with ``iss`` = ``sub`` =
the client id, ``aud`` the issuer or the endpoint, a short ``exp`` and a ``jti`` the
hub has not seen (:class:`JtiCache`, RFC 7523 §3 item 7). One client authenticates one
way per request (RFC 6749 §2.3: no more than one mechanism).
https://www.rfc-editor.org/rfc/rfc7523#section-3
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.jwk import KeySet
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.clients import Client
from oauth_server.models import UsedJtiRow

PRIVATE_KEY_JWT = "private_key_jwt"
MAX_ASSERTION_SECONDS = 600  # an assertion living longer is refused (the cache's horizon)


class JtiCache:
    """Client-assertion ``jti`` values already used, each kept until its assertion expires."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], float] = time.time
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def use(self, client_id: str, jti: str, expires_at: int) -> bool:
        """Record ``jti`` for ``client_id``; ``False`` if it was seen before (a replay)."""
        now = int(self._clock())
        digest = hashlib.sha256(f"{client_id}\x00{jti}".encode()).digest()
        try:
            with self._sessions.begin() as session:
                session.execute(delete(UsedJtiRow).where(UsedJtiRow.expires_at < now))
                session.add(UsedJtiRow(digest=digest, expires_at=expires_at))
        except IntegrityError:
            return False
        return True


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(self, audiences: Sequence[str], jtis: JtiCache) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._audiences = list(audiences)
        self._jtis = jtis

    def get_audiences(self) -> list[str]:
        return self._audiences

    def validate_jti(self, claims: Any, jti: str) -> bool:
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp - int(time.time()) > MAX_ASSERTION_SECONDS:
            raise InvalidClientError(
                description=f"a client assertion expires within {MAX_ASSERTION_SECONDS} s"
            )
        return self._jtis.use(str(claims["sub"]), str(jti), exp)

    def resolve_client_public_key(self, client: Client) -> KeySet:
        return KeySet.import_key_set(dict(client.jwks or {"keys": []}))  # type: ignore[arg-type]
