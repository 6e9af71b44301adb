"""Errors of building a presentation (:mod:`wallet.presentations`).

A :class:`~wallet.errors.WalletError`, so the wallet's callers catch one base; codes are
snake_case, the hub's own family (see :mod:`hub_kernel.errors`).
"""

from __future__ import annotations

from wallet.errors import WalletError


class PresentationError(WalletError):
    """A presentation that cannot be made as asked: no challenge, domain or credential,
    or a key that cannot sign the format."""

    code = "invalid_presentation"
    status_code = 400
