"""The token ledger: a withdrawn consent revokes the person's tokens at that client; a code
or refresh token spent by two concurrent requests is spent once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from oauth_server.errors import OAuthError
from oauth_server.parts import OAuthParts
from testkit.oauth import (
    ISSUER,
    REDIRECT,
    basic,
    oauth_app,
    pkce_pair,
    secret_client,
    token_claims,
)


def code_client(oauth: OAuthParts) -> tuple[str, str]:
    return secret_client(
        oauth, grant_types=("authorization_code", "refresh_token"), scopes=("openid",)
    )


def person_tokens(
    http: TestClient, oauth: OAuthParts, client: tuple[str, str], account: str
) -> dict[str, str]:
    verifier, challenge = pkce_pair()
    registered = oauth.clients.require(client[0])
    code = oauth.codes.issue_code(registered, account, ["openid"], REDIRECT, challenge, None).code
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    body: dict[str, str] = http.post("/oauth/token", data=form, headers=basic(*client)).json()
    return body


def test_withdrawing_consent_revokes_the_persons_tokens_at_that_client_only(
    http: TestClient, oauth: OAuthParts
) -> None:
    client, other_client = code_client(oauth), code_client(oauth)
    mine = [person_tokens(http, oauth, client, "acct-a") for _ in range(2)]
    someone_else = person_tokens(http, oauth, client, "acct-b")
    elsewhere = person_tokens(http, oauth, other_client, "acct-a")
    oauth.ledger.revoke_client_account(client[0], "acct-a")
    for tokens in mine:
        with pytest.raises(OAuthError, match="revoked"):
            oauth.validator.validate(tokens["access_token"])
    assert oauth.validator.validate(someone_else["access_token"]).account_id == "acct-b"
    assert oauth.validator.validate(elsewhere["access_token"]).client_id == other_client[0]
    refreshed = http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": mine[0]["refresh_token"]},
        headers=basic(*client),
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_a_code_raced_by_concurrent_requests_is_spent_once(
    http: TestClient, oauth: OAuthParts
) -> None:
    client = code_client(oauth)
    verifier, challenge = pkce_pair()
    registered = oauth.clients.require(client[0])
    code = oauth.codes.issue_code(registered, "acct", ["openid"], REDIRECT, challenge, None).code
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(
                lambda _: http.post("/oauth/token", data=form, headers=basic(*client)), range(6)
            )
        )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 400, 400, 400, 400, 400]
    issued = next(answer.json() for answer in answers if answer.status_code == 200)
    # The replays revoked what the winner got.
    with pytest.raises(OAuthError, match="revoked"):
        oauth.validator.validate(issued["access_token"])


def test_a_refresh_token_raced_by_concurrent_requests_is_spent_once(
    http: TestClient, oauth: OAuthParts
) -> None:
    client = code_client(oauth)
    first = person_tokens(http, oauth, client, "acct")
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(
                lambda _: http.post("/oauth/token", data=form, headers=basic(*client)), range(6)
            )
        )
    assert sorted(answer.status_code for answer in answers) == [200, 400, 400, 400, 400, 400]
    winner = next(answer.json() for answer in answers if answer.status_code == 200)
    with pytest.raises(OAuthError, match="revoked"):
        oauth.validator.validate(winner["access_token"])


def test_concurrent_client_credentials_tokens_are_each_recorded_before_they_are_answered(
    oauth: OAuthParts,
) -> None:
    """The ledger's inserts are group-committed: each token is in the ledger (live to
    introspection and revocable) as soon as its response exists."""
    client = secret_client(oauth)
    form = {"grant_type": "client_credentials", "scope": "evidence:deposit"}

    def issue_and_check(_: int) -> bool:
        with TestClient(oauth_app(oauth), base_url=ISSUER) as http:
            token = http.post("/oauth/token", data=form, headers=basic(*client)).json()
        jti = str(token_claims(token["access_token"])["jti"])
        return oauth.ledger.by_jti(jti) is not None

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(issue_and_check, range(32)))
