"""Who calls each bearer-token route, and whether the token grants the route's scope.

RFC 6750 (bearer tokens) with RFC 9068 JWT access tokens: every protected route takes
``Depends(authenticator.require_scope(scope))``, the one place scopes are checked; it
answers 401 ``invalid_token`` (RFC 6750 §3.1) for a missing or bad token and 403
``insufficient_scope`` naming the scope for a token without it, and gives the route the
token's :class:`oauth_server.caller.Caller`.

A token is an OAuth access token checked by the configured :class:`TokenValidator` (the
authorisation server's ``AccessTokenValidator``), or, in dev mode only, one of the static
bootstrap tokens (:mod:`notary_hub.static_tokens`), which hold every scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from hub_kernel.errors import HubError
from notary_hub.identity_errors import InsufficientScope, InvalidToken, MissingToken
from notary_hub.static_tokens import StaticTokens
from oauth_server.caller import Caller

EVIDENCE_DEPOSIT = "evidence:deposit"
EVIDENCE_READ = "evidence:read"
CREDENTIALS_ISSUE = "credentials:issue"
CREDENTIALS_STATUS = "credentials:status"
REGISTRAR_RELAY = "registrar:relay"
CONSORTIUM_VOTE = "consortium:vote"
DRAWS_MANAGE = "draws:manage"
EVIDENCE_CAPTURE = "evidence:capture"
ADMIN = "admin"
# The scopes of the hub's own API (issue 13 §8): what a bootstrap token holds.
API_SCOPES = frozenset(
    {
        EVIDENCE_DEPOSIT,
        EVIDENCE_READ,
        CREDENTIALS_ISSUE,
        CREDENTIALS_STATUS,
        REGISTRAR_RELAY,
        CONSORTIUM_VOTE,
        DRAWS_MANAGE,
        EVIDENCE_CAPTURE,
        ADMIN,
    }
)

# Longer is no token the hub issued: refused before any parsing (RFC 9068 tokens of the
# hub's claims are well under 2 KiB).
MAX_TOKEN_LENGTH = 8192

_bearer = HTTPBearer(auto_error=False)


class TokenValidator(Protocol):
    """Checks an OAuth access token: the :class:`Caller` it names, or a ``HubError`` with
    status 401 (``OAuthError("invalid_token")``) when it is bad, expired, revoked or for
    another audience."""

    def validate(self, token: str) -> Caller: ...


class Authenticator:
    """The hub's bearer-token check; :meth:`require_scope` makes each route's dependency.

    ``validator`` checks OAuth access tokens (none: only bootstrap tokens are known);
    ``bootstrap`` holds the dev-mode static tokens, and must be empty outside dev mode.
    """

    def __init__(
        self, validator: TokenValidator | None = None, bootstrap: StaticTokens | None = None
    ) -> None:
        self._validator = validator
        self._bootstrap = bootstrap

    def authenticate(self, token: str) -> Caller:
        """The caller ``token`` names, or :class:`InvalidToken` (bootstrap first: no I/O)."""
        caller = self._bootstrap.match(token) if self._bootstrap else None
        return caller if caller is not None else self._validate(token)

    def _validate(self, token: str) -> Caller:
        if self._validator is None:
            raise InvalidToken("the bearer token is not valid")
        try:
            return self._validator.validate(token)
        except HubError as exc:
            if exc.status_code != 401:
                raise
            raise InvalidToken(exc.message) from None

    def require_scope(self, scope: str) -> Callable[..., Awaitable[Caller]]:
        """A FastAPI dependency admitting a caller whose token grants ``scope``."""
        if scope not in API_SCOPES:
            raise ValueError(f"{scope!r} is not a scope of the hub's API")

        # async: a bootstrap token is checked on the event loop; an OAuth token goes to
        # the thread pool, as its validator may ask the database whether it is revoked.
        async def require(
            credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
        ) -> Caller:
            if credentials is None or credentials.scheme.lower() != "bearer":
                raise MissingToken()
            token = credentials.credentials
            if len(token) > MAX_TOKEN_LENGTH:
                raise InvalidToken(f"the bearer token is longer than {MAX_TOKEN_LENGTH} characters")
            caller = self._bootstrap.match(token) if self._bootstrap else None
            if caller is None:
                caller = await run_in_threadpool(self._validate, token)
            if scope not in caller.scopes:
                raise InsufficientScope(scope)
            return caller

        return require
