"""OpenID4VP request objects and vp_token validation, against the hub's real verifier
(did:key holders, resolved offline)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from credentials.verifier import Verifier
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from oauth_server.openid4vp import (
    CODE_ALPHABET,
    REQUEST_OBJECT_TYP,
    SigninRequest,
    dcql_query,
    request_claims,
    short_code,
    sign_request_object,
    verify_response,
)
from oauth_server.signin_errors import (
    InvalidVpToken,
    NonceMismatch,
    SigninStateMismatch,
    WrongAudience,
)
from testkit.holder import Holder, credential_for, did_key_holder
from wallet.openid4vp_login import LoginLink, LoginRequest, read_request
from wallet.presentations import Format, build_presentation

ORIGIN = "https://hub.example"
NOW = 1_780_000_000


def _request(nonce: str = "n-0123456789abcdef", **changes: Any) -> SigninRequest:
    fields: dict[str, Any] = {
        "client_id": ORIGIN,
        "response_uri": f"{ORIGIN}/signin/requests/r1/response",
        "nonce": nonce,
        "state": "s-0123456789abcdef",
        "issued_at": NOW,
        "expires_at": NOW + 300,
    }
    fields.update(changes)
    return SigninRequest(**fields)


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(DispatchingResolver({"key": DidKeyResolver()}), chain=None)


@pytest.fixture(scope="module")
def alice() -> Holder:
    return did_key_holder("alice")


def _vp(holder: Holder, request: SigninRequest, fmt: Format = "di", **over: Any) -> Any:
    return build_presentation(
        over.pop("credentials", []),
        holder=holder.did,
        verification_method=over.pop("method", holder.method),
        private_key=over.pop("key", holder.key),
        challenge=over.pop("nonce", request.nonce),
        domain=over.pop("domain", request.client_id),
        fmt=fmt,
        require_credentials=False,
    )


def _token(presentation: Any, query: str = "did_ldp") -> str:
    return json.dumps({query: [presentation]})


def test_the_request_object_is_a_signed_jar_the_wallet_accepts() -> None:
    key = JWK.generate(kty="OKP", crv="Ed25519")
    request = _request()
    token = sign_request_object(request, key)
    jws = JWS()
    jws.deserialize(token)
    assert jws.jose_header["typ"] == REQUEST_OBJECT_TYP
    assert jws.jose_header["alg"] == "EdDSA"
    jws.verify(JWK(**key.export_public(as_dict=True)))
    claims = json.loads(jws.payload)
    assert claims == request_claims(request)
    assert claims["response_type"] == "vp_token" and claims["response_mode"] == "direct_post"
    assert claims["signin_code"] == request.code

    public = {"keys": [{**key.export_public(as_dict=True), "kid": key.thumbprint()}]}
    seen = read_request(token, public, LoginLink(ORIGIN, f"{ORIGIN}/x"), now=NOW + 1)
    assert (seen.nonce, seen.state, seen.code) == (request.nonce, request.state, request.code)
    assert seen.queries == {"did_ldp": "ldp_vc", "did_jwt": "jwt_vc_json"}


def test_the_dcql_query_asks_for_the_did_in_either_format() -> None:
    query = dcql_query()
    assert [q["format"] for q in query["credentials"]] == ["ldp_vc", "jwt_vc_json"]
    assert all(q["meta"] == {"did_authentication": True} for q in query["credentials"])
    assert query["credential_sets"] == [{"options": [["did_ldp"], ["did_jwt"]]}]
    typed = dcql_query("UniversityDegreeCredential")["credentials"][0]["meta"]
    assert typed == {"type_values": [["UniversityDegreeCredential"]]}


def test_the_short_code_is_short_readable_and_the_nonce_s() -> None:
    code = short_code("nonce-a")
    assert len(code) == 4 and set(code) <= set(CODE_ALPHABET)
    assert short_code("nonce-a") == code
    assert {short_code(f"nonce-{i}") for i in range(50)} != {code}


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_a_holder_s_presentation_proves_its_did(
    verifier: Verifier, alice: Holder, fmt: Format
) -> None:
    holder = alice if fmt == "di" else did_key_holder("alice-k1", "secp256k1")
    request = _request()
    query = "did_ldp" if fmt == "di" else "did_jwt"
    verified = verify_response(
        request, _token(_vp(holder, request, fmt), query), request.state, verifier
    )
    assert verified.did == holder.did and verified.query_id == query


def test_a_wrong_state_is_refused(verifier: Verifier, alice: Holder) -> None:
    request = _request()
    with pytest.raises(SigninStateMismatch):
        verify_response(request, _token(_vp(alice, request)), "another", verifier)
    with pytest.raises(SigninStateMismatch):
        verify_response(request, _token(_vp(alice, request)), None, verifier)


def test_a_nonce_of_another_request_is_refused(verifier: Verifier, alice: Holder) -> None:
    mine, theirs = _request("nonce-of-this-request"), _request("nonce-of-another-request")
    with pytest.raises(NonceMismatch, match="nonce"):
        verify_response(mine, _token(_vp(alice, theirs)), mine.state, verifier)


def test_another_audience_is_refused(verifier: Verifier, alice: Holder) -> None:
    request = _request()
    elsewhere = _vp(alice, request, domain="https://evil.example")
    with pytest.raises(WrongAudience):
        verify_response(request, _token(elsewhere), request.state, verifier)
    jwt_holder = did_key_holder("alice-k1", "secp256k1")
    elsewhere_jwt = _vp(jwt_holder, request, "jwt", domain="https://evil.example")
    with pytest.raises(WrongAudience):
        verify_response(request, _token(elsewhere_jwt, "did_jwt"), request.state, verifier)


def test_a_tampered_presentation_is_refused(verifier: Verifier, alice: Holder) -> None:
    request = _request()
    presentation = _vp(alice, request)
    presentation["holder"] = did_key_holder("mallory").did
    with pytest.raises(InvalidVpToken, match="does not verify"):
        verify_response(request, _token(presentation), request.state, verifier)
    token = _vp(did_key_holder("k1", "secp256k1"), request, "jwt")
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(InvalidVpToken):
        verify_response(request, _token(forged, "did_jwt"), request.state, verifier)


def test_a_key_not_in_the_holder_s_document_is_refused(verifier: Verifier, alice: Holder) -> None:
    mallory = did_key_holder("mallory")
    fragment = mallory.method.split("#", 1)[1]
    request = _request()
    presentation = _vp(alice, request, method=f"{alice.did}#{fragment}", key=mallory.key)
    with pytest.raises(InvalidVpToken, match="does not verify"):
        verify_response(request, _token(presentation), request.state, verifier)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("not json", "not JSON"),
        ("[]", "exactly one"),
        ('{"did_ldp": [], "did_jwt": []}', "exactly one"),
        ('{"other": [{}]}', "no credential query"),
        ('{"did_ldp": [{}, {}]}', "exactly one presentation"),
        ('{"did_ldp": ["a.b.c"]}', "Data Integrity"),
        ('{"did_jwt": [{}]}', "vp\\+jwt"),
        ('{"did_ldp": [' + '"x",' * 100_000 + '"x"]}', "longer"),
    ],
)
def test_a_vp_token_of_the_wrong_shape_is_refused(
    verifier: Verifier, token: str, reason: str
) -> None:
    request = _request()
    with pytest.raises(InvalidVpToken, match=reason):
        verify_response(request, token, request.state, verifier)


def test_a_presentation_without_the_asked_credential_is_refused(
    verifier: Verifier, alice: Holder
) -> None:
    request = _request(credential_type="VerifiableCredential")
    with pytest.raises(InvalidVpToken, match="holds no VerifiableCredential"):
        verify_response(request, _token(_vp(alice, request)), request.state, verifier)
    issuer = did_key_holder("university")
    held = credential_for(alice.did, issuer)
    with_credential = _vp(alice, request, credentials=[held])
    verified = verify_response(request, _token(with_credential), request.state, verifier)
    assert verified.did == alice.did


def test_a_wallet_refuses_a_request_object_it_cannot_trust() -> None:
    from wallet.login_errors import UntrustedRequest

    key, other = JWK.generate(kty="OKP", crv="Ed25519"), JWK.generate(kty="OKP", crv="Ed25519")
    token = sign_request_object(_request(), key)
    link = LoginLink(ORIGIN, f"{ORIGIN}/x")
    published = {"keys": [{**other.export_public(as_dict=True), "kid": key.thumbprint()}]}
    with pytest.raises(UntrustedRequest, match="does not verify"):
        read_request(token, published, link, now=NOW)
    mine = {"keys": [{**key.export_public(as_dict=True), "kid": key.thumbprint()}]}
    with pytest.raises(UntrustedRequest, match="expired"):
        read_request(token, mine, link, now=NOW + 3600)
    with pytest.raises(UntrustedRequest, match="iss"):
        read_request(token, mine, LoginLink("https://other.example", "x"), now=NOW)
    assert isinstance(read_request(token, mine, link, now=NOW), LoginRequest)
