"""The hub's sign-in page (``GET /signin``) read by the wallet itself, as its own user agent.

When the wallet signs itself in (:mod:`wallet.hub_signin`) it is the browser too: it
opens the page, keeps the binding cookie, answers the page's OpenID4VP request with its
own key and polls the page's status route. This module reads the page's parts with the
standard HTML parser (the ``openid4vp://`` deep link, the short code, the status route
and ``next``) and the cookies a response sets. The hub's cookies are ``__Host-``
prefixed, so ``Secure`` (RFC 6265bis §4.1.3.2): a cookie jar rightly keeps them off a
local hub's plain http, so the wallet holds them itself for this one flow and sends
them to that hub only.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import CookieError, SimpleCookie

import httpx

from wallet.login_errors import SigninFailed

BINDING_COOKIE = "__Host-notary-hub-signin"
SESSION_COOKIE = "__Host-notary-hub-session"


@dataclass(frozen=True)
class SigninPage:
    link: str  # the openid4vp:// deep link (what the QR code encodes)
    code: str  # the short code the wallet's request must show too
    status_path: str
    next_path: str


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {name: value or "" for name, value in attrs}
        element = named.get("id")
        if element == "signin":
            self.found["status"] = named.get("data-status", "")
            self.found["next"] = named.get("data-next", "")
        elif element == "deep-link":
            self.found["link"] = named.get("href", "")
        self._in_code = element == "code"

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self.found["code"] = self.found.get("code", "") + data

    def handle_endtag(self, tag: str) -> None:
        self._in_code = False


def read_page(html: str) -> SigninPage:
    """The parts of a sign-in page; :class:`SigninFailed` when one is missing."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    found = parser.found
    missing = [name for name in ("link", "code", "status", "next") if not found.get(name)]
    if missing:
        raise SigninFailed(f"the hub's sign-in page has no {', '.join(missing)}")
    return SigninPage(found["link"], found["code"].strip(), found["status"], found["next"])


def cookie_set(response: httpx.Response, name: str) -> str | None:
    """The value ``response`` sets for cookie ``name``; None when it sets none."""
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        if name in jar:
            return jar[name].value
    return None


def cookie_header(name: str, value: str) -> dict[str, str]:
    return {"cookie": f"{name}={value}"}
