"""Revocation (RFC 7009): access tokens by jti, refresh tokens with their family."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from oauth_server.errors import OAuthError
from oauth_server.parts import OAuthParts
from testkit.oauth import REDIRECT, basic, pkce_pair, secret_client


def test_a_revoked_access_token_is_refused_by_the_validator(
    http: TestClient, oauth: OAuthParts
) -> None:
    client = secret_client(oauth)
    form = {"grant_type": "client_credentials"}
    token = http.post("/oauth/token", data=form, headers=basic(*client)).json()["access_token"]
    oauth.validator.validate(token)
    answer = http.post("/oauth/revoke", data={"token": token}, headers=basic(*client))
    assert answer.status_code == 200
    with pytest.raises(OAuthError, match="revoked"):
        oauth.validator.validate(token)


def test_revoking_a_refresh_token_revokes_its_family(http: TestClient, oauth: OAuthParts) -> None:
    client = secret_client(
        oauth, grant_types=("authorization_code", "refresh_token"), scopes=("openid",)
    )
    verifier, challenge = pkce_pair()
    code = oauth.codes.issue_code(
        oauth.clients.require(client[0]), "acct", ["openid"], REDIRECT, challenge, None
    ).code
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    tokens = http.post("/oauth/token", data=form, headers=basic(*client)).json()
    answer = http.post(
        "/oauth/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        headers=basic(*client),
    )
    assert answer.status_code == 200
    with pytest.raises(OAuthError, match="revoked"):
        oauth.validator.validate(tokens["access_token"])
    refreshed = http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(*client),
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_an_unknown_token_is_answered_200(http: TestClient, oauth: OAuthParts) -> None:
    client = secret_client(oauth)
    answer = http.post("/oauth/revoke", data={"token": "nothing"}, headers=basic(*client))
    assert answer.status_code == 200


def test_a_client_cannot_revoke_another_clients_token(http: TestClient, oauth: OAuthParts) -> None:
    owner, other = secret_client(oauth), secret_client(oauth)
    form = {"grant_type": "client_credentials"}
    token = http.post("/oauth/token", data=form, headers=basic(*owner)).json()["access_token"]
    answer = http.post("/oauth/revoke", data={"token": token}, headers=basic(*other))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert oauth.validator.validate(token).client_id == owner[0]
