"""The device grant (RFC 8628) in-process, for tests: the authorisation server's routes and
the ``/device`` page on one app, people signed in through the real wallet sign-in service
(a did:key verifier), the page's forms read and answered as a browser would.

Cookies are sent by hand (they are ``Secure``; the test client speaks plain http).
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from jwcrypto.jwk import JWK
from sqlalchemy.orm import Session, sessionmaker

from credentials.verifier import Verifier
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from notary_hub.errors import install_error_handlers
from oauth_server.accounts import AccountStore
from oauth_server.device import DEVICE_CODE_GRANT_TYPE
from oauth_server.device_router import device_router
from oauth_server.parts import OAuthParts
from oauth_server.router import oauth_router
from oauth_server.signin import SigninService
from testkit.holder import Holder
from testkit.oauth import ISSUER
from wallet.openid4vp_login import LoginLink, read_request
from wallet.presentations import build_presentation

SESSION_COOKIE = "__Host-notary-hub-session"
BINDING = "the-browser-binding-of-a-device-test"


def signin_service(
    sessions: sessionmaker[Session], clock: Callable[[], float] = time.time
) -> SigninService:
    """The hub's sign-in service with a did:key verifier (no chain needed)."""
    verifier = Verifier(DispatchingResolver({"key": DidKeyResolver()}), chain=None, clock=clock)
    return SigninService(
        sessions,
        AccountStore(sessions, clock=clock),
        verifier,
        JWK.generate(kty="OKP", crv="Ed25519"),
        origin=ISSUER,
        clock=clock,
    )


def sign_in(service: SigninService, holder: Holder) -> str:
    """``holder`` signed in through the wallet sign-in; the browser's session cookie."""
    started = service.start(BINDING, "/device")
    link = LoginLink(ISSUER, f"{ISSUER}/signin/requests/{started.id}/object")
    request = read_request(
        service.request_object(started.id), service.public_jwks(), link, now=int(time.time())
    )
    presentation: Any = build_presentation(
        [],
        holder=holder.did,
        verification_method=holder.method,
        private_key=holder.key,
        challenge=request.nonce,
        domain=request.client_id,
        require_credentials=False,
    )
    service.answer(started.id, json.dumps({"did_ldp": [presentation]}), request.state)
    cookie = service.status(started.id, BINDING).session_cookie
    assert cookie is not None
    return cookie


def device_app(oauth: OAuthParts, signin: SigninService) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(oauth_router(oauth))
    app.include_router(device_router(oauth, signin))
    return app


def session(cookie: str | None) -> dict[str, str]:
    return {"cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}


@dataclass(frozen=True)
class ApprovalForm:
    user_code: str
    csrf_token: str
    page: str


def approval_form(answer: httpx.Response) -> ApprovalForm:
    assert answer.status_code == 200, answer.text
    page = answer.text

    def field(name: str) -> str:
        found = re.search(rf'name="{name}" value="([^"]+)"', page)
        assert found is not None, f"{name} not on the page"
        return html.unescape(found.group(1))

    return ApprovalForm(field("user_code"), field("csrf_token"), page)


def poll_form(client_id: str, device_code: str) -> dict[str, str]:
    return {
        "grant_type": DEVICE_CODE_GRANT_TYPE,
        "device_code": device_code,
        "client_id": client_id,
    }
