"""``open_signin``: the wallet sign-in, opened once with what it needs.

The request-object key is an Ed25519 key kept in the hub's key store
(:mod:`hub_kernel.keystore`, encrypted at rest), made on first start; Engineer A's
OAuth key set (JWKS with rotation) takes it over when the two are integrated.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwcrypto.jwk import JWK
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.rpc_limits import RateLimiter
from credentials.verifier import Verifier
from hub_kernel.keystore import KeyStore
from oauth_server.accounts import AccountStore
from oauth_server.signin import SigninService

REQUEST_KEY = "signin-request-ed25519"
REQUEST_KEY_KIND = "ed25519"


@dataclass(frozen=True)
class SigninLimits:
    """Requests live ``request_seconds``, sessions ``session_seconds``; per client IP,
    ``rate`` sign-ins (and as many responses) a second after a ``burst``."""

    request_seconds: int = 300
    session_seconds: int = 8 * 3600
    rate: float = 1.0
    burst: int = 20


@dataclass(frozen=True)
class SigninParts:
    accounts: AccountStore
    service: SigninService
    start_limit: RateLimiter
    response_limit: RateLimiter


def request_key(keystore: KeyStore, created: list[str] | None = None) -> JWK:
    """The hub's request-object signing key, made and stored on first use."""
    if not keystore.exists(REQUEST_KEY):
        secret = Ed25519PrivateKey.generate().private_bytes_raw()
        keystore.put(REQUEST_KEY, secret, kind=REQUEST_KEY_KIND)
        if created is not None:
            created.append(f"sign-in request key {REQUEST_KEY}")
    private = Ed25519PrivateKey.from_private_bytes(keystore.get(REQUEST_KEY))
    return JWK.from_pyca(private)


def open_signin(
    *,
    sessions: sessionmaker[Session],
    verifier: Verifier,
    keystore: KeyStore,
    origin: str,
    limits: SigninLimits,
    created: list[str] | None = None,
) -> SigninParts:
    accounts = AccountStore(sessions)
    service = SigninService(
        sessions,
        accounts,
        verifier,
        request_key(keystore, created),
        origin=origin,
        request_lifetime=limits.request_seconds,
        session_lifetime=limits.session_seconds,
    )
    return SigninParts(
        accounts,
        service,
        RateLimiter(limits.rate, limits.burst),
        RateLimiter(limits.rate, limits.burst),
    )
