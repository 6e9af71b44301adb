"""OAuth helpers shared by the tests and the benchmarks: an app serving only the
authorisation server, PKCE pairs, private_key_jwt assertions, registered clients."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.orm import Session, sessionmaker

from hub_kernel.keystore import MemoryKeyStore
from notary_hub.errors import install_error_handlers
from oauth_server.access_tokens import Lifetimes
from oauth_server.clients import ClientSpec
from oauth_server.parts import OAuthParts, open_oauth_server
from oauth_server.router import oauth_router

ISSUER = "https://hub.test"
REDIRECT = "https://platform.test/callback"


def open_test_oauth(
    sessions: sessionmaker[Session],
    *,
    clock: Callable[[], float] = time.time,
    lifetimes: Lifetimes | None = None,
    rate: float = 10_000.0,
    burst: int = 10_000,
    revocation_cache_seconds: float = 0.0,
) -> OAuthParts:
    return open_oauth_server(
        sessions=sessions,
        keystore=MemoryKeyStore(),
        issuer=ISSUER,
        audience=ISSUER,
        lifetimes=lifetimes or Lifetimes(),
        token_rate=rate,
        token_burst=burst,
        revocation_cache_seconds=revocation_cache_seconds,
        clock=clock,
    )


def oauth_app(parts: OAuthParts) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(oauth_router(parts))
    return app


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


@dataclass(frozen=True)
class KeyClient:
    """A client authenticating with private_key_jwt."""

    client_id: str
    key: ECKey

    def assertion(self, audience: str = ISSUER + "/oauth/token", jti: str | None = None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": jti or uuid.uuid4().hex,
        }
        return jwt.encode({"alg": "ES256"}, claims, KeySet([self.key]))

    def form(self, **params: str) -> dict[str, str]:
        return {
            **params,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(),
        }


def key_client(parts: OAuthParts, scopes: Sequence[str] = ("evidence:deposit",)) -> KeyClient:
    key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    client, _ = parts.clients.create(
        ClientSpec(
            name="Key platform",
            auth_method="private_key_jwt",
            grant_types=["client_credentials"],
            scope_purposes={scope: "because" for scope in scopes},
            jwks={"keys": [dict(key.as_dict(private=False))]},
        )
    )
    return KeyClient(client.client_id, key)


def secret_client(
    parts: OAuthParts,
    *,
    auth_method: str = "client_secret_basic",
    grant_types: Sequence[str] = ("client_credentials",),
    scopes: Sequence[str] = ("evidence:deposit", "evidence:read"),
    platform_did: str | None = "did:web:platform.test",
) -> tuple[str, str]:
    client, secret = parts.clients.create(
        ClientSpec(
            name="Platform",
            auth_method=auth_method,
            grant_types=list(grant_types),
            scope_purposes={scope: f"to {scope}" for scope in scopes},
            redirect_uris=[REDIRECT] if "authorization_code" in grant_types else [],
            platform_did=platform_did,
        )
    )
    assert secret is not None
    return client.client_id, secret


def basic(client_id: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def token_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded
