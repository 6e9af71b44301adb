"""A real browser on the device verification page (RFC 8628 §3.3): Debian's chromium,
driven by Playwright for Python, against a served hub.

A staff tool asks for ``admin`` and ``consortium:vote``; the person (signed in with the
wallet sign-in, their session cookie set on the browser) types the code as they read
it, lower case and without the dash, sees the tool's name and purposes, ``admin``
granted and ``consortium:vote`` listed as not held (screenshot), approves, and the
tool's next poll gets a token with ``admin`` only. Without a session the page sends
the browser to sign in first.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from playwright.sync_api import Browser

from testkit.device import poll_form
from testkit.holder import did_key_holder
from tests.fixtures.authorize_flow import sign_in
from tests.fixtures.hub_process import run_cli
from tests.fixtures.wallet_hub import WalletHub

STAFF = did_key_holder("device-browser-staff")
SESSION_COOKIE = "__Host-notary-hub-session"


def test_a_browser_approves_a_device_with_the_staff_scopes_it_holds(
    browser: Browser, wallet_hub: WalletHub, tmp_path: Path
) -> None:
    process = wallet_hub.process
    granted = run_cli("staff", "grant", STAFF.did, "--scope", "admin", env=process.env,
                      cwd=process.workdir)  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as http:
        cookie = sign_in(http, STAFF)
        started = http.post(
            "/oauth/device_authorization",
            data={"client_id": "notary-hub-cli", "scope": "admin consortium:vote"},
        ).json()

    context = browser.new_context()
    # A __Host- cookie is Secure: it is set for the hub's https origin (same host; cookies
    # ignore the port), and Chromium sends Secure cookies to http on loopback too.
    secure_origin = wallet_hub.url.replace("http://", "https://", 1)
    context.add_cookies(
        [{"name": SESSION_COOKIE, "value": cookie, "url": secure_origin, "secure": True,
          "httpOnly": True, "sameSite": "Lax"}]
    )  # fmt: skip
    page = context.new_page()
    page.goto(f"{wallet_hub.url}/device")
    page.fill("#user_code", started["user_code"].replace("-", "").lower())
    page.click("#continue")
    page.wait_for_selector("#device-approval", timeout=20_000)
    assert page.locator("#user-code").inner_text() == started["user_code"]
    assert page.locator("#client-name").inner_text().startswith("Notary Hub command line")
    assert "operate the hub from your terminal" in page.locator("#scopes").inner_text()
    refused = page.locator("#refused").inner_text()
    assert "consortium:vote" in refused and "does not hold this staff scope" in refused
    shot = tmp_path / "device-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000

    page.click("#approve")
    page.wait_for_selector("#device-done", timeout=20_000)
    assert page.locator("#outcome").inner_text() == "Device approved"
    assert urlsplit(page.url).path == "/device/done"

    with httpx.Client(base_url=wallet_hub.url, timeout=30) as http:
        tokens = http.post("/oauth/token", data=poll_form("notary-hub-cli", started["device_code"]))
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["scope"] == "admin"

    # Without a session, the verification URI leads to sign-in first, then back.
    anonymous = browser.new_context().new_page()
    anonymous.goto(started["verification_uri_complete"])
    assert urlsplit(anonymous.url).path == "/signin"
    back = parse_qs(urlsplit(anonymous.url).query)["next"][0]
    assert back == "/device?user_code=" + started["user_code"]
    anonymous.context.close()
    context.close()
