"""Signing in to a hub with the wallet: the wallet's side of OpenID for Verifiable
Presentations 1.0 (https://openid.net/specs/openid-4-verifiable-presentations-1_0.html).

1. :func:`parse_link` reads the deep link or QR payload
   (``openid4vp://?client_id=...&request_uri=...``, §5.7): the ``client_id`` is the
   hub's origin, and the ``request_uri`` must be on that origin (https, or http on
   loopback), so a link cannot send the wallet elsewhere;
2. :func:`fetch_request` gets the hub's key set (``GET /signin/keys``; the OAuth JWKS
   of the discovery document replaces it once the authorisation server publishes one)
   and the request object, and :func:`read_request` verifies it (RFC 9101: ``typ``
   ``oauth-authz-req+jwt``, a signature by a published key with EdDSA or ES256,
   ``iss`` and ``client_id`` the link's client, ``aud`` ``https://self-issued.me/v2``,
   not expired, ``response_type=vp_token``, ``response_mode=direct_post`` with a
   ``response_uri`` on the same origin, a DCQL query naming a format the wallet signs);
3. the caller shows the verifier and the short code, builds the presentation with
   :func:`wallet.presentations.build_presentation` (challenge = ``nonce``, domain =
   ``client_id``, §14.1) and :func:`answer` posts it (§8.2 direct_post: a form with
   ``vp_token``, keyed by the query id, and ``state``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jwcrypto.common import JWException
from jwcrypto.jwk import JWKSet
from jwcrypto.jws import JWS

from wallet.hub_client import HubClient
from wallet.login_errors import InvalidLoginLink, UnsupportedRequest, UntrustedRequest
from wallet.presentations import Format

SCHEME = "openid4vp"
REQUEST_TYP = "oauth-authz-req+jwt"
SELF_ISSUED = "https://self-issued.me/v2"
ALGS = ("EdDSA", "ES256")
FORMAT_OF: dict[Format, str] = {"di": "ldp_vc", "jwt": "jwt_vc_json"}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SKEW = 60  # seconds of clock difference tolerated on iat / exp
MAX_LINK_CHARS = 4096


@dataclass(frozen=True)
class LoginLink:
    client_id: str
    request_uri: str


@dataclass(frozen=True)
class LoginRequest:
    """A verified request object: whom it is from and what to answer."""

    client_id: str
    response_uri: str
    nonce: str
    state: str
    code: str | None  # the short code the hub's page shows
    queries: dict[str, str]  # DCQL credential query id -> format
    expires_at: int

    def query_for(self, fmt: Format) -> str | None:
        """The query a presentation in ``fmt`` answers, if the request has one."""
        for query_id, wanted in self.queries.items():
            if wanted == FORMAT_OF[fmt]:
                return query_id
        return None


def origin_of(url: str) -> str:
    """``url``'s origin (RFC 6454), for an https URL or an http one on loopback."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
    if not secure or not parts.netloc or parts.username or parts.password:
        raise InvalidLoginLink(f"{url[:200]} is not an https URL (http only on loopback)")
    return f"{parts.scheme}://{parts.netloc}"


def parse_link(text: str) -> LoginLink:
    """The client and request URI of an ``openid4vp://`` link or its QR payload."""
    text = text.strip()
    parts = urlsplit(text)
    if len(text) > MAX_LINK_CHARS or parts.scheme != SCHEME:
        raise InvalidLoginLink("a sign-in link starts with openid4vp://")
    query = parse_qs(parts.query)
    client = query.get("client_id", [])
    request_uri = query.get("request_uri", [])
    if len(client) != 1 or len(request_uri) != 1:
        raise InvalidLoginLink("a sign-in link names one client_id and one request_uri")
    if origin_of(client[0]) != client[0].rstrip("/") or origin_of(request_uri[0]) != client[0]:
        raise InvalidLoginLink(
            f"the request_uri is not on the client's own origin {client[0][:200]}"
        )
    return LoginLink(client[0], request_uri[0])


