"""OpenID for Verifiable Presentations 1.0, the verifier's side: the hub asks a wallet to
prove control of a DID, and judges the answer.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html, kept to what a
sign-in needs:

- §5 the authorisation request, passed by reference (``request_uri``, §5.7) as a signed
  request object (JAR, RFC 9101; ``typ`` ``oauth-authz-req+jwt``, §4 of RFC 9101):
  ``response_type=vp_token``, ``response_mode=direct_post`` with ``response_uri``
  (§8.2), ``nonce``, ``state``, ``client_id`` (the hub's origin, the key published
  with it) and ``aud`` ``https://self-issued.me/v2`` (§5.8, static wallet metadata);
- §6 a DCQL query: one credential query per presentation format the hub verifies
  (``ldp_vc``, a Data Integrity VP; ``jwt_vc_json``, a ``vp+jwt``), either one
  satisfying it (a ``credential_sets`` option each). DCQL always names credentials;
  a proof of DID control alone is asked with the ``meta`` member
  ``"did_authentication": true`` (this hub's extension): a presentation of no
  credential, signed by its holder. With ``credential_type`` it asks for a credential
  of that type about the holder instead;
- §8.1 the ``vp_token``: a JSON object keyed by the query id answered, one presentation
  in its array; §14.1 its binding: the presentation's ``challenge`` / ``nonce`` is the
  request's nonce and its ``domain`` / ``aud`` the request's ``client_id``, both
  checked by the hub's :class:`credentials.verifier.Verifier`, which also checks the
  holder's signature against the holder's current DID document.

Cross-device hardening (§14.2 session fixation): the short code (:func:`short_code`)
is derived from the nonce, shown by the page and carried in the signed request object
as ``signin_code`` (this hub's extension), so the person compares the two.

Pure: no database, no HTTP; :mod:`oauth_server.signin` keeps requests single-use.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from credentials.verification import VerificationResult
from credentials.verifier import Verifier
from oauth_server.signin_errors import (
    InvalidVpToken,
    NonceMismatch,
    SigninStateMismatch,
    WrongAudience,
)

RESPONSE_TYPE = "vp_token"
RESPONSE_MODE = "direct_post"
REQUEST_OBJECT_TYP = "oauth-authz-req+jwt"
REQUEST_OBJECT_MEDIA_TYPE = "application/oauth-authz-req+jwt"
SELF_ISSUED_AUDIENCE = "https://self-issued.me/v2"
QUERY_FORMATS = {"did_ldp": "ldp_vc", "did_jwt": "jwt_vc_json"}
MAX_VP_TOKEN_CHARS = 256 * 1024
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud, typed
CODE_LENGTH = 4
NONCE_CODES = frozenset({"INVALID_CHALLENGE_ERROR", "MISSING_CHALLENGE_ERROR"})


@dataclass(frozen=True)
class SigninRequest:
    """One authorisation request, as the hub stored it."""

    client_id: str
    response_uri: str
    nonce: str
    state: str
    issued_at: int
    expires_at: int
    credential_type: str | None = None

    @property
    def code(self) -> str:
        return short_code(self.nonce)


@dataclass(frozen=True)
class VerifiedResponse:
    did: str  # the holder, proven by its signature
    query_id: str
    result: VerificationResult


def short_code(nonce: str) -> str:
    """The code the page and the wallet both show: derived from the request's nonce, so
    a person sees whether the request in their wallet is the one on their screen."""
    digest = hashlib.sha256(b"notary-hub signin code\x00" + nonce.encode()).digest()
    return "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:CODE_LENGTH])


def dcql_query(credential_type: str | None = None) -> dict[str, Any]:
    """§6: a presentation by the holder of a DID, in either format the hub verifies."""
    credentials = []
    for query_id, fmt in QUERY_FORMATS.items():
        meta: dict[str, Any] = (
            {"type_values": [[credential_type]]}
            if credential_type
            else {"did_authentication": True}
        )
        credentials.append({"id": query_id, "format": fmt, "meta": meta, "multiple": False})
    return {
        "credentials": credentials,
        "credential_sets": [{"options": [[query_id] for query_id in QUERY_FORMATS]}],
    }


def request_claims(request: SigninRequest) -> dict[str, Any]:
    """The request object's claims (§5.1, RFC 9101 §4)."""
    return {
        "iss": request.client_id,
        "aud": SELF_ISSUED_AUDIENCE,
        "client_id": request.client_id,
        "response_type": RESPONSE_TYPE,
        "response_mode": RESPONSE_MODE,
        "response_uri": request.response_uri,
        "nonce": request.nonce,
        "state": request.state,
        "signin_code": request.code,  # this hub's extension: the wallet shows it
        "dcql_query": dcql_query(request.credential_type),
        "client_metadata": {
            "vp_formats_supported": {
                "ldp_vc": {"proof_type_values": ["DataIntegrityProof"]},
                "jwt_vc_json": {"alg_values": ["EdDSA", "ES256K"]},
            }
        },
        "iat": request.issued_at,
        "exp": request.expires_at,
    }


