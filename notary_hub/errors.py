"""The one place where component errors become HTTP responses.

Each component has a small hierarchy whose classes carry ``code`` and
``status_code``; the body is always ``{"error": code, "message": ...}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chain_adapter.errors import ChainError
from chain_adapter.keystore import KeyStoreError
from credentials.errors import CredentialError
from did_registry.errors import DidError
from evidence.errors import EvidenceError

log = logging.getLogger(__name__)

COMPONENT_ERRORS: tuple[type[Exception], ...] = (
    ChainError,
    KeyStoreError,
    DidError,
    CredentialError,
    EvidenceError,
)


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": code, "message": message, **extra}


def install_error_handlers(app: FastAPI) -> None:
    async def component_error(_request: Request, exc: Exception) -> JSONResponse:
        code = getattr(exc, "code", "error")
        status = int(getattr(exc, "status_code", 500))
        message = getattr(exc, "message", None) or str(exc)
        if status >= 500:
            log.warning("request failed", extra={"error": code})
        return JSONResponse(error_body(code, message), status_code=status)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
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

    for error_class in COMPONENT_ERRORS:
        app.add_exception_handler(error_class, component_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
