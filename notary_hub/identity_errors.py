"""Refusals of a bearer-token route: RFC 6750 §3.1 error codes, with their challenge.

Each carries the ``WWW-Authenticate`` header RFC 6750 §3 requires on a 401 and names the
missing scope on a 403, so a client learns what to ask the authorisation server for.
"""

from __future__ import annotations

from hub_kernel.errors import HubError

REALM = "notary-hub"


class BearerTokenError(HubError):
    code = "invalid_request"
    status_code = 400


class MissingToken(BearerTokenError):
    """No bearer token at all: RFC 6750 §3.1 says the challenge then carries no error code."""

    code = "invalid_token"
    status_code = 401

    def __init__(self, message: str = "a bearer token is required") -> None:
        super().__init__(message, headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})


class InvalidToken(BearerTokenError):
    """A token that is malformed, expired, revoked, for another audience, or unknown."""

    code = "invalid_token"
    status_code = 401

    def __init__(self, message: str) -> None:
        challenge = f'Bearer realm="{REALM}", error="invalid_token"'
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class InsufficientScope(BearerTokenError):
    """A valid token without the scope the route needs (RFC 6750 §3.1)."""

    code = "insufficient_scope"
    status_code = 403

    def __init__(self, scope: str) -> None:
        self.scope = scope
        challenge = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
        super().__init__(
            f"this route needs the {scope!r} scope, which the token was not granted",
            headers={"WWW-Authenticate": challenge},
        )
