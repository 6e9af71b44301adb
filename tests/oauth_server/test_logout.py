"""RP-initiated logout on a served hub: the session ends; the browser returns only to a
URI the client registered exactly, with its state; a forged hint ends nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from testkit.holder import did_key_holder
from testkit.oauth import basic, pkce_pair
from testkit.signin import session_of
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
from tests.fixtures.wallet_hub import WalletHub

BACK = "https://logout.test/signed-out"


@pytest.fixture
def http(wallet_hub: WalletHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as client:
        yield client


@pytest.fixture
def platform(wallet_hub: WalletHub) -> Platform:
    return register(
        wallet_hub.process, "https://logout.test/cb", {"openid": "to sign you in"},
        "--post-logout-redirect-uri", BACK,
    )  # fmt: skip


def _signed_in_with_id_token(http: httpx.Client, platform: Platform, name: str) -> tuple[str, str]:
    cookie = sign_in(http, did_key_holder(name))
    verifier, challenge = pkce_pair()
    params = authorize_params(platform, "openid", challenge)
    form = consent_form(http.get("/oauth/authorize", params=params, headers=session(cookie)))
    code = redirect_query(answer_consent(http, cookie, form))["code"]
    tokens = http.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code,
              "redirect_uri": platform.redirect_uri, "code_verifier": verifier},
        headers=basic(platform.client_id, platform.secret),
    )  # fmt: skip
    return cookie, str(tokens.json()["id_token"])


def test_logout_returns_to_the_registered_uri_with_state(
    http: httpx.Client, platform: Platform
) -> None:
    cookie, id_token = _signed_in_with_id_token(http, platform, "logout-alice")
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": BACK, "state": "bye"}
    out = http.get("/oauth/logout", params=params, headers=session(cookie))
    assert out.status_code == 303 and out.headers["location"] == BACK + "?state=bye"
    assert session_of(http, cookie) == {"signedIn": False}


def test_an_unregistered_uri_gets_the_signed_out_page(
    http: httpx.Client, platform: Platform
) -> None:
    cookie, id_token = _signed_in_with_id_token(http, platform, "logout-bob")
    for target in ("https://evil.test/", BACK + "/more", BACK + "?x=1", "https://logout.test"):
        out = http.post(
            "/oauth/logout",
            data={"id_token_hint": id_token, "post_logout_redirect_uri": target},
            headers=session(cookie),
        )
        assert out.status_code == 200 and "location" not in out.headers
        assert 'id="not-returned"' in out.text
        assert "frame-ancestors 'none'" in out.headers["content-security-policy"]
    assert session_of(http, cookie) == {"signedIn": False}


def test_without_a_hint_the_client_id_names_the_client(
    http: httpx.Client, platform: Platform
) -> None:
    cookie = sign_in(http, did_key_holder("logout-carol"))
    params = {"client_id": platform.client_id, "post_logout_redirect_uri": BACK}
    out = http.get("/oauth/logout", params=params, headers=session(cookie))
    assert out.status_code == 303 and out.headers["location"] == BACK
    bare = http.get("/oauth/logout", params={"post_logout_redirect_uri": BACK})
    assert bare.status_code == 200 and "location" not in bare.headers  # whose URI? stay


def test_a_forged_or_mismatched_hint_ends_nothing(http: httpx.Client, platform: Platform) -> None:
    cookie, id_token = _signed_in_with_id_token(http, platform, "logout-dave")
    header, payload, signature = id_token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    for params in (
        {"id_token_hint": forged, "post_logout_redirect_uri": BACK},
        {"id_token_hint": "not-a-jwt"},
        {"id_token_hint": id_token, "client_id": "another-client"},
    ):
        out = http.get("/oauth/logout", params=params, headers=session(cookie))
        assert out.status_code == 400 and "location" not in out.headers
        assert 'id="error">invalid_request<' in out.text
    assert session_of(http, cookie)["signedIn"] is True
