"""The HTTP face of :class:`chain_adapter.rpc_server.RpcServer`: ``POST /rpc``.

JSON-RPC 2.0 (https://www.jsonrpc.org/specification) is transport-agnostic; this
follows what Ethereum nodes do over HTTP: every JSON-RPC answer, errors included,
is HTTP 200; a body that is not JSON gets the ``-32700`` parse error (§5.1); a
request made only of notifications gets an empty 200. Bodies over
:data:`MAX_BODY_BYTES` are refused with 413 before being parsed.

Thin by design: the protocol lives in the server. The embedded chain is
synchronous, so the server runs on :class:`~chain_adapter.rpc_limits.CallSlots`:
daemon threads of its own, a few at a time, never the thread pool the rest of the
app needs.

Abuse limits (issue 9, item 3): with a :class:`~chain_adapter.rpc_limits.RateLimiter`
a client (by IP address) over its rate gets HTTP 429 with ``Retry-After`` and a
JSON-RPC ``-32005`` error body (EIP-1474 "limit exceeded"); a request gets its
answer by its deadline (``server.limits.timeout`` after it arrived) plus
:data:`~chain_adapter.rpc_limits.ANSWER_GRACE`, else a ``-32000`` "execution timeout"
error.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from chain_adapter.rpc_dispatch import INVALID_REQUEST, PARSE_ERROR, RpcError, error_response
from chain_adapter.rpc_limits import CallSlots, CallTimedOut, RateLimiter
from chain_adapter.rpc_server import LIMIT_EXCEEDED, SERVER_ERROR, RpcServer
from hub_kernel.json_guard import too_deep

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32  # JSON-RPC requests for Ethereum nest about 6 levels deep
MAX_CONCURRENT = 4  # with the GIL, more CPU-bound executions only starve the rest of the hub
_JSON = "application/json"
# The handler reads the body itself (bounded, parsed after the rate limit); documented here.
_RPC_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["jsonrpc", "method"],
    "properties": {
        "jsonrpc": {"type": "string", "enum": ["2.0"]},
        "method": {"type": "string", "example": "eth_blockNumber"},
        "params": {"type": "array", "items": {}},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    },
}
RPC_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "a JSON-RPC 2.0 request or a batch of them",
    "content": {
        _JSON: {"schema": {"oneOf": [_RPC_REQUEST, {"type": "array", "items": _RPC_REQUEST}]}}
    },
}


def rpc_router(
    server_provider: Callable[[], RpcServer],
    *,
    rate_limiter: RateLimiter | None = None,
    max_concurrent: int = MAX_CONCURRENT,
) -> APIRouter:
    """An ``APIRouter`` serving ``POST /rpc`` (and ``/rpc/``) from ``server_provider()``.

    At most ``max_concurrent`` requests execute at once; without ``rate_limiter``
    no client is rate-limited.
    """
    router = APIRouter(tags=["json-rpc"])
    slots = CallSlots(max_concurrent)

    async def rpc(request: Request) -> Response:
        if rate_limiter is not None:
            # Before the body is parsed or anything runs: refusing must cost less than serving.
            wait = rate_limiter.take(request.client.host if request.client else "unknown")
            if wait > 0:
                return _rate_limited(wait)
        body = await _read_body(request)
        if body is None:
            error = RpcError(INVALID_REQUEST, f"request body exceeds {MAX_BODY_BYTES} bytes")
            return _json(error_response(error), status_code=413)
        try:
            payload = _parse(body)
        except ValueError as exc:
            return _json(error_response(RpcError(PARSE_ERROR, f"parse error: {exc}")))
        server = server_provider()
        deadline = time.monotonic() + server.limits.timeout
        try:
            answer = await slots.run(lambda: server.handle(payload, deadline=deadline), deadline)
        except CallTimedOut as exc:
            timed_out = RpcError(SERVER_ERROR, f"execution timeout: {exc}")
            return _json(error_response(timed_out, _request_id(payload)))
        if answer is None:
            return Response(status_code=200)
        return _json(answer)

    for path in ("/rpc", "/rpc/"):
        router.add_api_route(
            path,
            rpc,
            methods=["POST"],
            summary="Ethereum JSON-RPC 2.0 over the embedded chain",
            include_in_schema=path == "/rpc",
            openapi_extra={"requestBody": RPC_REQUEST_BODY},
        )
    return router


async def _read_body(request: Request) -> bytes | None:
    """The body, or ``None`` once it is known to exceed :data:`MAX_BODY_BYTES`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    # Content-Length may be absent (chunked) or lie: count what actually arrives.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> Any:
    text = body.decode("utf-8")
    if too_deep(text, MAX_JSON_DEPTH):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")

    # NaN and Infinity are not JSON (RFC 8259 §6), though Python's parser takes them.
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


def _json(content: Any, status_code: int = 200) -> Response:
    body = json.dumps(content, separators=(",", ":"), allow_nan=False)
    return Response(content=body, status_code=status_code, media_type=_JSON)


def _rate_limited(wait: float) -> Response:
    seconds = max(1, math.ceil(wait))  # Retry-After takes whole seconds
    error = RpcError(LIMIT_EXCEEDED, f"rate limit exceeded: retry in {seconds} s")
    response = _json(error_response(error), status_code=429)
    response.headers["Retry-After"] = str(seconds)
    return response


def _request_id(payload: Any) -> Any:
    # The id of a single request, when it is a valid one; a batch gets null (§5).
    request_id = payload.get("id") if isinstance(payload, dict) else None
    valid = isinstance(request_id, str | int | float) and not isinstance(request_id, bool)
    return request_id if valid else None
