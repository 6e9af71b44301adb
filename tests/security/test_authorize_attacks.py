"""Attacks on the authorisation endpoint and the consent form, on a served hub, each
refused with its reason (RFC 9700 §4.1 redirect-URI manipulation, §4.8 PKCE downgrade,
§4.4 consent CSRF; replay; overload) and none leaking a code."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from oauth_server.consents import csrf_token
from testkit.holder import did_key_holder
from testkit.oauth import pkce_pair
from tests.fixtures.authorize_flow import (
    ConsentForm,
    Platform,
    answer_consent,
    authorize_params,
    consent_form,
    redirect_query,
    register,
    session,
    sign_in,
)
from tests.fixtures.wallet_hub import WalletHub

GOOD = "https://good.test/cb"
SCOPES = {"openid": "to sign you in", "evidence:read": "to list your deposits"}


@pytest.fixture(scope="module")
def platform(wallet_hub: WalletHub) -> Platform:
    return register(wallet_hub.process, GOOD, SCOPES)


@pytest.fixture
def http(wallet_hub: WalletHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def alice(wallet_hub: WalletHub) -> str:
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as client:
        return sign_in(client, did_key_holder("authorize-attacks-alice"))


@pytest.fixture(scope="module")
def mallory(wallet_hub: WalletHub) -> str:
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as client:
        return sign_in(client, did_key_holder("authorize-attacks-mallory"))


def _page_refusal(answer: httpx.Response, code: str) -> None:
    assert answer.status_code in (400, 401), answer.text
    assert "location" not in answer.headers, "an error page, never a redirect"
    assert answer.headers["content-type"].startswith("text/html")
    assert f'id="error">{code}<' in answer.text
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def _fresh_form(http: httpx.Client, platform: Platform, cookie: str) -> ConsentForm:
    _, challenge = pkce_pair()
    params = authorize_params(platform, "openid", challenge, prompt="consent")
    return consent_form(http.get("/oauth/authorize", params=params, headers=session(cookie)))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://good.test/c",  # prefix
        GOOD + "x",  # suffix
        GOOD + "/evil",  # added path
        GOOD + "?next=https://evil.test",  # added query
        "https://good.test@evil.test/cb",  # userinfo
        "https://evil.test/cb",  # another host
        "https://GOOD.test/cb",  # case
        "http://good.test/cb",  # scheme
        GOOD + "#frag",
        "",
    ],
)
def test_redirect_uri_manipulation_gets_an_error_page(
    http: httpx.Client, platform: Platform, alice: str, redirect_uri: str
) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(platform, "openid", challenge, redirect_uri=redirect_uri)
    for cookie in (None, alice):
        _page_refusal(
            http.get("/oauth/authorize", params=params, headers=session(cookie)),
            "invalid_redirect_uri",
        )


def test_an_unknown_client_or_a_repeated_parameter_gets_an_error_page(
    http: httpx.Client, platform: Platform
) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(platform, "openid", challenge, client_id="no-such-client")
    _page_refusal(http.get("/oauth/authorize", params=params), "invalid_client")
    pairs = [*authorize_params(platform, "openid", challenge).items()]
    pairs.append(("redirect_uri", "https://evil.test/cb"))
    _page_refusal(http.get("/oauth/authorize", params=tuple(pairs)), "invalid_request")
    flood = [(f"p{i}", "x") for i in range(64)]
    _page_refusal(http.get("/oauth/authorize", params=tuple(flood)), "invalid_request")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"scope": ""}, "invalid_scope"),
        ({"prompt": "none"}, "login_required"),
    ],
)
def test_bad_requests_go_back_with_the_error_state_and_issuer(
    http: httpx.Client, platform: Platform, wallet_hub: WalletHub, change: dict[str, str],
    error: str,
) -> None:  # fmt: skip
    _, challenge = pkce_pair()
    params = {**authorize_params(platform, "openid", challenge), **change}
    back = redirect_query(http.get("/oauth/authorize", params=params))
    assert back["error"] == error and back["error_description"]
    assert back["state"] == "st-1" and back["iss"] == wallet_hub.url and "code" not in back


def test_consent_csrf_is_refused(
    http: httpx.Client, platform: Platform, alice: str, mallory: str
) -> None:
    form = _fresh_form(http, platform, alice)
    theirs = _fresh_form(http, platform, mallory)
    attempts = [
        (alice, {"csrf_token": ""}, "csrf_token_invalid"),
        (alice, {"csrf_token": "0" * 64}, "csrf_token_invalid"),
        (alice, {"csrf_token": theirs.csrf_token}, "csrf_token_invalid"),  # another session's
        (mallory, {"csrf_token": form.csrf_token}, "csrf_token_invalid"),  # Alice's, stolen
    ]
    for cookie, change, code in attempts:
        answer = answer_consent(http, cookie, form, **change)
        assert answer.status_code == 403 and answer.json()["error"] == code, answer.text
    stolen = answer_consent(http, mallory, ConsentForm(form.request_id, theirs.csrf_token, ""))
    assert stolen.status_code == 403
    no_session = answer_consent(http, None, form)
    assert no_session.status_code == 401 and no_session.json()["error"] == "not_signed_in"
    # None of it spent the request: Alice still answers it.
    assert "code" in redirect_query(answer_consent(http, alice, form))


def test_a_request_held_for_one_session_is_unknown_to_another(
    http: httpx.Client, platform: Platform, alice: str, mallory: str
) -> None:
    form = _fresh_form(http, platform, alice)
    # Mallory signs the request id with her own session (she knows her cookie in this test).
    forged = ConsentForm(form.request_id, csrf_token(mallory, form.request_id), "")
    answer = answer_consent(http, mallory, forged)
    assert answer.status_code == 403 and answer.json()["error"] == "consent_request_unknown"


def test_a_replayed_consent_post_is_refused(
    http: httpx.Client, platform: Platform, alice: str
) -> None:
    form = _fresh_form(http, platform, alice)
    assert "code" in redirect_query(answer_consent(http, alice, form))
    again = answer_consent(http, alice, form)
    assert again.status_code == 409 and again.json()["error"] == "consent_already_answered"
    denied_after = answer_consent(http, alice, form, "deny")
    assert denied_after.status_code == 409


def test_the_consent_form_refuses_bad_bodies(
    http: httpx.Client, platform: Platform, alice: str
) -> None:
    form = _fresh_form(http, platform, alice)
    huge = answer_consent(http, alice, form, padding="x" * 20_000)
    assert huge.status_code == 400 and huge.json()["error"] == "invalid_request"
    odd = answer_consent(http, alice, form, "maybe")
    assert odd.status_code == 400 and odd.json()["error"] == "invalid_request"
    as_json = http.post(
        "/oauth/authorize/consent", json={"request_id": form.request_id}, headers=session(alice)
    )
    assert as_json.status_code == 400
    assert "code" in redirect_query(answer_consent(http, alice, form))  # still answerable


def test_the_consent_page_cannot_be_framed(
    http: httpx.Client, platform: Platform, alice: str
) -> None:
    _, challenge = pkce_pair()
    params = authorize_params(platform, "openid", challenge, prompt="consent")
    page = http.get("/oauth/authorize", params=params, headers=session(alice))
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert "form-action 'self' https://good.test" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def test_revoking_without_the_token_is_refused(
    http: httpx.Client, platform: Platform, alice: str
) -> None:
    action = f"/account/consents/{platform.client_id}/revoke"
    answer_consent(http, alice, _fresh_form(http, platform, alice))  # a consent to keep
    for token in ("", "0" * 64):
        refused = http.post(action, data={"csrf_token": token}, headers=session(alice))
        assert refused.status_code == 403 and refused.json()["error"] == "csrf_token_invalid"
    listed = http.get("/account/consents", headers=session(alice)).json()
    assert platform.client_id in {c["clientId"] for c in listed["consents"]}
