"""A request id for every HTTP request: ``X-Request-Id`` in, out, and in its log lines.

An incoming ``X-Request-Id`` is kept when it is sane (8 to 64 of ``A-Za-z0-9._:-``:
:func:`hub_kernel.request_context.valid_request_id`), so a proxy's or a platform's id
joins their logs to ours; anything else (too long, spaces, quotes, control characters
that could forge a log line) is replaced by a fresh id, never echoed or logged. The id
is bound for the request (:mod:`hub_kernel.request_context`), so every log line the
request causes carries it, and returned in the response's ``X-Request-Id``.

A client chooses its own id: it correlates, it does not authenticate; two clients may
send the same one.
"""

from __future__ import annotations

import logging
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_kernel.request_context import bound_request_id, valid_request_id

HEADER = b"x-request-id"
log = logging.getLogger(__name__)


def new_request_id() -> str:
    return secrets.token_hex(16)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = _incoming(scope)
        request_id = incoming if incoming is not None and valid_request_id(incoming) else None
        request_id = request_id or new_request_id()
        header = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        with bound_request_id(request_id):
            if incoming is not None and incoming != request_id:
                log.info("X-Request-Id refused: replaced", extra={"length": len(incoming)})
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                # uvicorn logs the traceback outside the request's context: name it here.
                log.error("request failed", extra={"exception": type(exc).__name__})
                raise


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == HEADER:
            return str(value.decode("latin-1"))
    return None
