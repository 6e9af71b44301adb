"""Attacks on the wallet sign-in, each refused over HTTP with its own reason.

A served hub (the wallet tests' ``notary-hub serve``), a browser over plain HTTP and a
wallet that is the wallet's own code with did:key holders (:mod:`testkit.signin`):
polling from another browser, a replayed response, a nonce from another session, a
tampered presentation, a key not in the holder's DID document, another audience, a
wrong state, a second fetch of the request object, an open redirect through ``next``,
markup through ``next``, and a flood of sign-ins and responses (429 with
``Retry-After``, on a hub of its own with small limits, where requests also expire).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.holder import did_key_holder
from testkit.signin import (
    SESSION_COOKIE,
    StartedPage,
    open_page,
    poll,
    post_response,
    presentation_of,
    session_of,
    set_cookie,
    vp_token,
    wallet_fetch,
)
from tests.fixtures.hub_process import HubProcess
from tests.fixtures.wallet_hub import WalletHub
from wallet.openid4vp_login import LoginRequest

ALICE = did_key_holder("signin-attacks-alice")
MALLORY = did_key_holder("signin-attacks-mallory")
LIFETIME = 5  # seconds a request lives on the flooded hub


@pytest.fixture
def browser(wallet_hub: WalletHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as client:
        yield client


def _refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    assert body["message"]
    return body


def _started(browser: httpx.Client) -> tuple[StartedPage, LoginRequest]:
    page = open_page(browser)
    return page, wallet_fetch(page)


def _answer(browser: httpx.Client, request: LoginRequest, presentation: Any) -> httpx.Response:
    return post_response(browser, request, vp_token(request, presentation))


def test_only_the_starting_browser_learns_the_outcome(browser: httpx.Client) -> None:
    page, request = _started(browser)
    assert _answer(browser, request, presentation_of(ALICE, request)).status_code == 200
    _refused(poll(browser, page, binding="an-attacker-browser"), 403, "signin_not_this_browser")
    naked = browser.get(page.status_path)  # no cookie at all
    _refused(naked, 403, "signin_not_this_browser")
    done = poll(browser, page)
    cookie = set_cookie(done, SESSION_COOKIE)
    assert cookie is not None and session_of(browser, cookie)["did"] == ALICE.did
    out = browser.post("/signin/logout", headers={"cookie": f"{SESSION_COOKIE}={cookie}"})
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert session_of(browser, cookie) == {"signedIn": False}  # the cookie is dead, not hidden


def test_a_replayed_response_is_refused(browser: httpx.Client) -> None:
    _, request = _started(browser)
    token = vp_token(request, presentation_of(ALICE, request))
    assert post_response(browser, request, token).status_code == 200
    _refused(post_response(browser, request, token), 409, "signin_response_replayed")
    # ...and the same presentation posted to a fresh request answers the wrong nonce.
    _, fresh = _started(browser)
    _refused(post_response(browser, fresh, token), 400, "signin_nonce_mismatch")


def test_a_nonce_from_another_session_is_refused(browser: httpx.Client) -> None:
    page, request = _started(browser)
    _, other = _started(browser)
    stolen = presentation_of(ALICE, other)  # bound to the other session's nonce
    _refused(_answer(browser, request, stolen), 400, "signin_nonce_mismatch")
    assert _answer(browser, request, presentation_of(ALICE, request)).status_code == 200
    assert poll(browser, page).json()["status"] == "signed_in"


def test_a_tampered_presentation_is_refused(browser: httpx.Client) -> None:
    _, request = _started(browser)
    presentation = presentation_of(MALLORY, request)
    presentation["holder"] = ALICE.did  # Mallory's signature, Alice's name
    body = _refused(_answer(browser, request, presentation), 400, "invalid_vp_token")
    assert "does not verify" in body["message"]


def test_a_key_not_in_the_holder_s_document_is_refused(browser: httpx.Client) -> None:
    _, request = _started(browser)
    fragment = MALLORY.method.split("#", 1)[1]
    forged_holder = type(ALICE)(ALICE.did, f"{ALICE.did}#{fragment}", MALLORY.key)
    body = _refused(
        _answer(browser, request, presentation_of(forged_holder, request)), 400, "invalid_vp_token"
    )
    assert "does not verify" in body["message"]


def test_a_presentation_for_another_verifier_is_refused(browser: httpx.Client) -> None:
    _, request = _started(browser)
    elsewhere = presentation_of(ALICE, request, domain="https://partner.example")
    _refused(_answer(browser, request, elsewhere), 400, "signin_wrong_audience")


def test_a_wrong_state_is_refused(browser: httpx.Client) -> None:
    _, request = _started(browser)
    token = vp_token(request, presentation_of(ALICE, request))
    _refused(post_response(browser, request, token, state="guessed"), 400, "signin_state_mismatch")


def test_the_request_object_is_fetched_once(browser: httpx.Client) -> None:
    page, request = _started(browser)
    again = browser.get(httpx.URL(page.link).params["request_uri"])
    _refused(again, 410, "request_object_fetched")
    answer = browser.post(
        httpx.URL(request.response_uri).path,
        content=json.dumps({"vp_token": "{}"}),
        headers={"content-type": "application/json"},
    )
    _refused(answer, 400, "invalid_vp_token")  # a direct_post is form-encoded


def test_an_oversized_response_is_refused_before_it_is_parsed(browser: httpx.Client) -> None:
    _, request = _started(browser)
    huge = {"vp_token": "x" * (600 * 1024), "state": request.state}
    body = _refused(
        browser.post(httpx.URL(request.response_uri).path, data=huge), 400, "invalid_vp_token"
    )
    assert "larger than" in body["message"]


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_next_cannot_redirect_elsewhere(browser: httpx.Client, target: str) -> None:
    _refused(browser.get("/signin", params={"next": target}), 400, "unsafe_next")


def test_the_page_escapes_next_and_forbids_framing_and_inline_script(
    browser: httpx.Client,
) -> None:
    page = open_page(browser, '/x"><script>alert(1)</script>')
    assert "<script>alert(1)" not in page.html
    assert "&lt;script&gt;alert(1)" in page.html
    response = browser.get("/signin")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_a_flood_is_slowed_down_and_requests_expire(tmp_path: Path) -> None:
    hub = HubProcess(
        tmp_path,
        {
            "NOTARY_HUB_LOG_FORMAT": "json",
            "NOTARY_HUB_SIGNIN_BURST": "3",
            "NOTARY_HUB_SIGNIN_RATE": "0.01",
            "NOTARY_HUB_SIGNIN_REQUEST_SECONDS": str(LIFETIME),
        },
    )
    hub.start()
    try:
        with httpx.Client(base_url=hub.url, timeout=30) as client:
            pages = [open_page(client) for _ in range(3)]
            flooded = client.get("/signin")
            _refused(flooded, 429, "too_many_signins")
            assert int(flooded.headers["retry-after"]) >= 1
            request = wallet_fetch(pages[0])
            answers = [post_response(client, request, "{}") for _ in range(4)]
            assert [a.status_code for a in answers] == [400, 400, 400, 429]

            time.sleep(LIFETIME + 1)  # the hub's clock: nothing to inject into a served hub
            unfetched = httpx.URL(pages[1].link).params["request_uri"]
            _refused(client.get(unfetched), 410, "signin_request_expired")
            _refused(poll(client, pages[0]), 410, "signin_request_expired")
    finally:
        hub.stop()
