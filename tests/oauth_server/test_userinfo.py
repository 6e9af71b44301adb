"""UserInfo (OpenID Connect Core §5.3): a person's openid token, the granted claims only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from oauth_server.clients import ClientSpec
from oauth_server.parts import OAuthParts
from testkit.oauth import REDIRECT, basic, pkce_pair, secret_client


def person_token(http: TestClient, oauth: OAuthParts, scopes: list[str]) -> str:
    client, secret = oauth.clients.create(
        ClientSpec(
            name="RP",
            auth_method="client_secret_basic",
            grant_types=["authorization_code"],
            scope_purposes={scope: "why" for scope in scopes},
            redirect_uris=[REDIRECT],
        )
    )
    assert secret is not None
    verifier, challenge = pkce_pair()
    code = oauth.codes.issue_code(client, "acct-7", scopes, REDIRECT, challenge, None).code
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    answer = http.post("/oauth/token", data=form, headers=basic(client.client_id, secret))
    token: str = answer.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_userinfo_answers_the_granted_claims_only(http: TestClient, oauth: OAuthParts) -> None:
    oauth.server.id_tokens.did_of = {"acct-7": "did:key:z6MkSeven"}.get
    plain = person_token(http, oauth, ["openid"])
    answer = http.get("/oauth/userinfo", headers=bearer(plain))
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"sub"} and answer.headers["cache-control"] == "no-store"
    revealing = person_token(http, oauth, ["openid", "did"])
    claims = http.post("/oauth/userinfo", headers=bearer(revealing)).json()
    assert claims["did"] == "did:key:z6MkSeven"
    assert claims["sub"] == oauth.validator.validate(revealing).subject


def test_userinfo_refuses_without_openid_or_a_person(http: TestClient, oauth: OAuthParts) -> None:
    no_openid = person_token(http, oauth, ["evidence:read"])
    refused = http.get("/oauth/userinfo", headers=bearer(no_openid))
    assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
    platform = secret_client(oauth, scopes=("openid", "evidence:read"))
    token = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "evidence:read"},
        headers=basic(*platform),
    ).json()["access_token"]
    assert http.get("/oauth/userinfo", headers=bearer(token)).status_code == 403
    missing = http.get("/oauth/userinfo")
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_token"
    assert missing.headers["www-authenticate"].startswith("Bearer")
    forged = http.get("/oauth/userinfo", headers=bearer("a.b.c"))
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_token"


def test_userinfo_takes_the_token_in_a_form_body_but_not_twice(
    http: TestClient, oauth: OAuthParts
) -> None:
    token = person_token(http, oauth, ["openid"])
    in_body = http.post("/oauth/userinfo", data={"access_token": token})
    assert in_body.status_code == 200, in_body.text
    twice = http.post("/oauth/userinfo", data={"access_token": token}, headers=bearer(token))
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"
