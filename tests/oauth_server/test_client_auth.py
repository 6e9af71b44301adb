"""Client authentication: client_secret_basic, client_secret_post, private_key_jwt with
its jti replay cache, none for public clients; one method per request."""

from __future__ import annotations

import time
import uuid

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from oauth_server.clients import ClientSpec
from oauth_server.parts import OAuthParts
from testkit.oauth import (
    ISSUER,
    REDIRECT,
    basic,
    key_client,
    pkce_pair,
    secret_client,
)

CC = {"grant_type": "client_credentials"}


def test_client_secret_basic(http: TestClient, oauth: OAuthParts) -> None:
    client = secret_client(oauth)
    assert http.post("/oauth/token", data=CC, headers=basic(*client)).status_code == 200
    wrong = http.post("/oauth/token", data=CC, headers=basic(client[0], "not-the-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_client_secret_post(http: TestClient, oauth: OAuthParts) -> None:
    client_id, secret = secret_client(oauth, auth_method="client_secret_post")
    form = {**CC, "client_id": client_id, "client_secret": secret}
    assert http.post("/oauth/token", data=form).status_code == 200
    # Registered for post: the same secret over Basic is not accepted.
    assert http.post("/oauth/token", data=CC, headers=basic(client_id, secret)).status_code == 401


def test_private_key_jwt(http: TestClient, oauth: OAuthParts) -> None:
    client = key_client(oauth)
    answer = http.post("/oauth/token", data=client.form(**CC))
    assert answer.status_code == 200, answer.text
    assert oauth.validator.validate(answer.json()["access_token"]).client_id == client.client_id


def test_private_key_jwt_refuses_a_replayed_jti(http: TestClient, oauth: OAuthParts) -> None:
    client = key_client(oauth)
    form = client.form(**CC)
    assert http.post("/oauth/token", data=form).status_code == 200
    replay = http.post("/oauth/token", data=form)
    assert replay.status_code in (400, 401)
    assert replay.json()["error"] == "invalid_client"
    assert "used before" in replay.json()["error_description"]


def test_private_key_jwt_refuses_another_key_audience_or_a_long_life(
    http: TestClient, oauth: OAuthParts
) -> None:
    client = key_client(oauth)
    now = int(time.time())

    def assertion(key: ECKey, **claims: object) -> dict[str, str]:
        base = {
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": ISSUER + "/oauth/token",
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        token = jwt.encode({"alg": "ES256"}, base, KeySet([key]))
        return {
            **CC,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": token,
        }

    stranger = ECKey.generate_key("P-256")
    for form in (
        assertion(stranger),
        assertion(client.key, aud="https://elsewhere.test/token"),
        assertion(client.key, exp=now + 3600),
        assertion(client.key, exp=now - 600),
    ):
        answer = http.post("/oauth/token", data=form)
        assert answer.json()["error"] == "invalid_client", answer.text


def test_a_public_client_authenticates_with_its_id_alone_for_the_code_grant(
    http: TestClient, oauth: OAuthParts
) -> None:
    public, secret = oauth.clients.create(
        ClientSpec(
            name="App",
            auth_method="none",
            grant_types=["authorization_code"],
            scope_purposes={"openid": "sign in"},
            redirect_uris=[REDIRECT],
        )
    )
    assert secret is None
    verifier, challenge = pkce_pair()
    code = oauth.codes.issue_code(public, "acct", ["openid"], REDIRECT, challenge, None).code
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": public.client_id,
    }
    answer = http.post("/oauth/token", data=form)
    assert answer.status_code == 200, answer.text
    assert "refresh_token" not in answer.json()  # it did not register the refresh grant


def test_a_confidential_client_cannot_skip_authentication(
    http: TestClient, oauth: OAuthParts
) -> None:
    client_id, _ = secret_client(oauth)
    answer = http.post("/oauth/token", data={**CC, "client_id": client_id})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_two_authentication_methods_at_once_are_refused(
    http: TestClient, oauth: OAuthParts
) -> None:
    client_id, secret = secret_client(oauth)
    form = {**CC, "client_id": client_id, "client_secret": secret}
    answer = http.post("/oauth/token", data=form, headers=basic(client_id, secret))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_a_repeated_parameter_is_refused(http: TestClient, oauth: OAuthParts) -> None:
    client = secret_client(oauth)
    body = "grant_type=client_credentials&scope=evidence%3Aread&scope=evidence%3Adeposit"
    answer = http.post(
        "/oauth/token",
        content=body,
        headers={**basic(*client), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "parameter scope is repeated",
    }


def test_the_token_endpoint_takes_only_forms(http: TestClient, oauth: OAuthParts) -> None:
    client = secret_client(oauth)
    answer = http.post("/oauth/token", json=CC, headers=basic(*client))
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