def signing_alg(key: JWK) -> str:
    """The JWS algorithm of a hub key: EdDSA for Ed25519, ES256 for P-256."""
    if key.get("kty") == "OKP" and key.get("crv") == "Ed25519":
        return "EdDSA"
    if key.get("kty") == "EC" and key.get("crv") == "P-256":
        return "ES256"
    raise ValueError("a request object is signed with an Ed25519 or a P-256 key")


def sign_request_object(request: SigninRequest, key: JWK) -> str:
    """The compact JWS of the request object, signed by the hub's ``key`` (``kid`` set)."""
    if not key.has_private:
        raise ValueError("signing a request object needs the private key")
    header = {"alg": signing_alg(key), "typ": REQUEST_OBJECT_TYP, "kid": key.thumbprint()}
    payload = json.dumps(request_claims(request), separators=(",", ":")).encode()
    jws = JWS(payload)
    jws.add_signature(key, protected=header)
    return str(jws.serialize(compact=True))


def check_state(request: SigninRequest, state: str | None) -> None:
    if state is None or not hmac.compare_digest(state.encode(), request.state.encode()):
        raise SigninStateMismatch("the response's state is not this sign-in request's")


def verify_response(
    request: SigninRequest, vp_token: str, state: str | None, verifier: Verifier
) -> VerifiedResponse:
    """The holder who answered ``request``, or the reason the answer is refused."""
    check_state(request, state)
    query_id, presentation = _answer(vp_token)
    result = verifier.verify_presentation(
        presentation, challenge=request.nonce, domain=request.client_id
    )
    if not result.verified:
        raise _refusal(result)
    holder = result.details.get("holder")
    if not isinstance(holder, str):
        raise InvalidVpToken("the presentation names no holder: it proves control of no DID")
    if request.credential_type is not None:
        _require_credential(result, presentation, request.credential_type)
    return VerifiedResponse(holder, query_id, result)


def _answer(vp_token: str) -> tuple[str, Any]:
    """§8.1: one query of the request's credential set answered, with one presentation."""
    if len(vp_token) > MAX_VP_TOKEN_CHARS:
        raise InvalidVpToken(f"the vp_token is longer than {MAX_VP_TOKEN_CHARS} characters")
    try:
        answers = json.loads(vp_token)
    except ValueError:
        raise InvalidVpToken("the vp_token is not JSON") from None
    if not isinstance(answers, dict) or len(answers) != 1:
        raise InvalidVpToken("the vp_token must answer exactly one of the request's queries")
    query_id, presented = next(iter(answers.items()))
    if query_id not in QUERY_FORMATS:
        raise InvalidVpToken(f"the request has no credential query {query_id[:60]!r}")
    if not isinstance(presented, list) or len(presented) != 1:
        raise InvalidVpToken(f"{query_id} must hold exactly one presentation")
    presentation = presented[0]
    expected = str if QUERY_FORMATS[query_id] == "jwt_vc_json" else dict
    if not isinstance(presentation, expected):
        shape = "a vp+jwt string" if expected is str else "a Data Integrity presentation object"
        raise InvalidVpToken(f"{query_id} ({QUERY_FORMATS[query_id]}) is answered by {shape}")
    return query_id, presentation


def _refusal(result: VerificationResult) -> InvalidVpToken:
    codes = {problem.code for problem in result.errors}
    reasons = "; ".join(f"{p.check}: {p.code}: {p.message}" for p in result.errors[:5])
    if codes & NONCE_CODES:
        return NonceMismatch(f"the presentation does not answer this sign-in's nonce ({reasons})")
    if "INVALID_DOMAIN_ERROR" in codes:
        return WrongAudience(f"the presentation is not addressed to this hub ({reasons})")
    return InvalidVpToken(f"the presentation does not verify ({reasons})")


def _require_credential(result: VerificationResult, presentation: Any, wanted: str) -> None:
    if isinstance(presentation, str):
        documents = [d for d in result.details.get("credentials", []) if isinstance(d, Mapping)]
    else:
        listed = presentation.get("verifiableCredential", [])
        documents = [d for d in (listed if isinstance(listed, list) else [listed])]
    for document in documents:
        types = document.get("type") if isinstance(document, Mapping) else None
        if types == wanted or (isinstance(types, list) and wanted in types):
            return
    raise InvalidVpToken(f"the presentation holds no {wanted[:100]} credential about its holder")
