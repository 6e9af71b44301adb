"""Registered OAuth clients (RFC 6749 §2, RFC 7591 §2 metadata) and their secrets.

A confidential client's secret is 256 random bits (RFC 6749 §10.10: a credential an
attacker cannot guess); only its SHA-256 is stored, compared in constant time, so the
database never holds a usable secret. Redirect URIs are matched exactly (RFC 9700
§2.1, §4.1.3): https, or http on a loopback address (RFC 8252 §7.3), no fragment.
Each client names a purpose for every scope it may ask for (issue 13 item 7), the
algorithm of its ID tokens, a platform DID (the depositor of its client-credentials
deposits) and a sector identifier (its pairwise subjects, OpenID Connect Core §8.1).
https://www.rfc-editor.org/rfc/rfc7591#section-2
https://www.rfc-editor.org/rfc/rfc9700#section-4.1.3
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.errors import OAuthError
from oauth_server.keys import ALGORITHMS
from oauth_server.models import ClientRow, TokenRow
from oauth_server.scopes import check_scopes

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", DEVICE_CODE)
SECRET_BYTES = 32  # 256 bits
MAX_PURPOSE_CHARS = 300
LOOPBACK = ("127.0.0.1", "::1", "localhost")
MAX_CACHED = 10_000


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def check_redirect_uri(uri: str) -> str:
    """A redirect URI a client may register: absolute, https or loopback http, no fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise OAuthError("invalid_redirect_uri", f"{uri!r} is not a URI") from None
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
    if not parts.hostname or not secure or parts.fragment or "#" in uri:
        raise OAuthError(
            "invalid_redirect_uri",
            f"{uri!r}: a redirect URI is https (http only on loopback), with no fragment",
        )
    if parts.username is not None or parts.password is not None:
        raise OAuthError("invalid_redirect_uri", f"{uri!r}: no userinfo in a redirect URI")
    return uri


