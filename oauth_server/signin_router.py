"""The wallet sign-in's HTTP routes (thin: cookies, forms, status codes; the logic is
:class:`oauth_server.signin.SigninService`).

- ``GET /signin?next=PATH``: the page (:mod:`oauth_server.signin_page`); starts a
  request bound to the browser's binding cookie (set here when absent);
- ``GET /signin/script.js``: the page's polling script;
- ``GET /signin/keys``: the JWK Set request objects are signed with (Engineer A's
  JWKS at the discovery document replaces it);
- ``GET /signin/requests/{id}/object``: the signed request object, once
  (``application/oauth-authz-req+jwt``, RFC 9101 §10.2);
- ``POST /signin/requests/{id}/response``: the wallet's direct_post (OpenID4VP §8.2,
  form-encoded ``vp_token`` and ``state``), answered with an empty JSON object;
- ``GET /signin/requests/{id}/status``: the starting browser's poll; the first one
  after the answer sets the session cookie;
- ``GET /signin/session``: whom the session cookie signs in (the person's own view);
- ``POST /signin/logout``: ends the session, 303 to the sign-in page.

Cookies are ``__Host-`` prefixed (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain),
HttpOnly and SameSite=Lax. Starting requests and posting responses are rate-limited
per client IP (429 with ``Retry-After``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from chain_adapter.rpc_limits import RateLimiter
from oauth_server.openid4vp import REQUEST_OBJECT_MEDIA_TYPE
from oauth_server.signin import REQUESTS_PATH, SIGNIN_PATH, SigninService, new_secret
from oauth_server.signin_errors import InvalidVpToken, TooManySignins
from oauth_server.signin_page import POLL_SCRIPT, SCRIPT_PATH, signin_html

BINDING_COOKIE = "__Host-notary-hub-signin"
SESSION_COOKIE = "__Host-notary-hub-session"
MAX_RESPONSE_BYTES = 512 * 1024
NO_STORE = {"Cache-Control": "no-store"}
FORM = "application/x-www-form-urlencoded"
# The direct_post body is read by hand (size first), so its schema is documented here.
DIRECT_POST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "required": ["vp_token"],
                    "properties": {
                        "vp_token": {
                            "type": "string",
                            "description": "JSON object: the DCQL query id answered -> "
                            "[one presentation]",
                        },
                        "state": {"type": "string"},
                    },
                }
            }
        },
    }
}
LOGOUT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {FORM: {"schema": {"type": "object", "properties": {}}}},
    }
}
RequestId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$")]


def _throttle(limit: RateLimiter, request: Request, what: str) -> None:
    wait = limit.take(request.client.host if request.client else "unknown")
    if wait > 0:
        raise TooManySignins(
            f"too many {what} from this address; try again later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )


def _cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax"
    )


async def _form(request: Request) -> dict[str, list[str]]:
    """The form-encoded body (application/x-www-form-urlencoded), at most
    ``MAX_RESPONSE_BYTES``, read before anything is parsed."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise InvalidVpToken(f"the response is posted as {FORM}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise InvalidVpToken(f"the response is larger than {MAX_RESPONSE_BYTES} bytes")
    try:
        return parse_qs(body.decode(), max_num_fields=8, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise InvalidVpToken("the response is not a form-encoded body") from None


def _one(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name, [])
    if len(values) > 1:
        raise InvalidVpToken(f"{name} is given more than once")
    return values[0] if values else None


def signin_router(
    service: SigninService, start_limit: RateLimiter, response_limit: RateLimiter
) -> APIRouter:
    router = APIRouter(tags=["signin"])

    @router.get(SIGNIN_PATH, response_class=HTMLResponse)
    def signin_page(
        request: Request, next: Annotated[str | None, Query(max_length=2048)] = None
    ) -> HTMLResponse:
        _throttle(start_limit, request, "sign-in requests")
        binding = request.cookies.get(BINDING_COOKIE)
        fresh = not binding
        binding = binding or new_secret(32)
        started = service.start(binding, next)
        status_url = f"{REQUESTS_PATH}/{started.id}/status"
        page = HTMLResponse(signin_html(started, status_url), headers=NO_STORE)
        if fresh:
            _cookie(page, BINDING_COOKIE, binding, None)
        return page

    @router.get(SCRIPT_PATH, include_in_schema=False)
    def signin_script() -> Response:
        return Response(POLL_SCRIPT, media_type="text/javascript")

    @router.get(SIGNIN_PATH + "/keys")
    def signin_keys() -> dict[str, Any]:
        return service.public_jwks()

    @router.get(REQUESTS_PATH + "/{request_id}/object")
    def request_object(request_id: RequestId) -> Response:
        token = service.request_object(request_id)
        return Response(token, media_type=REQUEST_OBJECT_MEDIA_TYPE, headers=NO_STORE)

    @router.post(REQUESTS_PATH + "/{request_id}/response", openapi_extra=DIRECT_POST_BODY)
    async def direct_post(request: Request, request_id: RequestId) -> JSONResponse:
        _throttle(response_limit, request, "sign-in responses")
        form = await _form(request)
        vp_token = _one(form, "vp_token")
        if vp_token is None:
            raise InvalidVpToken("the response has no vp_token")
        service.answer(request_id, vp_token, _one(form, "state"))
        return JSONResponse({}, headers=NO_STORE)

    @router.get(REQUESTS_PATH + "/{request_id}/status")
    def status(request: Request, request_id: RequestId) -> JSONResponse:
        outcome = service.status(request_id, request.cookies.get(BINDING_COOKIE))
        answer = JSONResponse(
            {"status": outcome.progress, "next": outcome.next_path}, headers=NO_STORE
        )
        if outcome.session_cookie is not None:
            _cookie(answer, SESSION_COOKIE, outcome.session_cookie, service.session_lifetime)
        return answer

    _add_session_routes(router, service)
    return router


def _add_session_routes(router: APIRouter, service: SigninService) -> None:
    @router.get(SIGNIN_PATH + "/session")
    def session(request: Request) -> JSONResponse:
        account = service.current_account(request.cookies.get(SESSION_COOKIE))
        if account is None:
            return JSONResponse({"signedIn": False}, headers=NO_STORE)
        body = {"signedIn": True, "account": account, "did": service.accounts.did_of(account)}
        return JSONResponse(body, headers=NO_STORE)

    @router.post(SIGNIN_PATH + "/logout", openapi_extra=LOGOUT_BODY)
    def logout(request: Request) -> RedirectResponse:
        service.end_session(request.cookies.get(SESSION_COOKIE))
        answer = RedirectResponse(SIGNIN_PATH, status_code=303)
        answer.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
        return answer
