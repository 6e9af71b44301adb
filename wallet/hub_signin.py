"""The wallet signs itself in to its hub: the authorisation code flow, the wallet being
its own user agent, its own DID key answering the hub's sign-in page.

The hub registers the wallet as a first-party public client at start-up
(``notary-hub-wallet``, ``oauth_server.first_party``): a native app (RFC 8252 §8.4)
authenticating with ``none`` and PKCE S256 (RFC 7636 §4.2), with a loopback redirect
URI (§7.3) the wallet never listens on: it reads the redirect's ``Location`` itself.
:func:`sign_in` runs, over the hub's own origin only:

1. discovery (OpenID Connect Discovery 1.0 §4; RFC 8414 §3.3: the ``issuer`` must be the
   hub URL the document was fetched from, and every endpoint on that origin);
2. the authorisation request (OpenID Connect Core 1.0 §3.1.2.1: ``state``, ``nonce``,
   ``code_challenge``), answered by a 303 to the hub's ``/signin`` page;
3. the page (:mod:`wallet.signin_page`) and its OpenID4VP request, fetched and verified
   (:mod:`wallet.openid4vp_login`; its short code must be the page's), answered with
   the presentation the caller builds with the DID's key, then the page's status polled
   until the session cookie is set;
4. the authorisation request again with that session: a redirect to the loopback URI
   carrying ``code``, ``state`` (the wallet's own, RFC 6749 §10.12) and ``iss`` (the
   hub, RFC 9207 §2.4), or an ``error``;
5. the token request (RFC 6749 §4.1.3, with the ``code_verifier``) and the ID token
   checked (OpenID Connect Core §3.1.3.7: signed by a key of the hub's JWKS, ``iss``
   the hub, ``aud`` the wallet's client, ``nonce`` the wallet's, not expired) and
   naming the DID that answered (the ``did`` claim).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from wallet.hub_client import TIMEOUT, HubClient, HubUnavailable
from wallet.login_errors import InvalidIdToken, SigninFailed, StateMismatch
from wallet.openid4vp_login import LoginRequest, answer, fetch_request, origin_of, parse_link
from wallet.presentations import Format
from wallet.signin_page import (
    BINDING_COOKIE,
    SESSION_COOKIE,
    SigninPage,
    cookie_header,
    cookie_set,
    read_page,
)

WALLET_CLIENT_ID = "notary-hub-wallet"  # the hub's oauth_server.first_party, the same
REDIRECT_URI = "http://127.0.0.1/notary-hub-wallet/callback"
SCOPES = ("openid", "did", "evidence:deposit", "evidence:read", "registrar:relay")
DISCOVERY_PATH = "/.well-known/openid-configuration"
ID_TOKEN_ALGS = ["ES256", "EdDSA", "RS256"]
LEEWAY = 60  # seconds of clock skew on the ID token's exp and iat
POLL_SECONDS = 0.25
POLL_ATTEMPTS = 120
MAX_ANSWER_BYTES = 1024 * 1024

# Given the hub's verified request, the presentation answering it, in which format.
Presenter = Callable[[LoginRequest], tuple[Format, Any]]


@dataclass(frozen=True)
class Endpoints:
    issuer: str
    authorization: str
    token: str
    jwks: str
    revocation: str


@dataclass(frozen=True)
class Tokens:
    """What the token endpoint answered, the ID token checked."""

    access_token: str
    refresh_token: str | None
    expires_at: int
    scope: str
    did: str


def discover(http: httpx.Client, hub_url: str) -> Endpoints:
    """The hub's OpenID Provider metadata, its issuer and endpoints on the hub itself."""
    metadata = _json(_get(http, DISCOVERY_PATH), "the discovery document")
    issuer = hub_url.rstrip("/")
    if metadata.get("issuer") != issuer:
        raise SigninFailed(f"the hub's issuer is {metadata.get('issuer')!r}, not {issuer}")
    names = ("authorization_endpoint", "token_endpoint", "jwks_uri", "revocation_endpoint")
    paths = []
    for name in names:
        url = metadata.get(name)
        if not isinstance(url, str) or origin_of(url) != origin_of(issuer):
            raise SigninFailed(f"the hub's {name} is not on its own origin")
        paths.append(urlsplit(url).path)
    return Endpoints(issuer, *paths)


def sign_in(
    hub_url: str,
    did: str,
    present: Presenter,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Tokens:
    """Sign the wallet's ``did`` in to the hub at ``hub_url``: its tokens."""
    with httpx.Client(
        base_url=hub_url.rstrip("/"), timeout=TIMEOUT, transport=transport, follow_redirects=False
    ) as http:
        endpoints = discover(http, hub_url)
        verifier = secrets.token_urlsafe(48)
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        authorize = endpoints.authorization + "?" + urlencode(
            {"client_id": WALLET_CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT_URI,
             "scope": " ".join(SCOPES), "state": state, "nonce": nonce,
             "code_challenge": create_s256_code_challenge(verifier),
             "code_challenge_method": "S256"}
        )  # fmt: skip
        signin_path = _redirect(_get(http, authorize), "the authorisation request")
        if not signin_path.startswith("/") or signin_path.startswith("//"):
            raise SigninFailed("the hub sent the wallet to sign in elsewhere than itself")
        session = _answer_page(http, hub_url, signin_path, present, transport, sleep)
        back = _get(http, authorize, headers=cookie_header(SESSION_COOKIE, session))
        code = authorization_code(_redirect(back, "the authorisation answer"), state, endpoints)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                "client_id": WALLET_CLIENT_ID, "code_verifier": verifier}  # fmt: skip
        issued = _json(_post(http, endpoints.token, form), "the token endpoint")
        jwks = _json(_get(http, endpoints.jwks), "the hub's JWKS")
    claims = check_id_token(issued.get("id_token"), jwks, endpoints.issuer, nonce)
    if claims.get("did") != did:
        raise InvalidIdToken(f"the ID token names {claims.get('did')!r}, not {did}")
    return tokens_of(issued, did)


