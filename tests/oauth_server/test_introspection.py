"""Introspection (RFC 7662): active and inactive tokens, only for authenticated clients."""

from __future__ import annotations

from fastapi.testclient import TestClient

from oauth_server.parts import OAuthParts
from testkit.clock import SkippingClock
from testkit.oauth import ISSUER, basic, secret_client


def issued(http: TestClient, client: tuple[str, str]) -> str:
    form = {"grant_type": "client_credentials", "scope": "evidence:read"}
    token: str = http.post("/oauth/token", data=form, headers=basic(*client)).json()["access_token"]
    return token


def test_an_active_token_is_described(http: TestClient, oauth: OAuthParts) -> None:
    client = secret_client(oauth)
    token = issued(http, client)
    answer = http.post("/oauth/introspect", data={"token": token}, headers=basic(*client))
    assert answer.status_code == 200
    body = answer.json()
    assert body["active"] is True
    assert body["client_id"] == client[0] and body["scope"] == "evidence:read"
    assert body["iss"] == ISSUER and body["aud"] == ISSUER and body["sub"] == client[0]
    assert body["exp"] > body["iat"]


def test_inactive_tokens_say_nothing_more(
    http: TestClient, oauth: OAuthParts, clock: SkippingClock
) -> None:
    client = secret_client(oauth)
    token = issued(http, client)
    for probe in ("not-a-token", token[:-4] + "AAAA"):
        body = http.post("/oauth/introspect", data={"token": probe}, headers=basic(*client)).json()
        assert body == {"active": False}
    revoked = issued(http, client)
    http.post("/oauth/revoke", data={"token": revoked}, headers=basic(*client))
    assert http.post(
        "/oauth/introspect", data={"token": revoked}, headers=basic(*client)
    ).json() == {"active": False}
    clock.advance(oauth.lifetimes.access_token + 1)
    assert http.post("/oauth/introspect", data={"token": token}, headers=basic(*client)).json() == {
        "active": False
    }


def test_another_clients_token_reads_inactive(http: TestClient, oauth: OAuthParts) -> None:
    owner, other = secret_client(oauth), secret_client(oauth)
    token = issued(http, owner)
    body = http.post("/oauth/introspect", data={"token": token}, headers=basic(*other)).json()
    assert body == {"active": False}
    staff = secret_client(oauth, scopes=("admin",))
    assert http.post("/oauth/introspect", data={"token": token}, headers=basic(*staff)).json()[
        "active"
    ]


def test_introspection_needs_an_authenticated_client(http: TestClient, oauth: OAuthParts) -> None:
    client = secret_client(oauth)
    token = issued(http, client)
    anonymous = http.post("/oauth/introspect", data={"token": token})
    assert anonymous.status_code in (400, 401)
    assert anonymous.json()["error"] == "invalid_client"
    wrong = http.post("/oauth/introspect", data={"token": token}, headers=basic(client[0], "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
