"""``POST /evidence/verify``: the custody-letter check of ``notary-hub verify --file``, for web use.

Thin. JSON ``{"letter": {...}}`` checks the letter and its evidence; a
``multipart/form-data`` body with a ``letter`` field (the letter as JSON) and a
``file`` part also checks the file, hashed as it streams in and never stored.
Answers 200 when everything verifies and 422 (same body) when something does
not, like ``POST /credentials/verify``. Public, so rate-limited per address
(:mod:`evidence.public_limits`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from chain_adapter.rpc_limits import RateLimiter
from credentials.verification import http_status
from evidence.deposit.letter_verification import LetterVerifier
from evidence.deposit.openapi import VERIFY_REQUEST_BODY
from evidence.digests import Digests, MultiDigest
from evidence.errors import InvalidDeposit
from evidence.http_body import media_type, read_form, read_json
from evidence.multipart import FILE_FIELD, FormUploadParser
from evidence.public_limits import public_limit

MAX_JSON_BYTES = 1 << 20


class _HashingSink:
    """A file part that is only hashed: verification stores nothing."""

    def __init__(self) -> None:
        self.digest = MultiDigest()

    def write(self, chunk: bytes) -> None:
        self.digest.update(chunk)

    def abort(self) -> None:
        """Nothing was kept, so nothing to discard."""


def _letter(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidDeposit("the letter is not valid JSON") from None


def verify_router(
    letters: LetterVerifier, *, max_file_bytes: int, limiter: RateLimiter
) -> APIRouter:
    router = APIRouter(prefix="/evidence", tags=["evidence"])

    async def receive_form(request: Request) -> tuple[Any, Digests | None]:
        sink = _HashingSink()

        def open_sink(_fields: Mapping[str, str]) -> _HashingSink:
            return sink

        parser = FormUploadParser(
            request.headers.get("content-type"), open_sink, max_file_bytes=max_file_bytes
        )
        form = await read_form(request, parser)
        if "letter" not in form.fields:
            raise InvalidDeposit("the form needs a 'letter' field with the custody letter")
        digests = sink.digest.finalize() if form.sink is not None else None
        return _letter(form.fields["letter"]), digests

    @router.post(
        "/verify",
        response_model=None,
        openapi_extra={"requestBody": VERIFY_REQUEST_BODY},
        dependencies=[Depends(public_limit(limiter))],
    )
    async def verify(request: Request) -> JSONResponse:
        kind = media_type(request)
        digests: Digests | None = None
        if kind == "multipart/form-data":
            letter, digests = await receive_form(request)
        elif kind == "application/json":
            body = await read_json(request, MAX_JSON_BYTES)
            if not isinstance(body, dict) or "letter" not in body:
                raise InvalidDeposit('send {"letter": <the custody letter>}')
            letter = body["letter"]
        else:
            raise InvalidDeposit(
                f"send application/json, or multipart/form-data with 'letter' and '{FILE_FIELD}'"
            )
        result = await run_in_threadpool(lambda: letters.verify(letter, digests=digests))
        return JSONResponse(result.to_body(), status_code=http_status(result))

    return router
