"""A fresh holder wallet per test (light KDF parameters from ``testkit.wallets``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.wallets import new_test_wallet
from wallet.wallet import Wallet


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
