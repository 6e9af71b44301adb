"""Holder wallets for tests: light KDF parameters and a fingerprint of a wallet directory.

:data:`TEST_KDF` is passed explicitly to ``Wallet.create``/``restore``: a test unlocks
in milliseconds and the header records the light parameters, while every real wallet
keeps :data:`wallet.kdf.DEFAULT_KDF` (nothing global lowers it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from wallet.chain_view import ChainView
from wallet.holder_keys import did_presenter
from wallet.hub_session import HubSession
from wallet.kdf import KdfParams
from wallet.wallet import Wallet, WalletConfig

__all__ = [
    "TEST_KDF",
    "TEST_PASSPHRASE",
    "directory_fingerprint",
    "new_test_wallet",
    "wallet_session",
]

TEST_KDF = KdfParams(memory_cost=1024, iterations=1, lanes=1)
TEST_PASSPHRASE = "correct horse battery staple"


def new_test_wallet(
    directory: Path, *, passphrase: str = TEST_PASSPHRASE, config: WalletConfig | None = None
) -> tuple[Wallet, str]:
    """A new wallet under light KDF parameters, and its recovery phrase."""
    return Wallet.create(directory, passphrase, config=config, kdf=TEST_KDF)


def directory_fingerprint(directory: Path) -> dict[str, tuple[int, str]]:
    """Every file under ``directory`` with its mode and SHA-256: equal before and after
    an operation means the operation left the disk unchanged."""
    if not directory.exists():
        return {}
    return {
        str(path.relative_to(directory)): (
            path.stat().st_mode,
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "",
        )
        for path in sorted(directory.rglob("*"))
    } | {".": (directory.stat().st_mode, "")}


def wallet_session(wallet: Wallet, hub_url: str, chain: ChainView) -> HubSession:
    """The wallet's own session with the hub at ``hub_url``, signing in as its default DID
    (its document read over ``chain``), as ``notary-hub wallet deposit`` does."""
    record = wallet.did()
    return HubSession(wallet, hub_url, record.did, did_presenter(wallet, record, chain.document))
