"""A real browser through the code flow: Debian's chromium, driven by Playwright for
Python, against a served hub, the wallet CLI answering the sign-in.

A partner's authorisation URL leads to the sign-in page; the wallet answers; the page
continues to the consent page (screenshot); Approve lands on the partner's redirect URI
(a small local server capturing ``code``, ``state`` and ``iss``). A second partner's URL
in the same browser then goes straight to its own consent page: single sign-on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, Page

from testkit.oauth import pkce_pair
from testkit.wallets import new_test_wallet
from tests.fixtures.authorize_flow import Platform, authorize_params, register
from tests.fixtures.wallet_hub import PASSPHRASE, WalletHub
from wallet.chain_view import ChainView
from wallet.did_operations import create_ethr
from wallet.wallet import WalletConfig


class Callback(BaseHTTPRequestHandler):
    """The partner's redirect URI: records each query, answers a tiny page."""

    captured: list[dict[str, str]] = []  # noqa: RUF012 (shared with the test)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path.endswith("/cb"):  # not the browser's favicon request
            query = parse_qs(url.query)
            self.captured.append({name: values[0] for name, values in query.items()})
        body = b"<!doctype html><title>partner</title><p id=partner>back at the partner</p>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def partner() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    Callback.captured = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _authorize_url(hub: WalletHub, platform: Platform, state: str) -> str:
    _, challenge = pkce_pair()
    return f"{hub.url}/oauth/authorize?" + urlencode(
        authorize_params(platform, "openid did", challenge, state=state)
    )


def _consent_page(page: Page) -> None:
    page.wait_for_selector("#consent", timeout=20_000)
    assert urlsplit(page.url).path == "/oauth/authorize"


def test_a_browser_signs_in_consents_and_lands_at_the_partner_then_sso(
    browser: Browser, wallet_hub: WalletHub, partner: str, tmp_path: Path
) -> None:
    scopes = {"openid": "to sign you in", "did": "to name you on your contracts"}
    first = register(wallet_hub.process, f"{partner}/first/cb", scopes)
    second = register(wallet_hub.process, f"{partner}/second/cb", scopes)
    wallet = tmp_path / "wallet"
    made, _ = new_test_wallet(
        wallet, passphrase=PASSPHRASE, config=WalletConfig(wallet_hub.url, wallet_hub.rpc)
    )
    with made, ChainView.connect(wallet_hub.rpc) as chain:
        create_ethr(made, chain.chain_id)

    context = browser.new_context()
    page = context.new_page()
    page.goto(_authorize_url(wallet_hub, first, "first-state"))
    assert urlsplit(page.url).path == "/signin"
    code = page.locator("#code").inner_text()
    link = page.locator("#deep-link").get_attribute("href")
    assert link is not None
    login = wallet_hub.wallet(wallet, "login", link, stdin="y\n")
    assert login.returncode == 0, login.stderr
    assert f"code {code}" in login.stdout.splitlines()

    _consent_page(page)
    assert page.locator("#client-name").inner_text().startswith("platform-")
    assert "to name you on your contracts" in page.locator("#scopes").inner_text()
    assert page.locator("#did-notice").count() == 1
    shot = tmp_path / "consent-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000

    page.click("#approve")
    page.wait_for_selector("#partner", timeout=20_000)
    landed = Callback.captured[-1]
    assert urlsplit(page.url).path == "/first/cb"
    assert landed["state"] == "first-state" and landed["iss"] == wallet_hub.url
    assert len(landed["code"]) >= 43

    # Single sign-on: the second partner's request goes straight to its consent page.
    page.goto(_authorize_url(wallet_hub, second, "second-state"))
    _consent_page(page)
    page.click("#approve")
    page.wait_for_selector("#partner", timeout=20_000)
    assert Callback.captured[-1]["state"] == "second-state"
    assert urlsplit(page.url).path == "/second/cb"
    context.close()
