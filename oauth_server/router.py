"""The authorisation server's HTTP routes: a thin adapter from FastAPI to Authlib.

Each route reads the whole body first (a form at most :data:`MAX_FORM_BYTES`), keeps
the headers and the query and form parameters as ordered pairs (repeated ones
survive, to be refused), and runs Authlib's synchronous call in the thread pool.
The token, PAR, device authorisation (RFC 8628 §3.1) and registration routes are
rate-limited per client IP (issue 13 item 9); answers are RFC 6749 §5's
``{"error", "error_description"}`` with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from oauth_server.discovery import (
    DEVICE_AUTHORIZATION_PATH,
    INTROSPECTION_PATH,
    JWKS_PATH,
    OAUTH_METADATA_PATH,
    OPENID_METADATA_PATH,
    PAR_PATH,
    REGISTRATION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    authorization_server_metadata,
    openid_configuration,
)
from oauth_server.errors import OAuthError
from oauth_server.openapi import (
    DEVICE_BODY,
    PAR_BODY,
    REGISTRATION_BODY,
    TOKEN_BODY,
    TOKEN_LOOKUP_BODY,
    USERINFO_BODY,
)
from oauth_server.parts import OAuthParts
from oauth_server.resource import invalid_token
from oauth_server.server import Answer, RawRequest

MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 100
FORM_THREADS = 40  # as many as anyio's default worker threads
FORM_TYPE = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(status: int, code: str, description: str, **headers: str) -> JSONResponse:
    body = {"error": code, "error_description": description}
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **headers})


def _answer(answer: Answer) -> JSONResponse:
    status, body, headers = answer
    merged = {**NO_STORE, **dict(headers)}
    merged.pop("Content-Type", None)
    return JSONResponse(body, status_code=status, headers=merged)


async def _raw(request: Request, parts: OAuthParts, *, form: bool) -> RawRequest | JSONResponse:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            return _error(413, "invalid_request", f"the body exceeds {MAX_FORM_BYTES} bytes")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    headers = [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
    ]
    uri = parts.issuer + request.url.path
    client_ip = request.client.host if request.client else "unknown"
    try:
        query = parse_qsl(request.url.query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        if form:
            if media != FORM_TYPE:
                return _error(400, "invalid_request", f"the body must be {FORM_TYPE}")
            pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS)
            return RawRequest(request.method, uri, headers, query, pairs, client_ip=client_ip)
        document = json.loads(body) if body else None
    except (UnicodeDecodeError, ValueError):
        return _error(400, "invalid_request", "the body cannot be parsed")
    if not isinstance(document, dict):
        return _error(400, "invalid_client_metadata", "the body must be a JSON object")
    return RawRequest(request.method, uri, headers, query, json_body=document, client_ip=client_ip)


def _bearer(request: Request, in_body: str | None) -> str:
    """The request's access token (RFC 6750 §2.1 header, or §2.2 form); one, not both."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    header = token.strip() if scheme.lower() == "bearer" else ""
    if header and in_body:
        raise OAuthError("invalid_request", "the access token is sent twice (header and body)")
    if not (header or in_body):
        raise invalid_token("a bearer access token is required")
    return header or str(in_body)


def oauth_router(parts: OAuthParts) -> APIRouter:
    router = APIRouter(tags=["oauth"])
    _add_metadata_routes(router, parts)
    _add_form_routes(router, parts)
    _add_registration_route(router, parts)
    return router


def _add_metadata_routes(router: APIRouter, parts: OAuthParts) -> None:
    @router.get(OAUTH_METADATA_PATH)
    def oauth_metadata() -> dict[str, Any]:
        """RFC 8414 authorisation-server metadata."""
        return authorization_server_metadata(parts.issuer)

    @router.get(OPENID_METADATA_PATH)
    def openid_metadata() -> dict[str, Any]:
        """OpenID Connect Discovery 1.0 provider metadata."""
        return openid_configuration(parts.issuer)

    @router.get(USERINFO_PATH, response_model=None)
    def userinfo(request: Request) -> JSONResponse:
        """OpenID Connect UserInfo: the claims of the granted scopes, for a bearer token."""
        return JSONResponse(parts.userinfo.claims(_bearer(request, None)), headers=NO_STORE)

    @router.post(USERINFO_PATH, response_model=None, openapi_extra=USERINFO_BODY)
    async def userinfo_post(request: Request) -> JSONResponse:
        """UserInfo by POST: the token in the header, or as ``access_token`` in a form body
        (RFC 6750 §2.2), never both."""
        raw = await _raw(request, parts, form=True) if await request.body() else None
        if isinstance(raw, JSONResponse):
            return raw
        in_body = dict(raw.form).get("access_token") if raw is not None else None
        token = _bearer(request, in_body)
        claims = await run_in_threadpool(parts.userinfo.claims, token)
        return JSONResponse(claims, headers=NO_STORE)

    @router.get(JWKS_PATH)
    def jwks() -> dict[str, Any]:
        """The hub's public signing keys, retired ones included until their tokens expire."""
        return parts.keys.jwks()


def _slow_down(wait: float) -> JSONResponse:
    retry = str(max(1, round(wait)))
    return _error(429, "slow_down", "too many requests from this address", **{"Retry-After": retry})


def _add_form_routes(router: APIRouter, parts: OAuthParts) -> None:
    server = parts.server
    # The form endpoints' Authlib calls run here: a plain executor costs less per request
    # than anyio's worker-thread handoff, and the token endpoint is the hot path.
    form_threads = ThreadPoolExecutor(FORM_THREADS, thread_name_prefix="oauth-form")

    def form_route(
        path: str, call: Callable[[RawRequest], Answer], limited: bool, body: dict[str, Any]
    ) -> None:
        async def route(request: Request) -> JSONResponse:
            raw = await _raw(request, parts, form=True)
            if isinstance(raw, JSONResponse):
                return raw
            if limited and (wait := parts.token_limiter.take(raw.client_ip)) > 0:
                return _slow_down(wait)
            loop = asyncio.get_running_loop()
            return _answer(await loop.run_in_executor(form_threads, call, raw))

        router.add_api_route(path, route, methods=["POST"], response_model=None, openapi_extra=body)

    form_route(TOKEN_PATH, server.token_response, True, TOKEN_BODY)

    def endpoint(name: str) -> Callable[[RawRequest], Answer]:
        return lambda raw: server.endpoint_response(name, raw)

    form_route(INTROSPECTION_PATH, endpoint("introspection"), False, TOKEN_LOOKUP_BODY)
    form_route(REVOCATION_PATH, endpoint("revocation"), False, TOKEN_LOOKUP_BODY)
    form_route(PAR_PATH, lambda raw: parts.pushed.push(server, raw), True, PAR_BODY)
    form_route(DEVICE_AUTHORIZATION_PATH, endpoint("device_authorization"), True, DEVICE_BODY)


def _add_registration_route(router: APIRouter, parts: OAuthParts) -> None:
    @router.post(
        REGISTRATION_PATH, status_code=201, response_model=None, openapi_extra=REGISTRATION_BODY
    )
    async def register(request: Request) -> JSONResponse:
        """RFC 7591 dynamic client registration, with a staff-issued initial access token."""
        raw = await _raw(request, parts, form=False)
        if isinstance(raw, JSONResponse):
            return raw
        if (wait := parts.token_limiter.take(raw.client_ip)) > 0:
            return _slow_down(wait)
        return _answer(await run_in_threadpool(parts.server.registration_response, raw))
