"""Dynamic client registration (RFC 7591), gated by initial access tokens staff issue.

§3: registration is open only to a bearer of an *initial access token*; staff issue one
per partner (``notary-hub clients initial-token``), it works once and expires. The
metadata is checked by Authlib's :class:`~authlib.oauth2.rfc7591.ClientMetadataClaims`
against the server's metadata (grant types, auth methods, scopes), then by
:func:`oauth_server.clients.check_spec`. Besides RFC 7591's fields, a client sends
``scope_purposes`` (why it asks for each scope, shown at consent) and may send
``id_token_signed_response_alg`` (OpenID Connect Dynamic Client Registration §2). A
platform DID is never self-asserted, nor a staff scope (:data:`~oauth_server.scopes.STAFF_SCOPES`):
staff grant those (``notary-hub clients create``).
https://www.rfc-editor.org/rfc/rfc7591#section-3
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc7591 import (
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidRedirectURIError,
)
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.clients import Client, ClientSpec, ClientStore
from oauth_server.errors import OAuthError
from oauth_server.models import InitialTokenRow
from oauth_server.scopes import STAFF_SCOPES

MAX_INITIAL_TOKEN_SECONDS = 30 * 86_400


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class InitialTokens:
    """RFC 7591 §1.2 initial access tokens: 256 random bits, stored as SHA-256, used once."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], float] = time.time
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def issue(self, note: str, lifetime: int) -> str:
        if not 60 <= lifetime <= MAX_INITIAL_TOKEN_SECONDS:
            raise OAuthError(
                "invalid_request",
                f"an initial access token lives 60 to {MAX_INITIAL_TOKEN_SECONDS} seconds",
            )
        token = secrets.token_urlsafe(32)
        now = int(self._clock())
        with self._sessions.begin() as session:
            session.execute(delete(InitialTokenRow).where(InitialTokenRow.expires_at < now))
            session.add(
                InitialTokenRow(
                    token_hash=_digest(token),
                    note=note[:200],
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return token

    def use(self, token: str) -> bool:
        """Spend ``token`` (one registration); ``False`` if unknown, expired or spent."""
        now = int(self._clock())
        with self._sessions.begin() as session:
            spent = session.execute(
                update(InitialTokenRow)
                .where(
                    InitialTokenRow.token_hash == _digest(token),
                    InitialTokenRow.used_at.is_(None),
                    InitialTokenRow.expires_at > now,
                )
                .values(used_at=now)
            )
            return bool(getattr(spent, "rowcount", 0) == 1)


class HubRegistrationEndpoint(ClientRegistrationEndpoint):  # type: ignore[misc]
    def __init__(
        self,
        clients: ClientStore,
        initial_tokens: InitialTokens,
        metadata: Callable[[], Mapping[str, Any]],
    ) -> None:
        super().__init__()
        self._clients = clients
        self._initial_tokens = initial_tokens
        self._metadata = metadata

    def authenticate_token(self, request: Any) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token or not self._initial_tokens.use(token.strip()):
            raise InvalidTokenError(
                description="registration needs a valid, unused initial access token"
            )
        return True

    def get_server_metadata(self) -> dict[str, Any]:
        return dict(self._metadata())

    def generate_client_info(self, request: Any) -> dict[str, Any]:
        # The client id and secret are the store's (the secret is only ever hashed there).
        return {"client_id_issued_at": int(time.time())}

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> Client:
        data = request.payload.data
        purposes = data.get("scope_purposes")
        if not isinstance(purposes, dict) or not all(
            isinstance(value, str) for value in purposes.values()
        ):
            raise InvalidClientMetadataError("scope_purposes: an object of scope to purpose")
        staff_only = sorted(set(purposes) & STAFF_SCOPES)
        if staff_only:
            raise InvalidClientMetadataError(f"only staff grant scope {' '.join(staff_only)}")
        scope = client_metadata.get("scope")
        if scope is not None and set(scope.split()) != set(purposes):
            raise InvalidClientMetadataError("scope must list exactly the scopes of scope_purposes")
        logout_uris = data.get("post_logout_redirect_uris", [])
        if not isinstance(logout_uris, list) or not all(isinstance(u, str) for u in logout_uris):
            raise InvalidClientMetadataError("post_logout_redirect_uris: a list of URIs")
        spec = ClientSpec(
            name=str(client_metadata.get("client_name") or ""),
            auth_method=client_metadata.get("token_endpoint_auth_method", "client_secret_basic"),
            grant_types=client_metadata.get("grant_types", ["authorization_code"]),
            scope_purposes=purposes,
            redirect_uris=client_metadata.get("redirect_uris", []),
            jwks=client_metadata.get("jwks"),
            id_token_alg=str(data.get("id_token_signed_response_alg", "ES256")),
            post_logout_redirect_uris=logout_uris,
        )
        try:
            client, secret = self._clients.create(spec)
        except OAuthError as refused:
            if refused.code == "invalid_redirect_uri":
                raise InvalidRedirectURIError(refused.message) from None
            raise InvalidClientMetadataError(refused.message) from None
        request.issued_secret = secret
        return client

    def generate_client_registration_info(self, client: Client, request: Any) -> dict[str, Any]:
        info: dict[str, Any] = {
            "client_id": client.client_id,
            "scope_purposes": dict(client.scope_purposes),
            "id_token_signed_response_alg": client.id_token_alg,
            "token_endpoint_auth_method": client.auth_method,
            "grant_types": list(client.grant_types),
            "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        }
        if request.issued_secret is not None:
            info.update(client_secret=request.issued_secret, client_secret_expires_at=0)
        return info