def fetch_request(hub: HubClient, link: LoginLink, *, now: int | None = None) -> LoginRequest:
    """The request object ``link`` names, verified against the hub's published keys.
    ``hub`` is a client of ``link.client_id`` (never the wallet's API token)."""
    keys = hub.signin_keys()
    path = urlsplit(link.request_uri)
    token = hub.request_object(path.path + (f"?{path.query}" if path.query else ""))
    return read_request(token, keys, link, now=int(time.time()) if now is None else now)


def read_request(token: str, jwks: dict[str, Any], link: LoginLink, *, now: int) -> LoginRequest:
    claims = _verified_claims(token, jwks)
    _check_claims(claims, link, now)
    return LoginRequest(
        client_id=link.client_id,
        response_uri=claims["response_uri"],
        nonce=claims["nonce"],
        state=claims["state"],
        code=claims["signin_code"] if isinstance(claims.get("signin_code"), str) else None,
        queries=_queries(claims.get("dcql_query")),
        expires_at=int(claims["exp"]),
    )


def answer(hub: HubClient, request: LoginRequest, fmt: Format, presentation: Any) -> None:
    """Post ``presentation`` as the vp_token (§8.1) to the request's response_uri."""
    query_id = request.query_for(fmt)
    if query_id is None:
        raise UnsupportedRequest(f"the request asks for no {FORMAT_OF[fmt]} presentation")
    vp_token = json.dumps({query_id: [presentation]}, separators=(",", ":"))
    hub.post_signin_response(
        urlsplit(request.response_uri).path, {"vp_token": vp_token, "state": request.state}
    )


def _verified_claims(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    try:
        keys = JWKSet.from_json(json.dumps(jwks))
        jws = JWS()
        jws.deserialize(token)
        header = jws.jose_header
        if not isinstance(header, dict) or header.get("typ") != REQUEST_TYP:
            raise UntrustedRequest(f"the request object's typ is not {REQUEST_TYP}")
        if header.get("alg") not in ALGS:
            raise UntrustedRequest(f"the request object is signed with {header.get('alg')!r}")
        key = keys.get_key(str(header.get("kid")))
        if key is None:
            raise UntrustedRequest("the request object is signed by a key the hub does not publish")
        jws.verify(key, alg=header["alg"])
        claims = json.loads(jws.payload)
    except (JWException, ValueError, TypeError) as exc:
        raise UntrustedRequest(f"the request object does not verify: {exc}") from None
    if not isinstance(claims, dict):
        raise UntrustedRequest("the request object's payload is not a JSON object")
    return claims


def _check_claims(claims: dict[str, Any], link: LoginLink, now: int) -> None:
    for name in ("iss", "client_id"):
        if claims.get(name) != link.client_id:
            raise UntrustedRequest(f"the request object's {name} is not {link.client_id}")
    if claims.get("aud") != SELF_ISSUED:
        raise UntrustedRequest(f"the request object is not addressed to wallets ({SELF_ISSUED})")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or exp + SKEW <= now:
        raise UntrustedRequest("the sign-in request expired; start a new one")
    if not isinstance(iat, int) or iat - SKEW > now:
        raise UntrustedRequest("the sign-in request is dated in the future")
    if claims.get("response_type") != "vp_token" or claims.get("response_mode") != "direct_post":
        raise UnsupportedRequest("the wallet answers response_type=vp_token by direct_post only")
    for name in ("nonce", "state", "response_uri"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise UntrustedRequest(f"the request object has no {name}")
    if origin_of(claims["response_uri"]) != link.client_id:
        raise UntrustedRequest("the response_uri is not on the client's own origin")


def _queries(dcql: object) -> dict[str, str]:
    """DCQL §6.1: the credential queries, by id; the wallet signs ldp_vc and jwt_vc_json."""
    listed = dcql.get("credentials") if isinstance(dcql, dict) else None
    if not isinstance(listed, list):
        raise UnsupportedRequest("the request has no DCQL query")
    queries = {
        q["id"]: q["format"]
        for q in listed
        if isinstance(q, dict)
        and isinstance(q.get("id"), str)
        and q.get("format") in FORMAT_OF.values()
    }
    if not queries:
        raise UnsupportedRequest("the request's DCQL query names no format this wallet signs")
    return queries
