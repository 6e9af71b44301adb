"""A browser and a wallet of the hub's sign-in (``/signin``), over plain HTTP, for tests
and benchmarks.

The browser part reads the page (deep link, short code, status URL) and keeps its
binding cookie by hand, with the wallet's own page reader (:mod:`wallet.signin_page`):
the cookies are ``Secure`` and httpx, rightly, sends none over the test hub's plain
http. The wallet part is the wallet's own code (:mod:`wallet.openid4vp_login`,
:func:`wallet.presentations.build_presentation`) with a did:key holder, so a test can
answer, tamper with or replay a response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from testkit.holder import Holder
from wallet.hub_client import HubClient
from wallet.openid4vp_login import LoginRequest, fetch_request, parse_link
from wallet.presentations import Format, build_presentation
from wallet.signin_page import BINDING_COOKIE as BINDING_COOKIE
from wallet.signin_page import SESSION_COOKIE as SESSION_COOKIE
from wallet.signin_page import cookie_set, read_page


def set_cookie(response: httpx.Response, name: str) -> str | None:
    """The value ``response`` sets for cookie ``name`` (the wallet's own reading)."""
    return cookie_set(response, name)


@dataclass(frozen=True)
class StartedPage:
    link: str
    code: str
    status_path: str
    binding: str
    html: str

    @property
    def request_id(self) -> str:
        return self.status_path.rsplit("/", 2)[-2]


def open_page(
    client: httpx.Client, next_path: str | None = None, binding: str | None = None
) -> StartedPage:
    """``GET /signin`` as a browser (holding ``binding`` already, or getting one)."""
    params = {"next": next_path} if next_path is not None else {}
    cookies = {"cookie": f"{BINDING_COOKIE}={binding}"} if binding else {}
    response = client.get("/signin", params=params, headers=cookies)
    assert response.status_code == 200, response.text
    given = set_cookie(response, BINDING_COOKIE)
    held = binding or given
    assert held is not None, "the page set no binding cookie"
    page = read_page(response.text)
    return StartedPage(page.link, page.code, page.status_path, held, response.text)


def poll(client: httpx.Client, page: StartedPage, binding: str | None = None) -> httpx.Response:
    """The page's status poll, from the browser holding ``binding`` (default: the page's)."""
    held = page.binding if binding is None else binding
    return client.get(page.status_path, headers={"cookie": f"{BINDING_COOKIE}={held}"})


def session_of(client: httpx.Client, cookie: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(
        "/signin/session", headers={"cookie": f"{SESSION_COOKIE}={cookie}"}
    ).json()
    return body


def wallet_fetch(page: StartedPage) -> LoginRequest:
    """What a wallet does with the link: fetch the request object and verify it."""
    link = parse_link(page.link)
    with HubClient(link.client_id, None) as hub:
        return fetch_request(hub, link)


def presentation_of(
    holder: Holder,
    request: LoginRequest,
    fmt: Format = "di",
    *,
    nonce: str | None = None,
    domain: str | None = None,
    credentials: list[Any] | None = None,
) -> Any:
    """``holder``'s presentation for ``request`` (or for another nonce or audience)."""
    return build_presentation(
        credentials or [],
        holder=holder.did,
        verification_method=holder.method,
        private_key=holder.key,
        challenge=request.nonce if nonce is None else nonce,
        domain=request.client_id if domain is None else domain,
        fmt=fmt,
        require_credentials=False,
    )


def vp_token(request: LoginRequest, presentation: Any, fmt: Format = "di") -> str:
    query_id = request.query_for(fmt)
    assert query_id is not None
    return json.dumps({query_id: [presentation]})


def post_response(
    client: httpx.Client, request: LoginRequest, token: str, state: str | None = None
) -> httpx.Response:
    """The wallet's direct_post, as posted (the request's own state unless given)."""
    form = {"vp_token": token, "state": request.state if state is None else state}
    return client.post(httpx.URL(request.response_uri).path, data=form)
