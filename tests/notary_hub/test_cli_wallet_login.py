"""``notary-hub wallet login`` against a served hub: the page a browser opens, the wallet
CLI answering its link, and the page's browser signed in.

The browser is plain HTTP (:mod:`testkit.signin`), holding its cookies itself; the
wallet is the real command in a subprocess, with a did:ethr on the hub's chain. The
person stays the same account when the DID's keys rotate. The links name the origin
``serve`` listens on, ``--port`` included.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx

from testkit.signin import SESSION_COOKIE, open_page, poll, session_of, set_cookie
from testkit.waiting import wait_until
from testkit.wallets import new_test_wallet
from tests.fixtures.hub_process import CLI, free_port
from tests.fixtures.wallet_hub import PASSPHRASE, WalletHub
from wallet.chain_view import ChainView
from wallet.did_operations import DidOperations, create_ethr
from wallet.hub_client import HubClient
from wallet.openid4vp_login import parse_link
from wallet.wallet import DidRecord, Wallet, WalletConfig


def _wallet_with_did(hub: WalletHub, directory: Path) -> str:
    config = WalletConfig(hub.url, hub.rpc, hub.token)
    made, _ = new_test_wallet(directory, passphrase=PASSPHRASE, config=config)
    with made, ChainView.connect(hub.rpc) as chain:
        return create_ethr(made, chain.chain_id).did


def _add_and_rotate_a_key(hub: WalletHub, wallet: Path) -> DidRecord:
    """An Ed25519 authentication key published, then rotated: a new key, the same DID."""
    opened = Wallet.open(wallet, PASSPHRASE)
    with opened, ChainView.connect(hub.rpc) as chain, HubClient(hub.url, hub.token) as client:
        operations = DidOperations(opened, client, chain)
        operations.add_key(None, "authentication")
        record, _ = operations.rotate_key(None, "ed25519-0")
    return record


def _signed_in(hub: WalletHub, browser: httpx.Client, wallet: Path, *extra: str) -> dict[str, str]:
    """The page opened, the wallet's login run (the code confirmed), the session it gives."""
    page = open_page(browser, "/healthz")
    login = hub.wallet(wallet, "login", page.link, *extra, stdin="y\n")
    assert login.returncode == 0, login.stderr
    assert login.stdout.splitlines()[:2] == [f"sign in to {hub.url}", f"code {page.code}"]
    status = poll(browser, page)
    assert status.status_code == 200, status.text
    assert status.json() == {"status": "signed_in", "next": "/healthz"}
    cookie = set_cookie(status, SESSION_COOKIE)
    assert cookie is not None
    header = next(h for h in status.headers.get_list("set-cookie") if SESSION_COOKIE in h)
    assert {"Secure", "HttpOnly", "SameSite=lax"} <= {p.strip() for p in header.split(";")}
    assert poll(browser, page).json()["status"] == "completed"
    session: dict[str, str] = session_of(browser, cookie)
    return session


def test_wallet_login_signs_the_page_in_and_keeps_the_account(
    wallet_hub: WalletHub, tmp_path: Path
) -> None:
    wallet = tmp_path / "wallet"
    did = _wallet_with_did(wallet_hub, wallet)
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as browser:
        first = _signed_in(wallet_hub, browser, wallet)  # a vp+jwt by the controller key
        assert first["signedIn"] and first["did"] == did

        record = _add_and_rotate_a_key(wallet_hub, wallet)
        assert record.did == did
        second = _signed_in(wallet_hub, browser, wallet, "--format", "di")  # the new key
        assert second == first  # the same account: the DID is the same


def test_a_declined_code_answers_nothing(wallet_hub: WalletHub, tmp_path: Path) -> None:
    wallet = tmp_path / "wallet"
    _wallet_with_did(wallet_hub, wallet)
    with httpx.Client(base_url=wallet_hub.url, timeout=30) as browser:
        page = open_page(browser)
        declined = wallet_hub.wallet(wallet, "login", page.link, stdin="n\n")
        assert declined.returncode != 0
        assert "error: login_declined:" in declined.stderr
        assert poll(browser, page).json()["status"] == "fetched"  # fetched, never answered
        again = wallet_hub.wallet(wallet, "login", page.link, "--yes")
        assert again.returncode != 0  # the request object is served once
        assert "request_object_fetched" in again.stderr


def test_a_link_elsewhere_is_refused_before_anything_is_fetched(
    wallet_hub: WalletHub, tmp_path: Path
) -> None:
    wallet = tmp_path / "wallet"
    _wallet_with_did(wallet_hub, wallet)
    links = [
        "https://hub.example/signin",
        f"openid4vp://?client_id={wallet_hub.url}&request_uri=http://10.0.0.1/object",
        "openid4vp://?client_id=http://hub.example&request_uri=http://hub.example/object",
    ]
    for link in links:
        refused = wallet_hub.wallet(wallet, "login", link, "--yes")
        assert refused.returncode != 0
        assert "error: invalid_login_link:" in refused.stderr, refused.stderr


def test_serve_port_names_the_origin_of_sign_in_links(tmp_path: Path) -> None:
    """``serve --port`` is where the links point, not the configured port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    with (tmp_path / "serve.log").open("w") as log:
        process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(port)],
            cwd=tmp_path,
            env={**env, "NOTARY_HUB_SERVER_PORT": str(free_port())},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(url), timeout=90, interval=0.2, message="serve never answered")
        with httpx.Client(base_url=url, timeout=30) as browser:
            link = parse_link(open_page(browser).link)
        assert link.client_id == url and link.request_uri.startswith(url + "/signin/requests/")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
