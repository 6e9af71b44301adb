"""The authorisation endpoint on a served hub: the whole code flow with a real wallet
sign-in, consent, the code at /oauth/token with PKCE, userinfo; single sign-on into a
second platform (its own consent, no new sign-in); Deny; PAR; stored consent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from testkit.holder import did_key_holder
from testkit.oauth import basic, pkce_pair, token_claims
from tests.fixtures.authorize_flow import (
    Platform,
    answer_consent,
    authorize_params,
    consent_form,
    redirect_query,
    register,
    session,
    sign_in,
)
from tests.fixtures.hub_process import run_cli
from tests.fixtures.wallet_hub import WalletHub

ALICE = did_key_holder("authorize-alice")
SCOPES = {"openid": "to sign you in", "did": "to name you on your letters",
          "evidence:read": "to show your deposits"}  # fmt: skip


@pytest.fixture
def http(wallet_hub: WalletHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as client:
        yield client


def _exchange(http: httpx.Client, platform: Platform, code: str, verifier: str) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": platform.redirect_uri, "code_verifier": verifier}  # fmt: skip
    return http.post("/oauth/token", data=form, headers=basic(platform.client_id, platform.secret))


def test_the_code_flow_from_sign_in_to_userinfo_then_single_sign_on(
    http: httpx.Client, wallet_hub: WalletHub
) -> None:
    first = register(wallet_hub.process, "https://first.test/cb", SCOPES)
    second = register(wallet_hub.process, "https://second.test/cb", {"openid": "to sign you in"})
    verifier, challenge = pkce_pair()
    params = authorize_params(first, "openid did evidence:read", challenge)

    anonymous = http.get("/oauth/authorize", params=params)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin?next=%2Foauth%2Fauthorize%3F")

    cookie = sign_in(http, ALICE)
    page = http.get("/oauth/authorize", params=params, headers=session(cookie))
    form = consent_form(page)
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for purpose in SCOPES.values():
        assert purpose in form.page
    assert 'id="did-notice"' in form.page and 'id="client-name"' in form.page

    back = redirect_query(answer_consent(http, cookie, form))
    assert back["state"] == "st-1" and back["iss"] == wallet_hub.url
    tokens = _exchange(http, first, back["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    access = tokens.json()["access_token"]
    id_claims = token_claims(tokens.json()["id_token"])
    signed_in = http.get("/signin/session", headers=session(cookie)).json()
    assert signed_in["signedIn"] and id_claims["nonce"] == "n-1"
    assert id_claims["auth_time"] <= id_claims["iat"]
    info = http.get("/oauth/userinfo", headers={"authorization": f"Bearer {access}"}).json()
    assert info["did"] == ALICE.did and info["sub"]

    # The stored consent: the same platform gets a code at once.
    again = http.get("/oauth/authorize", params=params, headers=session(cookie))
    assert "code" in redirect_query(again)

    # Single sign-on: the second platform asks its own consent, no sign-in.
    verifier2, challenge2 = pkce_pair()
    second_params = authorize_params(second, "openid", challenge2, state="st-2")
    form2 = consent_form(
        http.get("/oauth/authorize", params=second_params, headers=session(cookie))
    )
    assert "did-notice" not in form2.page
    back2 = redirect_query(answer_consent(http, cookie, form2))
    assert back2["state"] == "st-2"
    assert _exchange(http, second, back2["code"], verifier2).status_code == 200


def test_deny_answers_access_denied(http: httpx.Client, wallet_hub: WalletHub) -> None:
    platform = register(wallet_hub.process, "https://deny.test/cb", SCOPES)
    cookie = sign_in(http, did_key_holder("authorize-denier"))
    _, challenge = pkce_pair()
    params = authorize_params(platform, "openid", challenge)
    form = consent_form(http.get("/oauth/authorize", params=params, headers=session(cookie)))
    back = redirect_query(answer_consent(http, cookie, form, "deny"))
    assert back["error"] == "access_denied" and back["state"] == "st-1" and "code" not in back


def test_a_pushed_request_is_authorised_by_its_request_uri(
    http: httpx.Client, wallet_hub: WalletHub
) -> None:
    platform = register(wallet_hub.process, "https://par.test/cb", SCOPES)
    cookie = sign_in(http, did_key_holder("authorize-par"))
    _, challenge = pkce_pair()
    pushed = http.post(
        "/oauth/par",
        data=authorize_params(platform, "openid", challenge),
        headers=basic(platform.client_id, platform.secret),
    )
    assert pushed.status_code == 201, pushed.text
    query = {"client_id": platform.client_id, "request_uri": pushed.json()["request_uri"]}
    form = consent_form(http.get("/oauth/authorize", params=query, headers=session(cookie)))
    assert "code" in redirect_query(answer_consent(http, cookie, form))
    spent = http.get("/oauth/authorize", params=query, headers=session(cookie))
    assert spent.status_code == 400 and "invalid_request_uri" in spent.text


def test_a_staff_scope_the_person_does_not_hold_goes_back_as_invalid_scope(
    http: httpx.Client, wallet_hub: WalletHub
) -> None:
    staff_portal = register(
        wallet_hub.process, "https://portal.test/cb",
        {"openid": "to sign you in", "admin": "to operate the hub"},
    )  # fmt: skip
    person = did_key_holder("authorize-not-staff")
    cookie = sign_in(http, person)
    _, challenge = pkce_pair()
    params = authorize_params(staff_portal, "openid admin", challenge, state="st-staff")
    refused = redirect_query(http.get("/oauth/authorize", params=params, headers=session(cookie)))
    assert refused["error"] == "invalid_scope" and "admin" in refused["error_description"]
    assert refused["state"] == "st-staff" and refused["iss"] == wallet_hub.url
    assert "code" not in refused

    granted = run_cli("staff", "grant", person.did, "--scope", "admin",
                      env=wallet_hub.process.env, cwd=wallet_hub.process.workdir)  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    form = consent_form(http.get("/oauth/authorize", params=params, headers=session(cookie)))
    assert "to operate the hub" in form.page


def test_prompt_login_signs_the_person_in_again_and_the_id_token_says_when(
    http: httpx.Client, wallet_hub: WalletHub
) -> None:
    platform = register(wallet_hub.process, "https://fresh.test/cb", SCOPES)
    person = did_key_holder("authorize-fresh")
    old_cookie = sign_in(http, person)
    verifier, challenge = pkce_pair()
    form = consent_form(http.get("/oauth/authorize", params=authorize_params(
        platform, "openid", challenge), headers=session(old_cookie)))  # fmt: skip
    redirect_query(answer_consent(http, old_cookie, form))  # consented once
    time.sleep(1.1)  # auth_time is in whole seconds: the old session is now older

    params = authorize_params(platform, "openid", challenge, prompt="login")
    sent = http.get("/oauth/authorize", params=params, headers=session(old_cookie))
    assert sent.status_code == 303 and sent.headers["location"].startswith("/signin?next=")
    next_path = parse_qs(urlsplit(sent.headers["location"]).query)["next"][0]
    auth_after = int(parse_qs(urlsplit(next_path).query)["auth_after"][0])
    assert "prompt" not in parse_qs(urlsplit(next_path).query)
    # The old session does not pass for the fresh sign-in the hub asked for.
    again = http.get(next_path, headers=session(old_cookie))
    assert again.status_code == 303 and again.headers["location"].startswith("/signin?next=")

    new_cookie = sign_in(http, person)
    back = redirect_query(http.get(next_path, headers=session(new_cookie)))
    tokens = _exchange(http, platform, back["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    assert token_claims(tokens.json()["id_token"])["auth_time"] >= auth_after

    # prompt=none with a sign-in older than max_age: login_required, no page.
    passive = authorize_params(platform, "openid", challenge, prompt="none", max_age="0")
    time.sleep(1.1)
    refused = redirect_query(http.get("/oauth/authorize", params=passive,
                                      headers=session(new_cookie)))  # fmt: skip
    assert refused["error"] == "login_required" and refused["iss"] == wallet_hub.url
