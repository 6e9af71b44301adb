"""One process per wallet: a second process, or a second open, gets WalletBusy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testkit.npm import REPO
from testkit.wallets import TEST_PASSPHRASE, directory_fingerprint, new_test_wallet
from wallet.errors import WalletBusy, WalletError
from wallet.wallet import Wallet

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from wallet.wallet import Wallet

    with Wallet.open(Path(sys.argv[1]), sys.argv[2]):
        print("holding", flush=True)
        sys.stdin.readline()
    """
)


def _holder(wallet_path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(wallet_path), TEST_PASSPHRASE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "holding"
    return process


@pytest.fixture
def closed_wallet(wallet_path: Path) -> Path:
    new_test_wallet(wallet_path)[0].close()
    return wallet_path


def test_second_process_is_refused_until_the_first_exits(closed_wallet: Path) -> None:
    holder = _holder(closed_wallet)
    try:
        before = directory_fingerprint(closed_wallet)
        with pytest.raises(WalletBusy, match="in use by another process"):
            Wallet.open(closed_wallet, TEST_PASSPHRASE)
        assert directory_fingerprint(closed_wallet) == before
    finally:
        assert holder.stdin is not None
        holder.stdin.write("done\n")
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    Wallet.open(closed_wallet, TEST_PASSPHRASE).close()


def test_a_killed_holder_leaves_no_stale_lock(closed_wallet: Path) -> None:
    holder = _holder(closed_wallet)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    Wallet.open(closed_wallet, TEST_PASSPHRASE).close()


def test_second_open_in_one_process_is_refused(wallet: Wallet, wallet_path: Path) -> None:
    with pytest.raises(WalletBusy):
        Wallet.open(wallet_path, TEST_PASSPHRASE)


def test_a_closed_wallet_releases_and_refuses_use(wallet_path: Path) -> None:
    wallet, _ = new_test_wallet(wallet_path)
    wallet.close()
    wallet.close()  # idempotent
    with pytest.raises(WalletError, match="closed"):
        wallet.keys()
    Wallet.open(wallet_path, TEST_PASSPHRASE).close()
