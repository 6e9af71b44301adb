"""ID tokens at the token endpoint (OpenID Connect Core 1.0 §3.1.3.3, §2).

A code granted with the ``openid`` scope is answered with an ``id_token`` beside the
access token, by Authlib's :class:`~authlib.oidc.core.grants.OpenIDCode` extension:
``iss`` the hub, ``aud`` the client, the person's pairwise ``sub``, ``auth_time``, the
authorisation request's ``nonce`` and ``at_hash``, signed with the algorithm the client
registered (``id_token_signed_response_alg``: EdDSA, ES256 or RS256) by the hub's active
key for it (its ``kid`` in the header, so a rotated key verifies from the JWKS). With
the ``did`` scope the token also carries the person's DID (issue 13 item 7: revealed only
with that consent), read through ``did_of`` (the sign-in side's account directory).
https://openid.net/specs/openid-connect-core-1_0.html#IDToken
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.access_tokens import Person
from oauth_server.clients import Client
from oauth_server.keys import SigningKeys
from oauth_server.models import CodeRow

DidOf = Callable[[str], str | None]


class IdTokens(OpenIDCode):  # type: ignore[misc]
    def __init__(
        self,
        keys: SigningKeys,
        sessions: sessionmaker[Session],
        *,
        issuer: str,
        lifetime: int,
        did_of: DidOf | None = None,
    ) -> None:
        super().__init__(require_nonce=False)
        self._keys = keys
        self._sessions = sessions
        self._issuer = issuer
        self._lifetime = lifetime
        self.did_of = did_of

    def resolve_client_private_key(self, client: Client) -> KeySet:
        return self._keys.signing_key(client.id_token_alg)

    def get_client_algorithm(self, client: Client) -> str:
        return client.id_token_alg

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": client.id_token_alg, "typ": "JWT"}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self._issuer,
            "aud": [client.client_id],
            "iat": now,
            "exp": now + self._lifetime,
        }

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        # OpenID Connect Core §3.1.2.1: a nonce is used once per client.
        with self._sessions() as session:
            found = session.scalar(
                select(CodeRow.code_hash).where(
                    CodeRow.client_id == request.payload.client_id, CodeRow.nonce == nonce
                )
            )
        return found is not None

    def generate_user_info(self, user: Person, scope: str) -> dict[str, Any]:
        claims: dict[str, Any] = {"sub": user.subject}
        if "did" in scope.split() and self.did_of is not None:
            did = self.did_of(user.account_id)
            if did is not None:
                claims["did"] = did
        return claims
