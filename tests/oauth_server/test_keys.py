"""Signing keys: rotation keeps a retired key published until its tokens expire."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.errors import OAuthError
from oauth_server.keys import ACCESS_JWS_ALG
from oauth_server.models import SigningKeyRow
from oauth_server.parts import OAuthParts
from testkit.clock import SkippingClock
from testkit.oauth import basic, secret_client


def kids(http: TestClient) -> set[str]:
    return {key["kid"] for key in http.get("/oauth/jwks").json()["keys"]}


def test_a_retired_key_is_published_until_its_tokens_expire_then_dropped(
    http: TestClient, oauth: OAuthParts, clock: SkippingClock
) -> None:
    client = secret_client(oauth)
    form = {"grant_type": "client_credentials"}
    old_token = http.post("/oauth/token", data=form, headers=basic(*client)).json()["access_token"]
    before = kids(http)
    new_kid = oauth.keys.rotate(ACCESS_JWS_ALG)
    after = kids(http)
    assert after == before | {new_kid}, "the retired key stays published"
    new_token = http.post("/oauth/token", data=form, headers=basic(*client)).json()["access_token"]
    assert oauth.validator.validate(old_token).client_id == client[0]
    assert oauth.validator.validate(new_token).client_id == client[0]

    assert oauth.keys.drop_expired() == [], "nothing is dropped while its tokens may live"
    clock.advance(oauth.lifetimes.access_token + 301)
    dropped = oauth.keys.drop_expired()
    assert len(dropped) == 1 and dropped[0] in before
    assert kids(http) == after - set(dropped)
    with pytest.raises(OAuthError):
        oauth.validator.validate(old_token)


def test_private_keys_are_sealed_in_the_key_store_not_the_database(
    oauth: OAuthParts, sessions: sessionmaker[Session]
) -> None:
    with sessions() as session:
        rows = list(session.scalars(select(SigningKeyRow)))
    assert {row.alg for row in rows} == {"ES256", "EdDSA", "RS256"}
    for row in rows:
        assert not {"d", "p", "q"} & set(row.public_jwk)


def test_rotation_refuses_an_unknown_algorithm(oauth: OAuthParts) -> None:
    with pytest.raises(ValueError, match="HS256"):
        oauth.keys.rotate("HS256")


def test_each_algorithm_signs_and_the_jwks_verifies(oauth: OAuthParts) -> None:
    from joserfc import jwt

    for alg in ("ES256", "EdDSA", "RS256"):
        token = oauth.keys.sign(alg, {"sub": "x"})
        decoded = jwt.decode(token, oauth.keys.public_keys(), algorithms=[alg])
        assert decoded.claims == {"sub": "x"}