@dataclass(frozen=True)
class ClientSpec:
    """What a client registers; :meth:`ClientStore.create` checks it whole."""

    name: str
    auth_method: str
    grant_types: Sequence[str]
    scope_purposes: Mapping[str, str]
    redirect_uris: Sequence[str] = ()
    jwks: Mapping[str, Any] | None = None
    id_token_alg: str = "ES256"  # noqa: S105 (an algorithm's name)
    platform_did: str | None = None
    sector_identifier: str | None = None
    post_logout_redirect_uris: Sequence[str] = ()


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    """A registered client, as Authlib's grants and endpoints ask about it."""

    client_id: str
    name: str
    auth_method: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    scope_purposes: Mapping[str, str]
    id_token_alg: str
    platform_did: str | None
    sector_identifier: str
    jwks: Mapping[str, Any] | None
    created_at: int
    post_logout_redirect_uris: tuple[str, ...] = ()
    _secret_hash: bytes | None = field(default=None, repr=False)

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.scope_purposes)

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # RFC 9700 §4.1.3: a request always names its redirect URI; none is implied.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes if all are registered (the client's scopes if none asked);
        ``None`` (Authlib: ``invalid_scope``) if any is not."""
        if not scope:
            return " ".join(self.scopes)
        asked = scope.split()
        if not set(asked) <= set(self.scopes):
            return None
        return " ".join(dict.fromkeys(asked))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact string comparison: no prefix, suffix, case or normalisation games.
        return any(hmac.compare_digest(redirect_uri, uri) for uri in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self._secret_hash is None or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(secret_digest(client_secret), self._secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    def check_post_logout_redirect_uri(self, uri: str) -> bool:
        return any(hmac.compare_digest(uri, known) for known in self.post_logout_redirect_uris)

    def purpose_of(self, scope: str) -> str:
        return self.scope_purposes[scope]


def _client(row: ClientRow) -> Client:
    sector = row.sector_identifier or _default_sector(row.redirect_uris, row.client_id)
    return Client(
        client_id=row.client_id,
        name=row.name,
        auth_method=row.auth_method,
        redirect_uris=tuple(row.redirect_uris),
        grant_types=tuple(row.grant_types),
        scope_purposes=dict(row.scope_purposes),
        id_token_alg=row.id_token_alg,
        platform_did=row.platform_did,
        sector_identifier=sector,
        jwks=row.jwks,
        created_at=row.created_at,
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris or ()),
        _secret_hash=row.secret_hash,
    )


def _default_sector(redirect_uris: Sequence[str], client_id: str) -> str:
    # OpenID Connect Core §8.1: the host of the redirect URIs when they share one.
    hosts = {urlsplit(uri).hostname for uri in redirect_uris}
    if len(hosts) == 1:
        (host,) = hosts
        if host:
            return host
    return f"client:{client_id}"


def check_spec(spec: ClientSpec) -> None:
    """Refuse a registration that could not be used safely, with the reason."""
    if not spec.name.strip() or len(spec.name) > 200:
        raise OAuthError("invalid_client_metadata", "a client's name is 1 to 200 characters")
    if spec.auth_method not in AUTH_METHODS:
        raise OAuthError(
            "invalid_client_metadata",
            f"token_endpoint_auth_method is one of {', '.join(AUTH_METHODS)}",
        )
    grants = set(spec.grant_types)
    if not grants or not grants <= set(GRANT_TYPES):
        raise OAuthError(
            "invalid_client_metadata", f"grant_types are among {', '.join(GRANT_TYPES)}"
        )
    if spec.auth_method == "none" and "client_credentials" in grants:
        raise OAuthError("invalid_client_metadata", "a public client cannot use client credentials")
    if "authorization_code" in grants and not spec.redirect_uris:
        raise OAuthError("invalid_redirect_uri", "the code grant needs a redirect URI")
    for uri in (*spec.redirect_uris, *spec.post_logout_redirect_uris):
        check_redirect_uri(uri)
    if spec.auth_method == "private_key_jwt" and not (spec.jwks and spec.jwks.get("keys")):
        raise OAuthError("invalid_client_metadata", "private_key_jwt needs the client's jwks")
    if spec.id_token_alg not in ALGORITHMS:
        raise OAuthError(
            "invalid_client_metadata",
            f"id_token_signed_response_alg is one of {', '.join(ALGORITHMS)}",
        )
    check_scopes(spec.scope_purposes)
    for scope, purpose in spec.scope_purposes.items():
        if not purpose.strip() or len(purpose) > MAX_PURPOSE_CHARS:
            raise OAuthError(
                "invalid_client_metadata",
                f"scope {scope} needs a purpose of 1 to {MAX_PURPOSE_CHARS} characters",
            )


class ClientStore:
    """The registered clients. ``get`` answers from a cache for ``cache_seconds`` (a
    change made through this store clears it at once; one made by another process, such
    as ``notary-hub clients``, applies within that time). Unknown ids are never cached."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Client]] = {}
        self._lock = threading.Lock()

    def create(
        self, spec: ClientSpec, *, client_id: str | None = None
    ) -> tuple[Client, str | None]:
        """The new client and its secret (shown once; ``None`` for other auth methods)."""
        check_spec(spec)
        client_id = client_id or secrets.token_urlsafe(18)
        secret = None
        if spec.auth_method in ("client_secret_basic", "client_secret_post"):
            secret = secrets.token_urlsafe(SECRET_BYTES)
        row = ClientRow(
            client_id=client_id,
            secret_hash=secret_digest(secret) if secret else None,
            name=spec.name,
            auth_method=spec.auth_method,
            redirect_uris=list(spec.redirect_uris),
            grant_types=list(dict.fromkeys(spec.grant_types)),
            scope_purposes=dict(spec.scope_purposes),
            jwks=dict(spec.jwks) if spec.jwks else None,
            id_token_alg=spec.id_token_alg,
            platform_did=spec.platform_did,
            sector_identifier=spec.sector_identifier,
            post_logout_redirect_uris=list(spec.post_logout_redirect_uris) or None,
            created_at=int(self._clock()),
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return _client(row), secret

    def ensure(self, client_id: str, spec: ClientSpec) -> Client:
        """The client ``client_id`` registered as ``spec``: created if missing, else its
        metadata set to ``spec`` (for the hub's own clients, whose ids are fixed). No
        secret is made here: the hub's own clients are public or sign their assertions.
        Two hubs starting on one database at once: the second insert fails, then updates."""
        check_spec(spec)
        try:
            client = self._ensure(client_id, spec)
        except IntegrityError:
            client = self._ensure(client_id, spec)
        self._forget(client_id)
        return client

    def _ensure(self, client_id: str, spec: ClientSpec) -> Client:
        with self._sessions.begin() as session:
            row = session.get(ClientRow, client_id)
            if row is None:
                row = ClientRow(client_id=client_id, created_at=int(self._clock()))
                session.add(row)
            row.name = spec.name
            row.auth_method = spec.auth_method
            row.redirect_uris = list(spec.redirect_uris)
            row.grant_types = list(dict.fromkeys(spec.grant_types))
            row.scope_purposes = dict(spec.scope_purposes)
            row.jwks = dict(spec.jwks) if spec.jwks else None
            row.id_token_alg = spec.id_token_alg
            row.platform_did = spec.platform_did
            row.sector_identifier = spec.sector_identifier
            row.post_logout_redirect_uris = list(spec.post_logout_redirect_uris) or None
            session.flush()
            return _client(row)

    def get(self, client_id: str) -> Client | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(client_id)
        if hit is not None and now - hit[0] < self._cache_seconds:
            return hit[1]
        with self._sessions() as session:
            row = session.get(ClientRow, client_id)
            client = _client(row) if row is not None else None
        with self._lock:
            if client is None:
                self._cache.pop(client_id, None)
            elif self._cache_seconds > 0:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[client_id] = (now, client)
        return client

    def platform_did(self, client_id: str) -> str | None:
        """The DID registered with ``client_id`` (its client-credentials depositor)."""
        client = self.get(client_id)
        return client.platform_did if client is not None else None

    def _forget(self, client_id: str) -> None:
        with self._lock:
            self._cache.pop(client_id, None)

    def require(self, client_id: str) -> Client:
        client = self.get(client_id)
        if client is None:
            raise OAuthError("not_found", f"no client {client_id}", status_code=404)
        return client

    def list(self) -> list[Client]:
        with self._sessions() as session:
            rows = session.scalars(select(ClientRow).order_by(ClientRow.created_at))
            return [_client(row) for row in rows]

    def rotate_secret(self, client_id: str) -> str:
        """A new secret; the old one stops working at once."""
        secret = secrets.token_urlsafe(SECRET_BYTES)
        with self._sessions.begin() as session:
            row = session.get(ClientRow, client_id)
            if row is None:
                raise OAuthError("not_found", f"no client {client_id}", status_code=404)
            if row.secret_hash is None:
                raise OAuthError(
                    "invalid_request", f"client {client_id} authenticates without a secret"
                )
            row.secret_hash = secret_digest(secret)
            row.secret_rotated_at = int(self._clock())
        self._forget(client_id)
        return secret

    def delete(self, client_id: str) -> None:
        """Remove the client and revoke every token issued to it."""
        with self._sessions.begin() as session:
            gone = session.execute(delete(ClientRow).where(ClientRow.client_id == client_id))
            if getattr(gone, "rowcount", 0) != 1:
                raise OAuthError("not_found", f"no client {client_id}", status_code=404)
            # A deleted client's tokens stop working with it.
            session.execute(
                update(TokenRow)
                .where(TokenRow.client_id == client_id, TokenRow.revoked_at.is_(None))
                .values(revoked_at=int(self._clock()))
            )
        self._forget(client_id)
