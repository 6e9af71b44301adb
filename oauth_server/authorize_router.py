"""The authorisation endpoint, the consent answer, the account page and logout (thin:
cookies, forms, status codes; the logic is :mod:`oauth_server.authorize`,
:mod:`oauth_server.consents` and :mod:`oauth_server.logout`).

- ``GET /oauth/authorize``: an error page for a bad client or redirect URI; a 303 to
  ``/signin?next=…`` when no one is signed in; a code at once when a stored consent
  covers the scopes; else the consent page;
- ``POST /oauth/authorize/consent``: Approve or Deny (CSRF token, held request id),
  303 to the client with ``code``, ``state`` and ``iss``, or ``error=access_denied``;
- ``GET /account``, ``GET /account/consents``, ``POST /account/consents/{id}/revoke``;
- ``GET``/``POST /oauth/logout``: RP-initiated logout.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from oauth_server.account_page import (
    ACCOUNT_PATH,
    CONSENTS_PATH,
    PlatformConsent,
    account_html,
    account_json,
    revoke_purpose,
)
from oauth_server.authorize import (
    AUTH_AFTER,
    AuthorizationRequest,
    AuthorizePageError,
    AuthorizeRedirectError,
    decide,
    error_redirect,
    parse_request,
    redirect_with,
    sign_in_stale,
)
from oauth_server.consent_page import CONSENT_PATH, consent_html, error_html, page_policy
from oauth_server.consents import check_csrf, csrf_token
from oauth_server.discovery import AUTHORIZATION_PATH, END_SESSION_PATH
from oauth_server.errors import OAuthError
from oauth_server.logout import plan_logout, signed_out_html
from oauth_server.parts import OAuthParts
from oauth_server.signin import SIGNIN_PATH, SigninService
from oauth_server.signin_router import SESSION_COOKIE
from oauth_server.staff import split_scopes

MAX_FORM_BYTES = 16 * 1024
FORM = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store"}
ClientId = Annotated[str, Path(max_length=64)]


def _form_body(*names: str) -> dict[str, Any]:
    properties = {name: {"type": "string"} for name in names}
    schema = {"type": "object", "properties": properties}
    return {"requestBody": {"required": True, "content": {FORM: {"schema": schema}}}}


CONSENT_BODY = _form_body("request_id", "csrf_token", "decision")
REVOKE_BODY = _form_body("csrf_token")
LOGOUT_BODY = _form_body("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


async def _form(request: Request) -> dict[str, str]:
    """A small form-encoded body, each field once."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise OAuthError("invalid_request", f"the form is posted as {FORM}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", "the form is too large")
    try:
        pairs = parse_qsl(body.decode(), max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the body is not a form") from None
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise OAuthError("invalid_request", "a form field is repeated")
    return dict(pairs)


def _page(html: str, status: int = 200, redirect_uri: str | None = None) -> HTMLResponse:
    headers = {**NO_STORE, "Content-Security-Policy": page_policy(redirect_uri)}
    return HTMLResponse(html, status_code=status, headers=headers)


def _see(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=NO_STORE)


def _signin_next(request: AuthorizationRequest, now: int) -> str:
    """The request again, as a same-origin path (a pushed request_uri is spent by now);
    ``prompt=login`` and ``max_age`` become ``auth_after``: a sign-in from now on."""
    prompt = request.prompt - {"login"}
    params = {
        "client_id": request.client.client_id,
        "response_type": "code",
        "redirect_uri": request.redirect_uri,
        "scope": " ".join(request.scopes),
        "code_challenge": request.code_challenge,
        "code_challenge_method": "S256",
        **({"state": request.state} if request.state is not None else {}),
        **({"nonce": request.nonce} if request.nonce is not None else {}),
        **({"prompt": " ".join(sorted(prompt))} if prompt else {}),
        **({AUTH_AFTER: str(now)} if request.wants_fresh_sign_in or request.auth_after else {}),
    }
    next_path = AUTHORIZATION_PATH + "?" + urlencode(params)
    return SIGNIN_PATH + "?" + urlencode({"next": next_path})


def _signed_in(signin: SigninService, request: Request) -> tuple[str, str]:
    cookie = request.cookies.get(SESSION_COOKIE)
    account = signin.current_account(cookie)
    if cookie is None or account is None:
        raise OAuthError("not_signed_in", "sign in at /signin first", status_code=401)
    return cookie, account


def _stale(
    signin: SigninService, asked: AuthorizationRequest, cookie: str | None, now: int
) -> bool:
    """Whether the signed-in person must sign in again first (prompt=login, max_age)."""
    if not asked.wants_fresh_sign_in and asked.auth_after is None:
        return False  # the session's age is read only when it matters
    return sign_in_stale(asked, signin.signed_in_at(cookie), now)


def _staff_not_held(
    oauth: OAuthParts, asked: AuthorizationRequest, account: str
) -> AuthorizeRedirectError | None:
    """Staff scopes the person's account does not hold: refused back to the client before
    any consent page (RFC 6749 §4.1.2.1 invalid_scope), as a code would be refused."""
    not_held = split_scopes(asked.scopes, oauth.staff.held_by_account(account)).refused
    if not not_held:
        return None
    message = f"the person's account does not hold {' '.join(not_held)}"
    return AuthorizeRedirectError("invalid_scope", message, asked.redirect_uri, asked.state)


def _authorize(
    oauth: OAuthParts, signin: SigninService, pairs: list[tuple[str, str]], cookie: str | None
) -> Response:
    try:
        asked = parse_request(pairs, oauth.clients.get, oauth.pushed.take)
        account = signin.current_account(cookie)
        granted = (
            oauth.consents.granted(asked.client.client_id, account) if account else frozenset()
        )
        first_party = asked.client.client_id in oauth.first_party
        now = signin.now()
        stale = _stale(signin, asked, cookie, now) if account else False
        decision = decide(asked, account, granted, first_party=first_party, stale=stale)
    except AuthorizePageError as refused:
        return _page(error_html(refused.code, refused.message), refused.status_code)
    except AuthorizeRedirectError as refused:
        return _see(error_redirect(refused, oauth.issuer))
    if decision == "signin" or cookie is None or account is None:
        return _see(_signin_next(asked, now))
    not_held = _staff_not_held(oauth, asked, account)
    if not_held is not None:
        return _see(error_redirect(not_held, oauth.issuer))
    if decision == "issue":
        if first_party:  # the hub's own client: the person's command is the consent, kept
            oauth.consents.grant(asked.client.client_id, account, asked.scopes)
        issued = oauth.codes.issue_code(
            asked.client, account, asked.scopes, asked.redirect_uri, asked.code_challenge,
            asked.nonce, state=asked.state, auth_time=signin.signed_in_at(cookie),
        )  # fmt: skip
        return _see(issued.redirect_to)
    held = oauth.consents.hold(asked, account, cookie)
    page = consent_html(asked, held, csrf_token(cookie, held))
    return _page(page, redirect_uri=asked.redirect_uri)


def authorize_router(oauth: OAuthParts, signin: SigninService) -> APIRouter:
    router = APIRouter(tags=["oauth"])

    @router.get(AUTHORIZATION_PATH, response_class=HTMLResponse)
    async def authorize(request: Request) -> Response:
        pairs = request.query_params.multi_items()
        cookie = request.cookies.get(SESSION_COOKIE)
        return await run_in_threadpool(_authorize, oauth, signin, pairs, cookie)

    def answer_sync(form: dict[str, str], cookie: str, account: str) -> Response:
        request_id = form.get("request_id", "")
        check_csrf(cookie, request_id, form.get("csrf_token"))
        decision = form.get("decision")
        if decision not in ("approve", "deny"):
            raise OAuthError("invalid_request", "decision is approve or deny")
        held = oauth.consents.answer(request_id, cookie)
        client = oauth.clients.get(held.client_id)
        if held.account_id != account or client is None:
            raise OAuthError("consent_request_unknown", "no such consent request", status_code=403)
        if decision == "deny":
            denied = {"error": "access_denied", "error_description": "the person declined"}
            state = {"state": held.state} if held.state is not None else {}
            return _see(redirect_with(held.redirect_uri, {**denied, **state}, oauth.issuer))
        oauth.consents.grant(client.client_id, account, held.scopes)
        issued = oauth.codes.issue_code(
            client, account, held.scopes, held.redirect_uri, held.code_challenge, held.nonce,
            state=held.state, auth_time=signin.signed_in_at(cookie),
        )  # fmt: skip
        return _see(issued.redirect_to)

    @router.post(CONSENT_PATH, openapi_extra=CONSENT_BODY)
    async def consent(request: Request) -> Response:
        form = await _form(request)
        cookie, account = _signed_in(signin, request)
        return await run_in_threadpool(answer_sync, form, cookie, account)

    _add_account_routes(router, oauth, signin)
    _add_logout_routes(router, oauth, signin)
    return router


def _platform_consents(oauth: OAuthParts, account: str) -> list[PlatformConsent]:
    listed = []
    for consent in oauth.consents.of_account(account):
        client = oauth.clients.get(consent.client_id)
        name = client.name if client is not None else consent.client_id
        purposes = dict(client.scope_purposes) if client is not None else {}
        listed.append(PlatformConsent(consent, name, purposes))
    return listed


def _add_account_routes(router: APIRouter, oauth: OAuthParts, signin: SigninService) -> None:
    @router.get(ACCOUNT_PATH, response_class=HTMLResponse)
    def account_page(request: Request) -> Response:
        cookie = request.cookies.get(SESSION_COOKIE)
        account = signin.current_account(cookie)
        if cookie is None or account is None:
            return _see(SIGNIN_PATH + "?" + urlencode({"next": ACCOUNT_PATH}))
        listed = _platform_consents(oauth, account)
        forms = [
            (item, csrf_token(cookie, revoke_purpose(item.consent.client_id))) for item in listed
        ]
        return _page(account_html(signin.accounts.dids_of(account), forms))

    @router.get(CONSENTS_PATH)
    def consents(request: Request) -> JSONResponse:
        _, account = _signed_in(signin, request)
        body = account_json(signin.accounts.dids_of(account), _platform_consents(oauth, account))
        return JSONResponse(body, headers=NO_STORE)

    @router.post(CONSENTS_PATH + "/{client_id}/revoke", openapi_extra=REVOKE_BODY)
    async def revoke(request: Request, client_id: ClientId) -> Response:
        form = await _form(request)
        cookie, account = _signed_in(signin, request)
        check_csrf(cookie, revoke_purpose(client_id), form.get("csrf_token"))

        def withdraw() -> None:
            if not oauth.consents.revoke(client_id, account):
                raise OAuthError("not_found", "no consent to this platform", status_code=404)
            # Withdrawn consent: the platform's tokens for this person stop working.
            oauth.ledger.revoke_client_account(client_id, account)

        await run_in_threadpool(withdraw)
        return _see(ACCOUNT_PATH)


def _add_logout_routes(router: APIRouter, oauth: OAuthParts, signin: SigninService) -> None:
    def logout_sync(params: dict[str, str], cookie: str | None) -> Response:
        try:
            outcome = plan_logout(
                params, keys=oauth.keys.public_keys(), issuer=oauth.issuer,
                find_client=oauth.clients.get,
            )  # fmt: skip
        except OAuthError as refused:
            return _page(error_html(refused.code, refused.message), refused.status_code)
        signin.end_session(cookie)
        if outcome.redirect_to is not None:
            answer: Response = _see(outcome.redirect_to)
        else:
            asked = "post_logout_redirect_uri" in params
            answer = _page(signed_out_html(unregistered=asked))
        answer.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
        return answer

    @router.get(END_SESSION_PATH, response_class=HTMLResponse)
    async def logout_get(request: Request) -> Response:
        pairs = request.query_params.multi_items()
        if len({name for name, _ in pairs}) != len(pairs):
            return _page(error_html("invalid_request", "a parameter is repeated"), 400)
        cookie = request.cookies.get(SESSION_COOKIE)
        return await run_in_threadpool(logout_sync, dict(pairs), cookie)

    @router.post(END_SESSION_PATH, response_class=HTMLResponse, openapi_extra=LOGOUT_BODY)
    async def logout_post(request: Request) -> Response:
        form = await _form(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        return await run_in_threadpool(logout_sync, form, cookie)
