"""Reading a request body, capped, for the evidence routes: one helper for JSON, one for forms.

JSON bodies are read up to a limit and parsed once (RFC 8259); multipart bodies
(RFC 7578) are fed from ``request.stream()`` through a
:class:`~evidence.multipart.FormUploadParser` in slices, off the event loop (hashing
and encrypting are CPU work), and aborted on any failure so nothing half-received is
kept. Starlette's own form parser, which spools files to disk, is never used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from evidence.errors import InvalidDeposit, TruncatedUpload, UploadTooLarge
from evidence.multipart import FormUpload, FormUploadParser

FEED_BYTES = 1 << 20  # what is handed to the parser thread at once


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_json(
    request: Request,
    max_bytes: int,
    what: str = "the JSON body",
    *,
    too_large: Callable[[str], Exception] = InvalidDeposit,
) -> Any:
    """The body parsed as JSON; refused (``too_large``) past ``max_bytes`` without reading
    further."""
    length = request.headers.get("content-length") or ""
    if length.isdigit() and int(length) > max_bytes:
        raise too_large(f"{what} is at most {max_bytes} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise too_large(f"{what} is at most {max_bytes} bytes")
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidDeposit(f"{what} is not valid JSON") from None


async def read_form(
    request: Request,
    parser: FormUploadParser,
    *,
    max_body: int | None = None,
    feed_bytes: int = FEED_BYTES,
) -> FormUpload:
    """Feed the body to ``parser`` and return the finished form; the parser is aborted
    (its sink discarded) on a short, oversized or failed body."""
    length = request.headers.get("content-length") or ""
    if max_body is not None and length.isdigit() and int(length) > max_body:
        raise UploadTooLarge(f"the body exceeds {max_body} bytes")
    try:
        buffer = bytearray()
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) >= feed_bytes:
                data = bytes(buffer)
                buffer.clear()
                await run_in_threadpool(parser.feed, data)
        if buffer:
            await run_in_threadpool(parser.feed, bytes(buffer))
        return parser.finish()
    except ClientDisconnect:
        parser.abort()
        raise TruncatedUpload("the client went away before the body was complete") from None
    except BaseException:
        parser.abort()
        raise
