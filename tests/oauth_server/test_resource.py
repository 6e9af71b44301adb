"""The resource side's validator: RFC 9068 §4 checks, each refusal with its reason."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from oauth_server.errors import OAuthError
from oauth_server.keys import ACCESS_JWS_ALG
from oauth_server.parts import OAuthParts
from oauth_server.resource import AccessTokenValidator
from testkit.clock import SkippingClock
from testkit.oauth import ISSUER, basic, secret_client, token_claims


def platform_token(http: TestClient, oauth: OAuthParts, scope: str = "evidence:deposit") -> str:
    client = secret_client(oauth)
    form = {"grant_type": "client_credentials", "scope": scope}
    token: str = http.post("/oauth/token", data=form, headers=basic(*client)).json()["access_token"]
    return token


def refused(validator: AccessTokenValidator, token: str, match: str) -> OAuthError:
    with pytest.raises(OAuthError, match=match) as caught:
        validator.validate(token)
    assert caught.value.code == "invalid_token" and caught.value.status_code == 401
    assert caught.value.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    return caught.value


def test_a_token_for_another_audience_is_refused(http: TestClient, oauth: OAuthParts) -> None:
    token = platform_token(http, oauth)
    elsewhere = AccessTokenValidator(
        oauth.keys,
        oauth.ledger,
        issuer=ISSUER,
        audience="https://other-resource.test",
        platform_did_of=lambda _: None,
    )
    refused(elsewhere, token, "not meant for this hub")


def test_a_token_from_another_issuer_is_refused(http: TestClient, oauth: OAuthParts) -> None:
    token = platform_token(http, oauth)
    other = AccessTokenValidator(
        oauth.keys,
        oauth.ledger,
        issuer="https://idp.test",
        audience=ISSUER,
        platform_did_of=lambda _: None,
    )
    refused(other, token, "claims are invalid")


def test_insufficient_scope_is_403(http: TestClient, oauth: OAuthParts) -> None:
    token = platform_token(http, oauth, "evidence:read")
    with pytest.raises(OAuthError) as caught:
        oauth.validator.require(token, ["evidence:deposit"])
    assert caught.value.code == "insufficient_scope" and caught.value.status_code == 403
    assert oauth.validator.require(token, ["evidence:read"]).has("evidence:read")


def test_an_expired_token_is_refused(
    http: TestClient, oauth: OAuthParts, clock: SkippingClock
) -> None:
    token = platform_token(http, oauth)
    clock.advance(oauth.lifetimes.access_token + 60)
    refused(oauth.validator, token, "expired")


def test_a_tampered_token_is_refused(http: TestClient, oauth: OAuthParts) -> None:
    token = platform_token(http, oauth, "evidence:read")
    header, _payload, signature = token.split(".")
    claims = token_claims(token)
    claims["scope"] = "admin"
    forged_payload = jwt.encode({"alg": "ES256"}, claims, KeySet([ECKey.generate_key("P-256")]))
    refused(
        oauth.validator, f"{header}.{forged_payload.split('.')[1]}.{signature}", "not a JWT signed"
    )


def test_a_token_signed_by_another_key_or_alg_none_is_refused(
    http: TestClient, oauth: OAuthParts
) -> None:
    claims = token_claims(platform_token(http, oauth))
    stranger = KeySet([ECKey.generate_key("P-256", parameters={"kid": "x"})])
    forged = jwt.encode({"alg": "ES256", "typ": "at+jwt"}, claims, stranger)
    refused(oauth.validator, forged, "not a JWT signed")
    unsigned = ".".join(
        [
            "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0",  # {"alg":"none","typ":"at+jwt"}
            forged.split(".")[1],
            "",
        ]
    )
    refused(oauth.validator, unsigned, "not a JWT signed")


def test_an_id_token_shaped_jwt_is_not_an_access_token(http: TestClient, oauth: OAuthParts) -> None:
    claims = token_claims(platform_token(http, oauth))
    wrong_typ = oauth.keys.sign(ACCESS_JWS_ALG, claims, typ="JWT")
    refused(oauth.validator, wrong_typ, "typ is not at\\+jwt")


def test_a_token_the_hub_never_recorded_is_refused(http: TestClient, oauth: OAuthParts) -> None:
    claims = token_claims(platform_token(http, oauth))
    claims["jti"] = "never-issued"
    claims["exp"] = int(time.time()) + 60
    minted = oauth.keys.sign(ACCESS_JWS_ALG, claims, typ="at+jwt")
    refused(oauth.validator, minted, "no record")


def test_garbage_is_refused(oauth: OAuthParts) -> None:
    for token in ("", "a.b.c", "x" * 9000):
        refused(oauth.validator, token, "token")
