"""Dynamic client registration (RFC 7591), gated by a staff-issued initial access token."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from oauth_server.parts import OAuthParts
from testkit.clock import SkippingClock
from testkit.oauth import REDIRECT, basic

METADATA: dict[str, Any] = {
    "client_name": "Partner platform",
    "redirect_uris": [REDIRECT],
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "client_secret_basic",
    "scope": "openid evidence:deposit",
    "scope_purposes": {"openid": "sign you in", "evidence:deposit": "file your contracts"},
    "id_token_signed_response_alg": "EdDSA",
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_registration_with_an_initial_token_creates_a_working_client(
    http: TestClient, oauth: OAuthParts
) -> None:
    initial = oauth.initial_tokens.issue("partner A", 3600)
    answer = http.post("/oauth/register", json=METADATA, headers=bearer(initial))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["client_secret"] and body["client_id"]
    assert body["scope_purposes"] == METADATA["scope_purposes"]
    assert body["id_token_signed_response_alg"] == "EdDSA"
    client = oauth.clients.require(body["client_id"])
    assert client.redirect_uris == (REDIRECT,) and client.platform_did is None
    token = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "evidence:deposit"},
        headers=basic(body["client_id"], body["client_secret"]),
    )
    assert token.status_code == 200, token.text


def test_registration_without_a_valid_initial_token_is_refused(
    http: TestClient, oauth: OAuthParts, clock: SkippingClock
) -> None:
    none = http.post("/oauth/register", json=METADATA)
    assert none.status_code == 401 and none.json()["error"] == "invalid_token"
    assert http.post("/oauth/register", json=METADATA, headers=bearer("guess")).status_code == 401
    initial = oauth.initial_tokens.issue("once", 3600)
    assert http.post("/oauth/register", json=METADATA, headers=bearer(initial)).status_code == 201
    again = http.post("/oauth/register", json=METADATA, headers=bearer(initial))
    assert again.status_code == 401, "an initial access token works once"
    late = oauth.initial_tokens.issue("late", 60)
    clock.advance(61)
    assert http.post("/oauth/register", json=METADATA, headers=bearer(late)).status_code == 401


def test_bad_metadata_is_refused_with_the_reason(http: TestClient, oauth: OAuthParts) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"redirect_uris": ["http://platform.test/cb"]}, "invalid_redirect_uri"),
        # Authlib's metadata check names a fragment an invalid claim.
        ({"redirect_uris": ["https://platform.test/cb#frag"]}, "invalid_client_metadata"),
        ({"scope_purposes": {"openid": "x"}}, "invalid_client_metadata"),
        ({"grant_types": ["implicit"]}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "client_secret_jwt"}, "invalid_client_metadata"),
        (
            {"scope": "openid admin", "scope_purposes": {"openid": "a", "admin": "b"}},
            "invalid_client_metadata",
        ),
        ({"scope_purposes": {"credentials:issue": "b"}, "scope": None}, "invalid_client_metadata"),
        ({"post_logout_redirect_uris": "https://platform.test/bye"}, "invalid_client_metadata"),
        ({"post_logout_redirect_uris": ["http://platform.test/bye"]}, "invalid_redirect_uri"),
    ]
    for change, error in cases:
        initial = oauth.initial_tokens.issue("t", 3600)
        answer = http.post("/oauth/register", json={**METADATA, **change}, headers=bearer(initial))
        assert answer.status_code == 400, (change, answer.text)
        if error is not None:
            assert answer.json()["error"] == error, (change, answer.text)


def test_a_platform_did_cannot_be_self_asserted(http: TestClient, oauth: OAuthParts) -> None:
    initial = oauth.initial_tokens.issue("t", 3600)
    metadata = {**METADATA, "platform_did": "did:web:victim.test"}
    body = http.post("/oauth/register", json=metadata, headers=bearer(initial)).json()
    assert oauth.clients.require(body["client_id"]).platform_did is None


def test_a_client_registers_where_logout_returns(http: TestClient, oauth: OAuthParts) -> None:
    initial = oauth.initial_tokens.issue("t", 3600)
    metadata = {**METADATA, "post_logout_redirect_uris": ["https://platform.test/bye"]}
    answer = http.post("/oauth/register", json=metadata, headers=bearer(initial))
    assert answer.status_code == 201, answer.text
    assert answer.json()["post_logout_redirect_uris"] == ["https://platform.test/bye"]
    client = oauth.clients.require(answer.json()["client_id"])
    assert client.check_post_logout_redirect_uri("https://platform.test/bye")
    assert not client.check_post_logout_redirect_uri("https://platform.test/bye/")
