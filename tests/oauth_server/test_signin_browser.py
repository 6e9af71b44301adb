"""A real browser signs in with the wallet: Debian's chromium, driven by Playwright for
Python (no browser download), against a served hub, the wallet CLI answering.

The page shows the QR code and the short code; the wallet (``notary-hub wallet login``,
a subprocess) shows the same code and answers; the page notices by polling with its
own cookie and continues to ``next`` (here ``/signin/session``, which names the DID
the session cookie signs in).
"""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Browser

from testkit.wallets import new_test_wallet
from tests.fixtures.wallet_hub import PASSPHRASE, WalletHub
from wallet.chain_view import ChainView
from wallet.did_operations import create_ethr
from wallet.wallet import WalletConfig


def test_a_browser_signs_in_with_the_wallet(
    browser: Browser, wallet_hub: WalletHub, tmp_path: Path
) -> None:
    wallet = tmp_path / "wallet"
    made, _ = new_test_wallet(
        wallet, passphrase=PASSPHRASE, config=WalletConfig(wallet_hub.url, wallet_hub.rpc)
    )
    with made, ChainView.connect(wallet_hub.rpc) as chain:
        did = create_ethr(made, chain.chain_id).did

    page = browser.new_page()
    page.goto(f"{wallet_hub.url}/signin?next=/signin/session")
    assert page.locator("#qr svg").count() == 1
    code = page.locator("#code").inner_text()
    link = page.locator("#deep-link").get_attribute("href")
    assert link is not None and link.startswith("openid4vp://?client_id=")
    shot = tmp_path / "signin-page.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 1000

    login = wallet_hub.wallet(wallet, "login", link, stdin="y\n")
    assert login.returncode == 0, login.stderr
    assert f"code {code}" in login.stdout.splitlines()

    page.wait_for_url(f"{wallet_hub.url}/signin/session", timeout=20_000)
    session = json.loads(page.locator("body").inner_text())
    assert session["signedIn"] is True and session["did"] == did
    cookies = {c["name"]: c for c in page.context.cookies()}
    kept = cookies["__Host-notary-hub-session"]
    assert kept["httpOnly"] and kept["secure"] and kept["sameSite"] == "Lax"
    page.close()
