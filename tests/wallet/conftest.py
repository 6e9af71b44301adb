"""A fresh holder wallet per test (light KDF parameters from ``testkit.wallets``), and one
configured for the session's served hub with that hub's chain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.wallets import new_test_wallet
from tests.fixtures.wallet_hub import WalletHub
from wallet.chain_view import ChainView
from wallet.wallet import Wallet, WalletConfig


@pytest.fixture
def wallet_path(tmp_path: Path) -> Path:
    return tmp_path / "wallet"


@pytest.fixture
def created(wallet_path: Path) -> Iterator[tuple[Wallet, str]]:
    """An open wallet and its recovery phrase; closed after the test."""
    wallet, phrase = new_test_wallet(wallet_path)
    with wallet:
        yield wallet, phrase


@pytest.fixture
def wallet(created: tuple[Wallet, str]) -> Wallet:
    return created[0]


@pytest.fixture
def hub_wallet(wallet_hub: WalletHub, wallet_path: Path) -> Iterator[Wallet]:
    """An open wallet configured for the session's served hub (its URL, /rpc and token)."""
    config = WalletConfig(wallet_hub.url, wallet_hub.rpc, wallet_hub.token)
    wallet, _ = new_test_wallet(wallet_path, config=config)
    with wallet:
        yield wallet


@pytest.fixture
def chain(wallet_hub: WalletHub) -> Iterator[ChainView]:
    """The wallet's view of the served hub's chain (its /rpc)."""
    with ChainView.connect(wallet_hub.rpc) as view:
        yield view
