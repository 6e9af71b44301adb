"""The device verification page's routes (thin: cookies, forms, status codes; the pages
are :mod:`oauth_server.device_page`, the requests :mod:`oauth_server.device_codes`).

- ``GET /device``: the code entry form; ``GET /device?user_code=…`` (RFC 8628 §3.3.1,
  ``verification_uri_complete``) the request under that code, to approve or deny; a
  303 to ``/signin?next=…`` when no one is signed in;
- ``POST /device``: Approve or Deny (the session's CSRF token for that code, as the
  consent form's, :func:`oauth_server.consents.csrf_token`), 303 to ``/device/done``;
- ``GET /device/done``: the outcome.

Every code looked up (typed, or posted) spends one attempt of the session's and of the
client IP's bucket (RFC 8628 §5.1: user codes are short, so guessing them is rate
limited); an empty bucket is a 429 page with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from oauth_server.consent_page import page_policy
from oauth_server.consents import check_csrf, csrf_token
from oauth_server.device import VERIFICATION_PATH
from oauth_server.device_codes import normalise_user_code
from oauth_server.device_page import DONE_PATH, approval_html, done_html, entry_html
from oauth_server.errors import OAuthError
from oauth_server.parts import OAuthParts
from oauth_server.signin import SIGNIN_PATH, SigninService
from oauth_server.signin_router import SESSION_COOKIE
from oauth_server.staff import split_scopes

FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store"}
DEVICE_FORM: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string"} for name in ("user_code", "csrf_token", "decision")
                    },
                }
            }
        },
    }
}


def _page(html: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    policy = {"Content-Security-Policy": page_policy()}
    return HTMLResponse(html, status_code=status, headers={**NO_STORE, **policy, **(headers or {})})


def _purpose(user_code: str) -> str:
    return "device:" + (normalise_user_code(user_code) or user_code)


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise OAuthError("invalid_request", f"the form is posted as {FORM}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", "the form is too large")
    try:
        pairs = parse_qsl(body.decode(), max_num_fields=4)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the body is not a form") from None
    if len({name for name, _ in pairs}) != len(pairs):
        raise OAuthError("invalid_request", "a form field is repeated")
    return dict(pairs)


def _throttled(oauth: OAuthParts, request: Request, cookie: str) -> HTMLResponse | None:
    """One attempt from the session's bucket and the client IP's: a 429 page if empty."""
    ip = request.client.host if request.client else "unknown"
    session = hashlib.sha256(cookie.encode()).hexdigest()
    wait = max(
        oauth.device_limiter.take("ip:" + ip), oauth.device_limiter.take("session:" + session)
    )
    if wait <= 0:
        return None
    retry = str(max(1, round(wait)))
    problem = f"too many codes tried: wait {retry} seconds and try again"
    return _page(entry_html(problem), 429, {"Retry-After": retry})


def _show(oauth: OAuthParts, cookie: str, account: str, user_code: str) -> HTMLResponse:
    try:
        waiting = oauth.device_codes.waiting(user_code)
        client = oauth.clients.require(waiting.client_id)
    except OAuthError as refused:
        return _page(entry_html(refused.message, user_code), refused.status_code)
    held = oauth.staff.held_by_account(account)
    split = split_scopes(waiting.scopes, held)
    csrf = csrf_token(cookie, _purpose(user_code))
    normal = normalise_user_code(user_code) or user_code
    return _page(approval_html(client, normal, split, csrf))


def _answer(oauth: OAuthParts, form: dict[str, str], cookie: str, account: str) -> Response:
    user_code = form.get("user_code", "")
    check_csrf(cookie, _purpose(user_code), form.get("csrf_token"))
    decision = form.get("decision")
    if decision not in ("approve", "deny"):
        raise OAuthError("invalid_request", "decision is approve or deny")
    waiting = oauth.device_codes.waiting(user_code)
    client = oauth.clients.require(waiting.client_id)
    split = split_scopes(waiting.scopes, oauth.staff.held_by_account(account))
    if decision == "approve" and not split.granted:
        raise OAuthError(
            "staff_scope_not_held",
            f"your account does not hold {' '.join(split.refused)}: nothing to approve",
            status_code=403,
        )
    granted = split.granted if decision == "approve" else None
    subject = oauth.codes.subject_for(client, account)
    oauth.device_codes.answer(user_code, account_id=account, subject=subject, granted=granted)
    outcome = "approved" if granted is not None else "denied"
    return RedirectResponse(
        DONE_PATH + "?" + urlencode({"outcome": outcome}), status_code=303, headers=NO_STORE
    )


def device_router(oauth: OAuthParts, signin: SigninService) -> APIRouter:
    router = APIRouter(tags=["oauth"])

    @router.get(VERIFICATION_PATH, response_class=HTMLResponse)
    async def verification_page(
        request: Request, user_code: Annotated[str | None, Query(max_length=32)] = None
    ) -> Response:
        """RFC 8628 §3.3: the person enters (or confirms) the code their device shows."""
        cookie = request.cookies.get(SESSION_COOKIE)
        account = await run_in_threadpool(signin.current_account, cookie)
        if cookie is None or account is None:
            here = VERIFICATION_PATH + (
                f"?{urlencode({'user_code': user_code})}" if user_code else ""
            )
            return RedirectResponse(
                SIGNIN_PATH + "?" + urlencode({"next": here}), status_code=303, headers=NO_STORE
            )
        if not user_code:
            return _page(entry_html())
        if (limited := _throttled(oauth, request, cookie)) is not None:
            return limited
        return await run_in_threadpool(_show, oauth, cookie, account, user_code)

    @router.post(VERIFICATION_PATH, openapi_extra=DEVICE_FORM)
    async def verification_answer(request: Request) -> Response:
        """Approve or deny the request under the posted code; 303 to the outcome."""
        form = await _form(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        account = await run_in_threadpool(signin.current_account, cookie)
        if cookie is None or account is None:
            raise OAuthError("not_signed_in", "sign in at /signin first", status_code=401)
        if (limited := _throttled(oauth, request, cookie)) is not None:
            return limited
        return await run_in_threadpool(_answer, oauth, form, cookie, account)

    @router.get(DONE_PATH, response_class=HTMLResponse)
    def verification_done(
        outcome: Annotated[str, Query(pattern="^(approved|denied)$")],
    ) -> Response:
        return _page(done_html(outcome == "approved"))

    return router
