"""Pushed authorisation requests (RFC 9126): checked, stored, used once, short-lived."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from oauth_server.errors import OAuthError
from oauth_server.parts import OAuthParts
from testkit.clock import SkippingClock
from testkit.oauth import REDIRECT, basic, pkce_pair, secret_client


def client_of(oauth: OAuthParts) -> tuple[str, str]:
    return secret_client(oauth, grant_types=("authorization_code",), scopes=("openid",))


def request_form(**change: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s",
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
        **change,
    }


def test_a_pushed_request_is_taken_once(http: TestClient, oauth: OAuthParts) -> None:
    client = client_of(oauth)
    answer = http.post("/oauth/par", data=request_form(), headers=basic(*client))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert 0 < body["expires_in"] <= 90
    params = dict(oauth.pushed.take(body["request_uri"], client[0]))
    assert params["redirect_uri"] == REDIRECT and params["client_id"] == client[0]
    assert "client_secret" not in params
    with pytest.raises(OAuthError, match="already used") as again:
        oauth.pushed.take(body["request_uri"], client[0])
    assert again.value.code == "invalid_request_uri"


def test_a_pushed_request_expires_and_belongs_to_its_client(
    http: TestClient, oauth: OAuthParts, clock: SkippingClock
) -> None:
    client, other = client_of(oauth), client_of(oauth)
    uri = http.post("/oauth/par", data=request_form(), headers=basic(*client)).json()["request_uri"]
    with pytest.raises(OAuthError, match="unknown to this client"):
        oauth.pushed.take(uri, other[0])
    clock.advance(oauth.pushed.lifetime + 1)
    with pytest.raises(OAuthError, match="expired"):
        oauth.pushed.take(uri, client[0])


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"redirect_uri": REDIRECT + "x"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "admin"}, "invalid_scope"),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:x"}, "invalid_request"),
    ],
)
def test_a_bad_pushed_request_is_refused(
    http: TestClient, oauth: OAuthParts, change: dict[str, str], error: str
) -> None:
    client = client_of(oauth)
    answer = http.post("/oauth/par", data=request_form(**change), headers=basic(*client))
    assert answer.status_code == 400 and answer.json()["error"] == error, answer.text


def test_pushing_needs_client_authentication(http: TestClient, oauth: OAuthParts) -> None:
    client = client_of(oauth)
    answer = http.post("/oauth/par", data=request_form(client_id=client[0]))
    assert answer.status_code in (400, 401) and answer.json()["error"] == "invalid_client"
