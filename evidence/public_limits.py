"""Per-address rate limits on the evidence routes anyone may call without a token.

``POST /evidence/verify`` (a custody letter, maybe with its file, checked on demand) and
the letter status a PDF's QR code links to are public: a court or a counterparty needs
no account. Each check costs signature, timestamp and chain work, so an address gets
``rate`` calls a second after a ``burst`` (a token bucket,
:class:`chain_adapter.rpc_limits.RateLimiter`) and then 429 with ``Retry-After``
(RFC 6585 §4), before any of that work is done.
https://www.rfc-editor.org/rfc/rfc6585#section-4
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from chain_adapter.rpc_limits import RateLimiter
from evidence.errors import EvidenceError


class TooManyPublicCalls(EvidenceError):
    code = "rate_limited"
    status_code = 429


def public_limit(limiter: RateLimiter) -> Callable[[Request], None]:
    """A route dependency spending one of the caller's (its address's) tokens."""

    def limited(request: Request) -> None:
        wait = limiter.take(request.client.host if request.client else "unknown")
        if wait > 0:
            raise TooManyPublicCalls(
                "too many verification calls from this address; try again later",
                headers={"Retry-After": str(max(1, round(wait)))},
            )

    return limited
