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


class SigninFailed(LoginError):
    """The hub's authorisation flow did not end in tokens: its page, redirect or token
    answer was not what the code flow expects (the hub's own error named)."""

    code = "signin_failed"
    status_code = 502


class StateMismatch(LoginError):
    """The authorisation response's ``state`` is not the one the wallet sent (RFC 6749
    §10.12: a response the wallet did not ask for), or its ``iss`` is another server's
    (RFC 9207 §2.4: mix-up)."""

    code = "state_mismatch"


class InvalidIdToken(LoginError):
    """The ID token is not the hub's for this sign-in (OpenID Connect Core §3.1.3.7)."""

    code = "invalid_id_token"
    status_code = 502
