"""The hub's OAuth signing keys and their JWKS (RFC 7517 §5), with rotation.

One active key per algorithm the hub signs with: ES256 for access tokens (RFC 9068),
and EdDSA, ES256 or RS256 for ID tokens as each client registered (OpenID Connect
Core 1.0 §10.1, "id_token_signed_response_alg" of OpenID Connect Dynamic Client
Registration 1.0 §2). Private keys are sealed in the hub's key store
(:mod:`hub_kernel.keystore`, AES-256-GCM bound to the key's name); the table keeps
the public JWK. Rotating retires the active key: it stays in the JWKS until every
token it signed has expired (``keep_retired`` seconds), then is dropped from the JWKS
and the key store. Keys are JOSE objects of ``joserfc``, the JOSE library Authlib
signs and verifies with.
https://www.rfc-editor.org/rfc/rfc7517#section-5
https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, KeySet, OKPKey, RSAKey, import_key
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub_kernel.keystore import KeyStore
from oauth_server.models import SigningKeyRow

ALGORITHMS = ("ES256", "EdDSA", "RS256")
ACCESS_JWS_ALG = "ES256"
_KTY = {"ES256": "EC", "EdDSA": "OKP", "RS256": "RSA"}
CACHE_SECONDS = 5.0  # how soon a rotation made by another process is seen


def _generate(alg: str, kid: str) -> ECKey | OKPKey | RSAKey:
    parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    if alg == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", parameters=parameters)
    return RSAKey.generate_key(2048, parameters=parameters)


def _store_name(kid: str) -> str:
    return f"oauth-{kid}"


class SigningKeys:
    """The hub's signing keys: the active one per algorithm, and the published JWKS."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        keystore: KeyStore,
        *,
        keep_retired: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._keystore = keystore
        self._keep_retired = keep_retired
        self._clock = clock
        self._lock = threading.Lock()
        self._active: dict[str, Any] = {}
        self._public: KeySet | None = None
        self._loaded_at = float("-inf")

    def ensure(self) -> None:
        """An active key for every algorithm, created where one is missing."""
        with self._sessions.begin() as session:
            have = set(
                session.scalars(select(SigningKeyRow.alg).where(SigningKeyRow.retired_at.is_(None)))
            )
            for alg in ALGORITHMS:
                if alg not in have:
                    self._create(session, alg)
        self._forget()

    def rotate(self, alg: str) -> str:
        """A new active key for ``alg``; the old one is published until its tokens expire."""
        if alg not in ALGORITHMS:
            raise ValueError(f"the hub signs with {', '.join(ALGORITHMS)}, not {alg}")
        now = int(self._clock())
        with self._sessions.begin() as session:
            session.execute(
                update(SigningKeyRow)
                .where(SigningKeyRow.alg == alg, SigningKeyRow.retired_at.is_(None))
                .values(retired_at=now, drop_at=now + self._keep_retired)
            )
            kid = self._create(session, alg)
        self._forget()
        return kid

    def drop_expired(self) -> list[str]:
        """Forget retired keys whose tokens have all expired; their kids."""
        now = int(self._clock())
        with self._sessions.begin() as session:
            kids = list(
                session.scalars(select(SigningKeyRow.kid).where(SigningKeyRow.drop_at <= now))
            )
            if kids:
                session.execute(delete(SigningKeyRow).where(SigningKeyRow.kid.in_(kids)))
        for kid in kids:
            if self._keystore.exists(_store_name(kid)):
                self._keystore.delete(_store_name(kid))
        if kids:
            self._forget()
        return kids

    def rows(self) -> list[SigningKeyRow]:
        """Every key's record: the active ones first, then the retired, newest first."""
        with self._sessions() as session:
            query = select(SigningKeyRow).order_by(
                SigningKeyRow.retired_at.is_not(None), SigningKeyRow.created_at.desc()
            )
            return list(session.scalars(query))

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set: active keys and retired ones not yet dropped."""
        return {"keys": [dict(key.as_dict(private=False)) for key in self.public_keys().keys]}

    def public_keys(self) -> KeySet:
        self._refresh()
        assert self._public is not None
        return self._public

    def signing_key(self, alg: str) -> KeySet:
        """The active private key for ``alg``, as a one-key set (so ``kid`` is in headers)."""
        self._refresh()
        key = self._active.get(alg)
        if key is None:
            raise LookupError(f"no active {alg} key: open_oauth_server creates them")
        return KeySet([key])

    def sign(self, alg: str, claims: Mapping[str, Any], *, typ: str = "JWT") -> str:
        """A compact JWS of ``claims`` by the active ``alg`` key (ID tokens, responses)."""
        header = {"alg": alg, "typ": typ}
        return jwt.encode(header, dict(claims), self.signing_key(alg), algorithms=[alg])

    def _create(self, session: Session, alg: str) -> str:
        kid = secrets.token_hex(12)
        key = _generate(alg, kid)
        self._keystore.put(_store_name(kid), key.as_pem(private=True), kind=f"oauth-{alg.lower()}")
        session.add(
            SigningKeyRow(
                kid=kid,
                alg=alg,
                public_jwk=dict(key.as_dict(private=False)),
                created_at=int(self._clock()),
            )
        )
        return kid

    def _forget(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def _refresh(self) -> None:
        now = self._clock()
        with self._lock:
            if now - self._loaded_at < CACHE_SECONDS:
                return
            with self._sessions() as session:
                rows = list(session.scalars(select(SigningKeyRow)))
            published = [row for row in rows if row.drop_at is None or row.drop_at > int(now)]
            self._public = KeySet([import_key(dict(row.public_jwk)) for row in published])
            # A key is immutable under its kid: one already loaded is kept, not read and
            # parsed again (an RSA private key's import costs tens of milliseconds).
            loaded = {key.kid: key for key in self._active.values()}
            active: dict[str, Any] = {}
            for row in rows:
                if row.retired_at is None:
                    active[row.alg] = loaded.get(row.kid) or self._load(row)
            self._active = active
            self._loaded_at = now

    def _load(self, row: SigningKeyRow) -> Any:
        pem = self._keystore.get(_store_name(row.kid))
        params: KeyParameters = {"kid": row.kid, "alg": row.alg, "use": "sig"}
        return import_key(pem, _KTY[row.alg], parameters=params)  # type: ignore[call-overload]
