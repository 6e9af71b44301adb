"""API-token authentication for partner platforms and staff.

A stand-in for OAuth access tokens until the OAuth server lands: one FastAPI
dependency that every protected route uses, so swapping it is one change.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False)


def api_token_dependency(api_tokens: list[str]) -> Callable[..., Awaitable[str]]:
    """A dependency that admits a request only with one of ``api_tokens`` as bearer token."""
    tokens = [token.encode() for token in api_tokens]

    # async: it does no blocking I/O, so FastAPI runs it on the event loop instead of
    # handing it to the thread pool (one hop less per request).
    async def require_token(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> str:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        presented = credentials.credentials.encode()
        # Compare against every token so timing says nothing about which matched.
        matched = False
        for token in tokens:
            matched |= hmac.compare_digest(presented, token)
        if not matched:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "the bearer token is not valid",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return "api-token"

    return require_token
