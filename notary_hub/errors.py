"""The one place where component errors become HTTP responses.

Every component error is a :class:`hub_kernel.errors.HubError` carrying ``code`` and
``status_code``; the body is always ``{"error": code, "message": ...}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub_kernel.errors import HubError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": code, "message": message, **extra}


def _not_json(error: Mapping[str, Any]) -> bool:
    """A body that does not parse as JSON, or is empty where a JSON body is required."""
    kind = error.get("type")
    return kind == "json_invalid" or (
        kind == "missing" and tuple(error.get("loc", ())) == ("body",)
    )


def install_error_handlers(app: FastAPI) -> None:
    async def hub_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HubError)
        if exc.status_code >= 500:
            log.warning("request failed", extra={"error": exc.code})
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status_code, headers=exc.headers
        )

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if any(_not_json(e) for e in exc.errors()):
            # Not JSON at all is a malformed request (RFC 9110 §15.5.1: 400); 422 is for a
            # JSON body that does not match the schema (§15.5.21).
            return JSONResponse(
                error_body("invalid_json", "the request body is not valid JSON"), status_code=400
            )
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(
            error_body("invalid_request", "the request is not valid", details=details),
            status_code=422,
        )

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    app.add_exception_handler(HubError, hub_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
