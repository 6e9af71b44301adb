"""The wallet's side of the sign-in: links it follows, request objects it trusts.

Forged and altered request objects (signed by the hub's own key with one claim changed,
signed by another key, unsigned, of another type) are refused before anything is
signed or posted, each with its reason.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from oauth_server.openid4vp import SigninRequest, request_claims
from wallet.login_errors import InvalidLoginLink, UnsupportedRequest, UntrustedRequest
from wallet.openid4vp_login import LoginLink, parse_link, read_request

ORIGIN = "https://hub.example"
LINK = LoginLink(ORIGIN, f"{ORIGIN}/signin/requests/abc/object")
NOW = 1_780_000_000
KEY = JWK.generate(kty="OKP", crv="Ed25519")
JWKS = {"keys": [{**KEY.export_public(as_dict=True), "kid": KEY.thumbprint()}]}


def _claims(**changes: Any) -> dict[str, Any]:
    request = SigninRequest(
        client_id=ORIGIN,
        response_uri=f"{ORIGIN}/signin/requests/abc/response",
        nonce="nonce-1",
        state="state-1",
        issued_at=NOW,
        expires_at=NOW + 300,
    )
    claims = request_claims(request)
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims: dict[str, Any], key: JWK = KEY, **header: Any) -> str:
    protected = {"alg": "EdDSA", "typ": "oauth-authz-req+jwt", "kid": KEY.thumbprint(), **header}
    jws = JWS(json.dumps(claims).encode())
    jws.add_signature(key, protected=protected)
    return str(jws.serialize(compact=True))


def test_a_genuine_request_is_read() -> None:
    request = read_request(_signed(_claims()), JWKS, LINK, now=NOW)
    assert (request.nonce, request.state, request.client_id) == ("nonce-1", "state-1", ORIGIN)
    assert request.query_for("di") == "did_ldp" and request.query_for("jwt") == "did_jwt"


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"iss": "https://evil.example"}, UntrustedRequest, "iss"),
        ({"client_id": "https://evil.example"}, UntrustedRequest, "client_id"),
        ({"aud": ORIGIN}, UntrustedRequest, "addressed"),
        ({"exp": NOW - 61}, UntrustedRequest, "expired"),
        ({"iat": NOW + 3600}, UntrustedRequest, "future"),
        ({"response_mode": "fragment"}, UnsupportedRequest, "direct_post"),
        ({"response_type": "code"}, UnsupportedRequest, "vp_token"),
        ({"response_uri": "https://evil.example/collect"}, UntrustedRequest, "origin"),
        ({"nonce": ""}, UntrustedRequest, "nonce"),
        ({"state": None}, UntrustedRequest, "state"),
        ({"dcql_query": None}, UnsupportedRequest, "DCQL"),
        (
            {"dcql_query": {"credentials": [{"id": "m", "format": "mso_mdoc"}]}},
            UnsupportedRequest,
            "format",
        ),
    ],
)
def test_an_altered_request_is_refused(
    changes: dict[str, Any], error: type[Exception], reason: str
) -> None:
    with pytest.raises(error, match=reason):
        read_request(_signed(_claims(**changes)), JWKS, LINK, now=NOW)


def test_a_forged_signature_type_or_algorithm_is_refused() -> None:
    mallory = JWK.generate(kty="OKP", crv="Ed25519")
    with pytest.raises(UntrustedRequest, match="does not verify"):
        read_request(_signed(_claims(), mallory), JWKS, LINK, now=NOW)
    with pytest.raises(UntrustedRequest, match="does not publish"):
        read_request(_signed(_claims(), kid="another-key"), JWKS, LINK, now=NOW)
    with pytest.raises(UntrustedRequest, match="typ"):
        read_request(_signed(_claims(), typ="JWT"), JWKS, LINK, now=NOW)
    header, payload, _ = _signed(_claims()).split(".")
    with pytest.raises(UntrustedRequest):
        read_request(f"{header}.{payload}.", JWKS, LINK, now=NOW)
    hs256 = JWK.generate(kty="oct", size=256)
    with pytest.raises(UntrustedRequest, match="signed with 'HS256'"):
        read_request(_signed(_claims(), hs256, alg="HS256"), JWKS, LINK, now=NOW)


@pytest.mark.parametrize(
    "link",
    [
        "",
        "https://hub.example/signin",
        "openid4vp://?client_id=https://hub.example",
        "openid4vp://?client_id=https://hub.example&request_uri=https://evil.example/o",
        "openid4vp://?client_id=http://hub.example&request_uri=http://hub.example/o",
        "openid4vp://?client_id=https://u:p@hub.example&request_uri=https://u:p@hub.example/o",
        "openid4vp://?client_id=https://hub.example&client_id=https://evil.example"
        "&request_uri=https://hub.example/o",
    ],
)
def test_a_link_the_wallet_will_not_follow(link: str) -> None:
    with pytest.raises(InvalidLoginLink):
        parse_link(link)


def test_a_link_and_its_qr_payload_are_followed() -> None:
    link = parse_link(
        "openid4vp://?client_id=https%3A%2F%2Fhub.example"
        "&request_uri=https%3A%2F%2Fhub.example%2Fsignin%2Frequests%2Fabc%2Fobject\n"
    )
    assert link == LoginLink(ORIGIN, f"{ORIGIN}/signin/requests/abc/object")
    loopback = parse_link(
        "openid4vp://?client_id=http://127.0.0.1:8000&request_uri=http://127.0.0.1:8000/o"
    )
    assert loopback.client_id == "http://127.0.0.1:8000"
