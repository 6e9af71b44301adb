"""Consents: the store (SQLite and PostgreSQL) and, on a served hub, the account page,
its JSON, and a revocation that makes the platform's existing access token fail at a
hub API route."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from oauth_server.authorize import AuthorizationRequest
from oauth_server.clients import ClientSpec
from oauth_server.consents import PENDING_SECONDS, check_csrf, csrf_token
from oauth_server.errors import OAuthError
from oauth_server.parts import OAuthParts
from testkit.clock import SkippingClock
from testkit.holder import did_key_holder
from testkit.oauth import basic, pkce_pair
from testkit.waiting import wait_until
from tests.fixtures.authorize_flow import (
    answer_consent,
    authorize_params,
    consent_form,
    redirect_query,
    register,
    session,
    sign_in,
)
from tests.fixtures.wallet_hub import WalletHub

SPEC = ClientSpec(
    name="Platform",
    auth_method="client_secret_basic",
    grant_types=["authorization_code"],
    scope_purposes={"openid": "to sign you in", "evidence:read": "to list deposits"},
    redirect_uris=["https://platform.test/cb"],
)


def _request(oauth: OAuthParts) -> AuthorizationRequest:
    client, _ = oauth.clients.create(SPEC)
    _, challenge = pkce_pair()
    return AuthorizationRequest(client, "https://platform.test/cb", ("openid",), challenge, "s")


def test_a_consent_is_granted_widened_listed_and_revoked(oauth: OAuthParts) -> None:
    store = oauth.consents
    assert store.granted("c1", "acct") == frozenset()
    store.grant("c1", "acct", ("openid",))
    store.grant("c1", "acct", ("evidence:read", "openid"))
    store.grant("c2", "acct", ("openid",))
    assert store.granted("c1", "acct") == {"openid", "evidence:read"}
    assert [c.client_id for c in store.of_account("acct")] == ["c1", "c2"]
    assert store.of_account("someone-else") == []
    assert store.revoke("c1", "acct") is True
    assert store.revoke("c1", "acct") is False  # nothing left to revoke
    assert store.granted("c1", "acct") == frozenset()
    assert [c.client_id for c in store.of_account("acct")] == ["c2"]


def test_a_held_request_is_answered_once_by_its_session(oauth: OAuthParts) -> None:
    held = oauth.consents.hold(_request(oauth), "acct", "cookie-a")
    with pytest.raises(OAuthError) as other:
        oauth.consents.answer(held, "cookie-b")
    assert other.value.code == "consent_request_unknown" and other.value.status_code == 403
    answered = oauth.consents.answer(held, "cookie-a")
    assert answered.account_id == "acct" and answered.scopes == ("openid",)
    with pytest.raises(OAuthError) as again:
        oauth.consents.answer(held, "cookie-a")
    assert again.value.code == "consent_already_answered" and again.value.status_code == 409


def test_a_held_request_expires(oauth: OAuthParts, clock: SkippingClock) -> None:
    held = oauth.consents.hold(_request(oauth), "acct", "cookie-a")
    clock.advance(PENDING_SECONDS + 1)
    with pytest.raises(OAuthError) as late:
        oauth.consents.answer(held, "cookie-a")
    assert late.value.code == "consent_request_expired"
    clock.advance(PENDING_SECONDS)
    oauth.consents.hold(_request(oauth), "acct", "cookie-a")  # sweeps the long-expired
    with pytest.raises(OAuthError) as gone:
        oauth.consents.answer(held, "cookie-a")
    assert gone.value.code == "consent_request_unknown"


def test_csrf_tokens_are_bound_to_session_and_purpose() -> None:
    token = csrf_token("cookie-a", "request-1")
    check_csrf("cookie-a", "request-1", token)
    for cookie, purpose, given in [
        ("cookie-b", "request-1", token),
        ("cookie-a", "request-2", token),
        ("cookie-a", "request-1", None),
        ("cookie-a", "request-1", token[:-1] + "0"),
    ]:
        with pytest.raises(OAuthError) as refused:
            check_csrf(cookie, purpose, given)
        assert refused.value.status_code == 403


@pytest.fixture
def http(wallet_hub: WalletHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as client:
        yield client


def test_revoking_at_the_account_page_stops_the_platforms_token(
    http: httpx.Client, wallet_hub: WalletHub
) -> None:
    scopes = {"openid": "to sign you in", "evidence:read": "to list your deposits"}
    platform = register(wallet_hub.process, "https://revoked.test/cb", scopes)
    holder = did_key_holder("consents-revoker")
    cookie = sign_in(http, holder)
    verifier, challenge = pkce_pair()
    params = authorize_params(platform, "openid evidence:read", challenge)
    form = consent_form(http.get("/oauth/authorize", params=params, headers=session(cookie)))
    code = redirect_query(answer_consent(http, cookie, form))["code"]
    tokens = http.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code,
              "redirect_uri": platform.redirect_uri, "code_verifier": verifier},
        headers=basic(platform.client_id, platform.secret),
    )  # fmt: skip
    bearer = {"authorization": f"Bearer {tokens.json()['access_token']}"}
    verifier2, challenge2 = pkce_pair()
    params2 = authorize_params(platform, "openid", challenge2)
    unexchanged = redirect_query(
        http.get("/oauth/authorize", params=params2, headers=session(cookie))
    )
    assert http.get("/evidence/deposits", headers=bearer).status_code == 200

    listed = http.get("/account/consents", headers=session(cookie)).json()
    assert listed["dids"] == [holder.did]
    (mine,) = [c for c in listed["consents"] if c["clientId"] == platform.client_id]
    assert {s["purpose"] for s in mine["scopes"]} == set(scopes.values())
    page = http.get("/account", headers=session(cookie))
    assert page.status_code == 200 and holder.did in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    action = f"/account/consents/{platform.client_id}/revoke"
    found = re.search(rf'action="{re.escape(action)}">\s*<input type="hidden" '
                      r'name="csrf_token" value="([0-9a-f]+)"', page.text)  # fmt: skip
    assert found is not None, page.text

    revoked = http.post(action, data={"csrf_token": found.group(1)}, headers=session(cookie))
    assert revoked.status_code == 303 and revoked.headers["location"] == "/account"
    started = time.monotonic()
    wait_until(
        lambda: http.get("/evidence/deposits", headers=bearer).status_code == 401 or None,
        timeout=10,
        message="the revoked token still works",
    )
    assert time.monotonic() - started < 5  # within the revocation cache period (~2 s)
    assert platform.client_id not in http.get("/account/consents", headers=session(cookie)).text
    refused = http.get("/evidence/deposits", headers=bearer)
    assert refused.json()["error"] == "invalid_token"
    late = http.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": unexchanged["code"],
              "redirect_uri": platform.redirect_uri, "code_verifier": verifier2},
        headers=basic(platform.client_id, platform.secret),
    )  # fmt: skip
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert "already used" in late.json()["error_description"]  # spent with the consent
    assert http.get("/account/consents").status_code == 401  # no session, no listing
    anonymous = http.get("/account")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin")
