"""The token endpoint's grants: code (PKCE S256, single use), refresh rotation, client
credentials; the code-issuing function and its ``iss`` parameter (RFC 9207)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from oauth_server.clients import ClientSpec
from oauth_server.errors import OAuthError
from oauth_server.parts import OAuthParts
from testkit.clock import SkippingClock
from testkit.oauth import ISSUER, REDIRECT, basic, pkce_pair, secret_client, token_claims

SCOPES = ["openid", "evidence:deposit"]


def code_client(oauth: OAuthParts) -> tuple[str, str]:
    return secret_client(oauth, grant_types=("authorization_code", "refresh_token"), scopes=SCOPES)


def issue(oauth: OAuthParts, client_id: str, challenge: str, account: str = "acct-1") -> str:
    client = oauth.clients.require(client_id)
    issued = oauth.codes.issue_code(client, account, SCOPES, REDIRECT, challenge, "n-1", state="s1")
    return issued.code


def exchange(http: TestClient, client: tuple[str, str], code: str, verifier: str | None):  # type: ignore[no-untyped-def]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        form["code_verifier"] = verifier
    return http.post("/oauth/token", data=form, headers=basic(*client))


def test_issue_code_redirects_with_code_state_and_iss(oauth: OAuthParts) -> None:
    client_id, _ = code_client(oauth)
    _, challenge = pkce_pair()
    client = oauth.clients.require(client_id)
    issued = oauth.codes.issue_code(client, "acct-1", SCOPES, REDIRECT, challenge, "n", state="st")
    target = urlsplit(issued.redirect_to)
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    query = parse_qs(target.query)
    assert query == {"code": [issued.code], "state": ["st"], "iss": [ISSUER]}


@pytest.mark.parametrize(
    ("challenge", "method", "reason"),
    [
        (None, "S256", "required"),
        ("x" * 43, "plain", "must be S256"),
        ("x" * 43, None, "must be S256"),
        ("short", "S256", "base64url SHA-256"),
    ],
)
def test_issue_code_refuses_a_missing_or_weak_challenge(
    oauth: OAuthParts, challenge: str | None, method: str | None, reason: str
) -> None:
    client = oauth.clients.require(code_client(oauth)[0])
    with pytest.raises(OAuthError, match=reason) as refused:
        oauth.codes.issue_code(
            client, "a", SCOPES, REDIRECT, challenge, None, code_challenge_method=method
        )
    assert refused.value.code == "invalid_request"


@pytest.mark.parametrize(
    "uri",
    [
        REDIRECT + "/more",
        REDIRECT[:-1],
        "https://user@platform.test/callback",
        "https://evil.test/callback",
        REDIRECT + "?x=1",
    ],
)
def test_issue_code_refuses_any_redirect_uri_but_the_registered_one(
    oauth: OAuthParts, uri: str
) -> None:
    client = oauth.clients.require(code_client(oauth)[0])
    with pytest.raises(OAuthError) as refused:
        oauth.codes.issue_code(client, "a", SCOPES, uri, pkce_pair()[1], None)
    assert refused.value.code == "invalid_redirect_uri"


def test_issue_code_refuses_unregistered_scopes(oauth: OAuthParts) -> None:
    client = oauth.clients.require(code_client(oauth)[0])
    with pytest.raises(OAuthError) as refused:
        oauth.codes.issue_code(client, "a", ["admin"], REDIRECT, pkce_pair()[1], None)
    assert refused.value.code == "invalid_scope"


def test_code_exchange_gives_a_person_token_and_a_refresh_token(
    http: TestClient, oauth: OAuthParts
) -> None:
    client = code_client(oauth)
    verifier, challenge = pkce_pair()
    answer = exchange(http, client, issue(oauth, client[0], challenge), verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert answer.headers["cache-control"] == "no-store"
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    caller = oauth.validator.validate(body["access_token"])
    assert caller.kind == "person" and caller.account_id == "acct-1"
    assert caller.scopes == frozenset(SCOPES) and caller.client_id == client[0]
    assert caller.subject != "acct-1"  # pairwise, not the internal id
    assert token_claims(body["access_token"])["sub"] == caller.subject


def test_pairwise_subjects_differ_per_sector(oauth: OAuthParts) -> None:
    one = oauth.clients.require(code_client(oauth)[0])
    other, _ = oauth.clients.create(
        ClientSpec(
            name="Other",
            auth_method="none",
            grant_types=["authorization_code"],
            scope_purposes={"openid": "sign in"},
            redirect_uris=["https://other.test/cb"],
        )
    )
    assert oauth.codes.subject_for(one, "acct-1") != oauth.codes.subject_for(other, "acct-1")
    assert oauth.codes.subject_for(one, "acct-1") == oauth.codes.subject_for(one, "acct-1")


def test_a_wrong_or_missing_verifier_is_refused(http: TestClient, oauth: OAuthParts) -> None:
    client = code_client(oauth)
    _, challenge = pkce_pair()
    wrong = exchange(http, client, issue(oauth, client[0], challenge), pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    missing = exchange(http, client, issue(oauth, client[0], challenge), None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert "code_verifier" in missing.json()["error_description"]


def test_a_replayed_code_is_refused_and_revokes_its_tokens(
    http: TestClient, oauth: OAuthParts
) -> None:
    client = code_client(oauth)
    verifier, challenge = pkce_pair()
    code = issue(oauth, client[0], challenge)
    first = exchange(http, client, code, verifier).json()
    oauth.validator.validate(first["access_token"])
    replay = exchange(http, client, code, verifier)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert "already used" in replay.json()["error_description"]
    with pytest.raises(OAuthError, match="revoked"):
        oauth.validator.validate(first["access_token"])
    refreshed = http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        headers=basic(*client),
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(
    http: TestClient, oauth: OAuthParts, clock: SkippingClock
) -> None:
    client = code_client(oauth)
    verifier, challenge = pkce_pair()
    code = issue(oauth, client[0], challenge)
    clock.advance(oauth.lifetimes.code + 1)
    answer = exchange(http, client, code, verifier)
    assert answer.json() == {"error": "invalid_grant", "error_description": "the code has expired"}


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(
    http: TestClient, oauth: OAuthParts
) -> None:
    client = code_client(oauth)
    verifier, challenge = pkce_pair()
    first = exchange(http, client, issue(oauth, client[0], challenge), verifier).json()

    def refresh(token: str):  # type: ignore[no-untyped-def]
        form = {"grant_type": "refresh_token", "refresh_token": token}
        return http.post("/oauth/token", data=form, headers=basic(*client))

    second = refresh(first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    live = oauth.validator.validate(second["access_token"])
    assert live.account_id == "acct-1"
    reused = refresh(first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # The whole family is gone: the rotated refresh token and its access token too.
    with pytest.raises(OAuthError, match="revoked"):
        oauth.validator.validate(second["access_token"])
    assert refresh(second["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_cannot_widen_the_scope(http: TestClient, oauth: OAuthParts) -> None:
    client = code_client(oauth)
    verifier, challenge = pkce_pair()
    first = exchange(http, client, issue(oauth, client[0], challenge), verifier).json()
    form = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "scope": "openid evidence:deposit evidence:read",
    }
    answer = http.post("/oauth/token", data=form, headers=basic(*client))
    assert answer.json()["error"] == "invalid_scope"


def test_client_credentials_give_a_platform_token(http: TestClient, oauth: OAuthParts) -> None:
    client = secret_client(oauth)
    answer = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "evidence:deposit"},
        headers=basic(*client),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "refresh_token" not in body
    caller = oauth.validator.validate(body["access_token"])
    assert caller.kind == "platform" and caller.account_id is None
    assert caller.subject == client[0] and caller.platform_did == "did:web:platform.test"
    assert caller.scopes == {"evidence:deposit"}
    claims = token_claims(body["access_token"])
    assert claims["aud"] == ISSUER and claims["client_id"] == client[0] and claims["jti"]


def test_client_credentials_default_to_the_registered_scopes(
    http: TestClient, oauth: OAuthParts
) -> None:
    client = secret_client(oauth)
    body = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(*client)
    ).json()
    assert set(body["scope"].split()) == {"evidence:deposit", "evidence:read"}


@pytest.mark.parametrize(
    ("scope", "error"), [("admin", "invalid_scope"), ("openid", "invalid_scope")]
)
def test_client_credentials_refuse_unregistered_or_identity_scopes(
    http: TestClient, oauth: OAuthParts, scope: str, error: str
) -> None:
    client = secret_client(oauth, scopes=("evidence:deposit", "openid"))
    answer = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers=basic(*client),
    )
    assert answer.status_code == 400 and answer.json()["error"] == error


@pytest.mark.parametrize("grant", ["password", "implicit"])  # device_code: test_device
def test_no_password_or_implicit_grant(http: TestClient, oauth: OAuthParts, grant: str) -> None:
    client = secret_client(oauth)
    form = {"grant_type": grant, "username": "u", "password": "p"}
    answer = http.post("/oauth/token", data=form, headers=basic(*client))
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


def test_a_client_without_the_grant_is_refused(http: TestClient, oauth: OAuthParts) -> None:
    client = code_client(oauth)
    answer = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers=basic(*client)
    )
    assert answer.json()["error"] == "unauthorized_client"