def _answer_page(
    http: httpx.Client,
    hub_url: str,
    signin_path: str,
    present: Presenter,
    transport: httpx.BaseTransport | None,
    sleep: Callable[[float], None],
) -> str:
    """The page opened, its request answered with the DID's presentation, the status
    polled as the page's script does: the session cookie."""
    opened = _get(http, signin_path)
    binding = cookie_set(opened, BINDING_COOKIE)
    if opened.status_code != 200 or binding is None:
        raise SigninFailed(f"the hub's sign-in page answered {opened.status_code}")
    page = read_page(opened.text)
    link = parse_link(page.link)
    if link.client_id != origin_of(hub_url):
        raise SigninFailed(f"the sign-in page names another verifier, {link.client_id[:200]}")
    with HubClient(link.client_id, None, transport=transport) as hub:
        request = fetch_request(hub, link)
        if request.code != page.code:
            raise SigninFailed("the request's code is not the page's: not this sign-in")
        fmt, presentation = present(request)
        answer(hub, request, fmt, presentation)
    return _poll(http, page, binding, sleep)


def _poll(
    http: httpx.Client, page: SigninPage, binding: str, sleep: Callable[[float], None]
) -> str:
    for _ in range(POLL_ATTEMPTS):
        polled = _get(http, page.status_path, headers=cookie_header(BINDING_COOKIE, binding))
        status = _json(polled, "the sign-in status")
        session = cookie_set(polled, SESSION_COOKIE)
        if session is not None:
            return session
        if status.get("status") not in ("pending", "fetched", "answered"):
            raise SigninFailed(f"the sign-in ended {status.get('status')!r} with no session")
        sleep(POLL_SECONDS)
    raise SigninFailed("the hub did not sign the wallet in")


def authorization_code(location: str, state: str, endpoints: Endpoints) -> str:
    """The ``code`` of the authorisation response at ``location``, once it is the answer
    to this request (RFC 6749 §4.1.2, §10.12; RFC 9207 §2.4)."""
    parts = urlsplit(location)
    if f"{parts.scheme}://{parts.netloc}{parts.path}" != REDIRECT_URI:
        raise SigninFailed("the hub redirected the wallet elsewhere than its redirect URI")
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    if query.get("iss") != endpoints.issuer:
        raise StateMismatch(f"the authorisation response is from {query.get('iss')!r}")
    if query.get("state") != state:
        raise StateMismatch("the authorisation response's state is not this request's")
    if "error" in query:
        reason = query.get("error_description", "")
        raise SigninFailed(f"the hub refused the sign-in ({query['error'][:64]}): {reason[:300]}")
    if not query.get("code"):
        raise SigninFailed("the authorisation response has no code")
    return query["code"]


def check_id_token(token: object, jwks: dict[str, Any], issuer: str, nonce: str) -> dict[str, Any]:
    """The claims of an ID token from ``issuer`` for the wallet, for ``nonce``."""
    if not isinstance(token, str) or not token:
        raise InvalidIdToken("the hub issued no ID token")
    try:
        keys = KeySet.import_key_set(cast(Any, jwks))
        decoded = jwt.decode(token, keys, algorithms=ID_TOKEN_ALGS)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": WALLET_CLIENT_ID},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True},
            sub={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidIdToken(f"the ID token does not verify: {exc}") from None
    return dict(decoded.claims)


def tokens_of(issued: dict[str, Any], did: str, *, now: float | None = None) -> Tokens:
    """The token response as the wallet keeps it (RFC 6749 §5.1)."""
    access, refresh = issued.get("access_token"), issued.get("refresh_token")
    lifetime = issued.get("expires_in")
    if not isinstance(access, str) or not isinstance(lifetime, int):
        raise SigninFailed("the token response has no access_token or expires_in")
    started = time.time() if now is None else now
    return Tokens(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) else None,
        expires_at=int(started) + lifetime,
        scope=str(issued.get("scope") or ""),
        did=did,
    )


def _get(http: httpx.Client, path: str, **kwargs: Any) -> httpx.Response:
    return _send(http, "GET", path, **kwargs)


def _post(http: httpx.Client, path: str, form: dict[str, str]) -> httpx.Response:
    return _send(http, "POST", path, data=form)


def _send(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    try:
        response = http.request(method, path, **kwargs)
    except httpx.TransportError as exc:
        raise HubUnavailable(f"the hub at {http.base_url} is unreachable: {exc}") from None
    if len(response.content) > MAX_ANSWER_BYTES:
        raise SigninFailed(f"{path.split('?')[0]} answered more than {MAX_ANSWER_BYTES} bytes")
    return response


def _redirect(response: httpx.Response, what: str) -> str:
    location = str(response.headers.get("location") or "")
    if response.status_code not in (302, 303) or not location:
        raise SigninFailed(f"{what} answered {response.status_code}, not a redirect")
    return location


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SigninFailed(f"{what} answered {response.status_code} with no JSON object")
    if not response.is_success:
        code = body.get("error", f"http_{response.status_code}")
        reason = body.get("error_description") or body.get("message") or ""
        raise SigninFailed(f"{what} refused ({str(code)[:64]}): {str(reason)[:300]}")
    return body
