"""The id of the HTTP request a piece of work belongs to, carried by a context variable.

``notary_hub``'s request-id middleware binds it for the length of a request; a service
that records work for later (a deposit) stores :func:`current_request_id` with it, and
the background stage that later moves that work binds the stored id again
(:func:`bound_request_id`), so every log line of the request and of the work it started
names one id. Log formatting reads it (:mod:`notary_hub.logging`); nothing here logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID_MAX_LENGTH = 64
# What an incoming X-Request-Id may be: a UUID, a trace id, a load balancer's id; never
# anything that could forge a log line or a header (no spaces, quotes, controls).
REQUEST_ID_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:-]{{7,{REQUEST_ID_MAX_LENGTH - 1}}}")

_REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The request id bound in this context (``None`` outside any request)."""
    return _REQUEST_ID.get()


def valid_request_id(value: str) -> bool:
    """Whether ``value`` is an acceptable request id: 8 to 64 of ``A-Za-z0-9._:-``."""
    return REQUEST_ID_PATTERN.fullmatch(value) is not None


@contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Bind ``request_id`` for the block (``None`` binds nothing new)."""
    if request_id is None:
        yield
        return
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)
