"""The HTTP face of :class:`chain_adapter.rpc_server.RpcServer`: ``POST /rpc``.

JSON-RPC 2.0 (https://www.jsonrpc.org/specification) is transport-agnostic; this
follows what Ethereum nodes do over HTTP: every JSON-RPC answer, errors included,
is HTTP 200; a body that is not JSON gets the ``-32700`` parse error (§5.1); a
request made only of notifications gets an empty 200. Bodies over
:data:`MAX_BODY_BYTES` are refused with 413 before being parsed.

Thin by design: the protocol lives in the server, which runs in the thread pool
because the embedded chain is synchronous.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from chain_adapter.json_guard import too_deep
from chain_adapter.rpc_dispatch import INVALID_REQUEST, PARSE_ERROR, RpcError, error_response
from chain_adapter.rpc_server import RpcServer

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32  # JSON-RPC requests for Ethereum nest about 6 levels deep
_JSON = "application/json"


def rpc_router(server_provider: Callable[[], RpcServer]) -> APIRouter:
    """An ``APIRouter`` serving ``POST /rpc`` (and ``/rpc/``) from ``server_provider()``."""
    router = APIRouter(tags=["json-rpc"])

    async def rpc(request: Request) -> Response:
        body = await _read_body(request)
        if body is None:
            error = RpcError(INVALID_REQUEST, f"request body exceeds {MAX_BODY_BYTES} bytes")
            return _json(error_response(error), status_code=413)
        try:
            payload = _parse(body)
        except ValueError as exc:
            return _json(error_response(RpcError(PARSE_ERROR, f"parse error: {exc}")))
        answer = await run_in_threadpool(server_provider().handle, payload)
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
