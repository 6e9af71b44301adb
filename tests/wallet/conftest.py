"""A wallet, opened in this process, configured for the session's served hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.wallet_hub import PASSPHRASE, WalletHub
from wallet.chain_view import ChainView
from wallet.wallet import Wallet, WalletConfig


@pytest.fixture
def wallet(wallet_hub: WalletHub, tmp_path: Path) -> Iterator[Wallet]:
    config = WalletConfig(wallet_hub.url, wallet_hub.rpc, wallet_hub.token)
    opened, _ = Wallet.create(tmp_path / "wallet", PASSPHRASE, config=config)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def chain(wallet_hub: WalletHub) -> Iterator[ChainView]:
    with ChainView.connect(wallet_hub.rpc) as view:
        yield view
