"""Errors of signing in with the wallet (:mod:`wallet.openid4vp_login`).

A :class:`~wallet.errors.WalletError`, so the wallet's callers catch one base; codes are
snake_case, the hub's own family (see :mod:`hub_kernel.errors`).
"""

from __future__ import annotations

from wallet.errors import WalletError


class LoginError(WalletError):
    code = "login_error"
    status_code = 400


class InvalidLoginLink(LoginError):
    """Not an ``openid4vp://`` link (or QR payload) naming a client and its request_uri."""

    code = "invalid_login_link"


class UntrustedRequest(LoginError):
    """A request object whose signature, type, issuer, audience or lifetime do not hold:
    the wallet answers nothing."""

    code = "untrusted_request"


class UnsupportedRequest(LoginError):
    """A request the wallet cannot answer (a response mode or query it does not know)."""

    code = "unsupported_request"
