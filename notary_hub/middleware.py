"""ASGI middleware guarding every JSON request body before any parser sees it.

Bodies with a JSON media type are buffered up to a size limit (413 beyond) and
refused with 400 when nested too deep (see :mod:`hub_kernel.json_guard`).
Other bodies, such as multipart uploads, pass through untouched and streaming.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub_kernel.json_guard import too_deep

MAX_JSON_BODY = 10 * 1024 * 1024


class JsonGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body: int = MAX_JSON_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _reject(send, 413, "payload_too_large", "the JSON body is too large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if too_deep(body.decode("utf-8", errors="replace")):
            await _reject(send, 400, "invalid_request", "the JSON body is nested too deeply")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    body: dict[str, Any] = {"error": code, "message": message}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
