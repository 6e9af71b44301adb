"""Security headers on every response, the hub's own and its errors alike.

OWASP Secure Headers Project (https://owasp.org/www-project-secure-headers/):
``Content-Security-Policy`` (CSP Level 3, https://www.w3.org/TR/CSP3/) with
``frame-ancestors 'none'`` plus the legacy ``X-Frame-Options: DENY`` (RFC 7034)
against framing; ``X-Content-Type-Options: nosniff``; ``Referrer-Policy:
no-referrer``. The API answers JSON, so its policy allows nothing at all; only the
interactive docs pages load Swagger UI / ReDoc, served by the hub itself, and get a
policy that allows exactly that. No ``Server`` banner: uvicorn is started with
``server_header=False`` and any banner a server adds is dropped here.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The docs pages load their assets from the hub itself (notary_hub.docs_pages) and run one
# inline script; Swagger UI draws its icons as data: URIs, ReDoc runs a blob: worker.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
# The wallet sign-in page (oauth_server.signin_page): its own script, an inline SVG QR
# code, its polling fetches and the logout form, all from the hub itself.
SIGNIN_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SIGNIN_PAGE = "/signin"
# A draw's public page (evidence.draw.page): its own script and style, its event stream
# and fetches, all from the hub itself.
DRAW_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# A live capture's page (evidence.capture.live_page): its own script and style, and its
# WebSocket to the hub ('self' matches ws: and wss: to the same host, CSP3 §6.7.2.8).
LIVE_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# The consent, account, logout and device verification pages set their own policy
# (oauth_server.consent_page: their forms' 303 may go to the client's origin; the device
# page's forms go to the hub); the API's applies if they set none.
OWN_POLICY_PATHS = ("/oauth/authorize", "/oauth/logout", "/account", "/device")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        policy = DOCS_POLICY if path.startswith(DOCS_PATHS) else API_POLICY
        if path == SIGNIN_PAGE:
            policy = SIGNIN_POLICY
        elif path.startswith("/draws/") and path.endswith("/page"):
            policy = DRAW_PAGE_POLICY
        elif path.startswith("/captures/") and path.endswith("/live"):
            policy = LIVE_PAGE_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                own = path.startswith(OWN_POLICY_PATHS) and "content-security-policy" in headers
                if not own:
                    headers["Content-Security-Policy"] = policy
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                del headers["server"]
            await send(message)

        await self.app(scope, receive, send_with_headers)
