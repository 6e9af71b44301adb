"""RFC 9068 JWT access tokens for the tests: an issuer and a validator over jwcrypto.

A real implementation of :class:`notary_hub.identity.TokenValidator` (signature, ``typ``,
issuer, audience, expiry all checked), standing in for the authorisation server's
``AccessTokenValidator`` while that lives on another branch. Person tokens carry the
account in ``acct``; client-credentials tokens the client's registered DID in
``platform_did``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException

from hub_kernel.errors import HubError
from oauth_server.caller import Caller

ISSUER = "https://hub.example.test"
AUDIENCE = "https://hub.example.test/api"


class TokenRefused(HubError):
    code = "invalid_token"
    status_code = 401


def new_key() -> Any:
    return jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=uuid.uuid4().hex)


@dataclass
class AccessTokens:
    """Issues tokens with ``key`` and validates them (``validate``: the protocol's method)."""

    key: Any = field(default_factory=new_key)
    audience: str = AUDIENCE
    validated: int = 0  # how many tokens reached validation

    def issue(
        self,
        scopes: str,
        *,
        client_id: str = "partner",
        account: str | None = None,
        platform_did: str | None = None,
        lifetime: int = 300,
        audience: str | None = None,
        key: Any = None,
        typ: str = "at+jwt",
        first_party: bool = False,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience or self.audience,
            "sub": account or client_id,
            "client_id": client_id,
            "scope": scopes,
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        if account is not None:
            claims["acct"] = account
        if platform_did is not None:
            claims["platform_did"] = platform_did
        if first_party:  # stands for the hub's own client (oauth_server.first_party)
            claims["first_party"] = True
        signer = key or self.key
        header = {"alg": "EdDSA", "typ": typ, "kid": signer.get("kid")}
        token = jwt.JWT(header=header, claims=claims)
        token.make_signed_token(signer)
        return str(token.serialize())

    def validate(self, token: str) -> Caller:
        self.validated += 1
        try:
            checked = jwt.JWT(
                jwt=token,
                key=self.key,
                algs=["EdDSA"],
                check_claims={"iss": ISSUER, "aud": self.audience, "exp": None},
                expected_type="JWS",
            )
        except (JWException, jws.InvalidJWSSignature, ValueError) as exc:
            raise TokenRefused(f"the access token is not valid: {type(exc).__name__}") from None
        header = json.loads(checked.header)
        if header.get("typ") != "at+jwt":  # RFC 9068 §4: no other JWT passes as one
            raise TokenRefused("not an RFC 9068 access token (typ)")
        claims = json.loads(checked.claims)
        account = claims.get("acct")
        return Caller(
            subject=claims["sub"],
            client_id=claims["client_id"],
            scopes=frozenset(claims["scope"].split()),
            account_id=account,
            platform_did=None if account else claims.get("platform_did"),
            kind="person" if account else "platform",
            first_party=claims.get("first_party") is True,
        )


class Accounts:
    """An account directory in memory (``oauth_server.accounts.AccountDirectory``'s shape)."""

    def __init__(self) -> None:
        self.dids: dict[str, str] = {}

    def did_of(self, account_id: str) -> str | None:
        return self.dids.get(account_id)

    def account_for_did(self, did: str) -> str:
        for account, linked in self.dids.items():
            if linked == did:
                return account
        account = uuid.uuid4().hex
        self.dids[account] = did
        return account
