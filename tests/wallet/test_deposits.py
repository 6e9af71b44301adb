"""A deposit whose hub dies mid-upload: nothing half-stored, and one deposit in the end.

The served hub is killed (SIGKILL) from the upload's progress callback after a few
megabytes; the wallet reports the hub unavailable and holds no letter. The hub is
restarted on the same data directory and port, ``notary-hub wallet deposit`` is run
again, and the hub ends with one deposit for the wallet's DID and the wallet with one
verified letter; a third run (same file, same title) is answered with that deposit.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.wallets import directory_fingerprint, wallet_session
from tests.fixtures.hub_process import CLI, HubProcess
from tests.fixtures.wallet_hub import FAST_HUB, PASSPHRASE
from wallet.chain_view import ChainView
from wallet.deposits import Depositor
from wallet.did_operations import create_ethr
from wallet.errors import WalletError
from wallet.hub_client import HubClient, HubUnavailable
from wallet.receiving import Receiver
from wallet.wallet import Wallet, WalletConfig

pytestmark = pytest.mark.slow

SIZE = 24 * 1024 * 1024
KILL_AFTER = 4 * 1024 * 1024


@pytest.fixture
def dying_hub(tmp_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path / "hub", FAST_HUB)
    hub.workdir.mkdir()
    hub.start()
    yield hub
    hub.kill()


def _deposit_cli(wallet: Path, file: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    env["NOTARY_HUB_WALLET_PASSPHRASE"] = PASSPHRASE
    return subprocess.run(
        [str(CLI), "wallet", "--wallet", str(wallet), "deposit", str(file), "--title", "Big"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_hub_killed_mid_upload_ends_with_one_deposit(
    dying_hub: HubProcess, tmp_path: Path
) -> None:
    directory = tmp_path / "wallet"
    rpc = f"{dying_hub.url}/rpc"
    config = WalletConfig(dying_hub.url, rpc, dying_hub.token)
    big = tmp_path / "recording.bin"
    big.write_bytes(os.urandom(SIZE))
    wallet, _ = Wallet.create(directory, PASSPHRASE, config=config)
    killed: list[int] = []

    def progress(sent: int, total: int) -> None:
        if sent >= KILL_AFTER and not killed:
            killed.append(sent)
            dying_hub.kill()

    try:
        with ChainView.connect(rpc) as chain:
            create_ethr(wallet, chain.chain_id)
            session = wallet_session(wallet, dying_hub.url, chain)
            session.access_token()  # signed in (and the tokens kept) before the upload
            before = directory_fingerprint(directory)
            hub = HubClient(dying_hub.url, None, auth=session.auth())
            depositor = Depositor(wallet, hub, Receiver(chain), sleep=lambda _: None)
            with hub, pytest.raises(HubUnavailable):
                depositor.deposit(big, title="Big", progress=progress)
        assert killed, "the upload finished before the hub was killed"
        assert wallet.credentials.list() == []
        assert directory_fingerprint(directory) == before  # nothing half-stored
    finally:
        wallet.close()

    # The hub (and the chain node it serves at /rpc) still down: one line, wallet unchanged.
    down = _deposit_cli(directory, big)
    assert down.returncode == 1
    code = down.stderr.strip().split(": ")[1]
    assert code in ("hub_unavailable", "chain_unavailable"), down.stderr
    assert len(down.stderr.strip().splitlines()) == 1
    assert directory_fingerprint(directory) == before

    dying_hub.start()
    first = _deposit_cli(directory, big)
    assert first.returncode == 0, first.stderr
    credential_id = first.stdout.strip().splitlines()[-1]
    again = _deposit_cli(directory, big)  # the same deposit asked again: the first answers
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == credential_id

    with Wallet.open(directory, PASSPHRASE) as reopened, ChainView.connect(rpc) as chain:
        (held,) = reopened.credentials.list()
        auth = wallet_session(reopened, dying_hub.url, chain).auth()
        with HubClient(dying_hub.url, None, auth=auth) as hub:
            listed = hub.deposits()
    assert [item["size"] for item in listed["items"]] == [SIZE]
    assert held.id == credential_id
    assert held.source == listed["items"][0]["id"]


def test_without_a_hub_the_wallet_says_so() -> None:
    with (
        HubClient("http://127.0.0.1:9", None) as hub,
        pytest.raises(HubUnavailable, match="unreachable"),
    ):
        hub.deposit("any")
    with pytest.raises(WalletError, match="no hub URL"):
        HubClient(None, None)
