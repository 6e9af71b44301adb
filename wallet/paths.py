"""Where a wallet lives: ``--wallet DIR``, else ``$NOTARY_HUB_WALLET``, else the home default."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_WALLET", "WALLET_ENV", "wallet_dir"]

WALLET_ENV = "NOTARY_HUB_WALLET"
DEFAULT_WALLET = Path("~/.notary-hub/wallet")


def wallet_dir(option: Path | None) -> Path:
    """The wallet directory: the option, the environment variable, or ``~/.notary-hub/wallet``."""
    if option is not None:
        return option.expanduser()
    from_env = os.environ.get(WALLET_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return DEFAULT_WALLET.expanduser()
