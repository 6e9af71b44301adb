"""Errors of the wallet sign-in (:mod:`oauth_server.signin`, :mod:`oauth_server.openid4vp`).

Each refusal names its reason with its own code, so a wallet, a page and a test can
tell a replay from an expiry from a forgery. Codes are ours, in snake_case
(:mod:`hub_kernel.errors`); the wallet's error reports of OpenID4VP §8.5 are not
needed, since the hub is the verifier and answers the wallet directly.
"""

from __future__ import annotations

from hub_kernel.errors import HubError


class SigninError(HubError):
    code = "signin_error"
    status_code = 400


class SigninRequestNotFound(SigninError):
    code = "signin_request_not_found"
    status_code = 404


class SigninRequestExpired(SigninError):
    code = "signin_request_expired"
    status_code = 410


class RequestObjectFetched(SigninError):
    """The request object is served once: a second fetch is someone else's."""

    code = "request_object_fetched"
    status_code = 410


class SigninAlreadyAnswered(SigninError):
    """A second response to one request: a replay, or a race lost."""

    code = "signin_response_replayed"
    status_code = 409


class SigninStateMismatch(SigninError):
    code = "signin_state_mismatch"
    status_code = 400


class InvalidVpToken(SigninError):
    """The vp_token is not what the request's DCQL query asked for, or does not verify."""

    code = "invalid_vp_token"
    status_code = 400


class NonceMismatch(InvalidVpToken):
    """The presentation answers another nonce: another sign-in's, or a replayed one."""

    code = "signin_nonce_mismatch"


class WrongAudience(InvalidVpToken):
    """The presentation is addressed to another verifier."""

    code = "signin_wrong_audience"


class InvalidRequestObject(SigninError):
    """A request object whose signature, type, audience or claims do not hold."""

    code = "invalid_request_object"
    status_code = 400


class NotThisBrowser(SigninError):
    """Polling from a browser other than the one that started the sign-in."""

    code = "signin_not_this_browser"
    status_code = 403


class UnsafeNext(SigninError):
    """A ``next`` that is not a path on the hub itself: an open redirect."""

    code = "unsafe_next"
    status_code = 400


class TooManySignins(SigninError):
    code = "too_many_signins"
    status_code = 429


class AccountNotFound(SigninError):
    code = "account_not_found"
    status_code = 404


class DidAlreadyLinked(SigninError):
    code = "did_already_linked"
    status_code = 409
