"""The JOSE envelope shared by ``vc+jwt`` and ``vp+jwt``: header rules, signer binding, JWT times.

W3C "Securing Verifiable Credentials using JOSE and COSE" (https://www.w3.org/TR/vc-jose-cose/)
§3.1.1 / §3.1.2 (``typ`` ``vc+jwt`` / ``vp+jwt``, ``cty`` ``vc`` / ``vp``), §3.1.3 (no
``vc`` / ``vp`` claims; ``iat`` / ``exp`` are the signature's times), §4.1.1 (``kid``
present for a DID URL key), §4.1.2 (``iss``, if present, equals the issuer), §4.3 (the
``kid`` is an absolute URL of a method of the issuer's or holder's document), §5
(minimise processing of untrusted data before the key is known).

RFC 8725 (JWT BCP) §3.11 explicit typing: ``typ`` is checked, compared as a media type
(RFC 7515 §4.1.9: case-insensitive, ``application/`` implied). RFC 7515 §4.1.11: a
``crit`` extension this verifier does not understand makes the JWS invalid, and it
understands none; RFC 7797 ``b64`` (unencoded payloads) is refused. RFC 7519 §4.1.4-6
NumericDate claims, with :data:`LEEWAY_SECONDS` of clock skew.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credentials.errors import (
    CredentialError,
    IssuanceError,
    KeyResolutionError,
    MalformedCredential,
    ValidityError,
)
from credentials.jose import algorithms as jose_algorithms
from credentials.jose.algorithms import JoseAlgorithm, SigningKey
from credentials.jose.jws_compact import CompactJws, parse_compact, serialize, signing_input

VC_JWT = "vc+jwt"
VP_JWT = "vp+jwt"
CONTENT_TYPES = {VC_JWT: "vc", VP_JWT: "vp"}
LEEWAY_SECONDS = 60  # clock skew allowed on exp / nbf / iat (RFC 7519 §4.1.4)
# An absolute DID URL with a fragment (DID Core §3.1 / §3.2 syntax, no path or query):
# group 1 is the DID.
_DID_URL = re.compile(
    r"(did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._%-])#[A-Za-z0-9._~!$&'()*+,;=:@/?%-]+"
)


@dataclass(frozen=True, slots=True)
class Opened:
    """A token whose structure and header passed, its signature not yet checked."""

    jws: CompactJws
    alg: JoseAlgorithm
    kid: str
    did: str  # the DID the kid belongs to


def open_token(token: object, typ: str) -> Opened:
    """Parse ``token`` and check its header for ``typ``, before any key is looked up."""
    jws = parse_compact(token)
    header = jws.header
    if media_type(header.get("typ")) != "application/" + typ:
        raise MalformedCredential(f"typ must be {typ!r}, not {show(header.get('typ'))}")
    alg = jose_algorithms.algorithm(header.get("alg"))
    if "crit" in header:
        raise MalformedCredential("the JWS lists crit extensions this verifier does not understand")
    if "b64" in header:
        raise MalformedCredential("unencoded payloads (b64, RFC 7797) are not accepted")
    cty = header.get("cty")
    if cty is not None and media_type(cty) != "application/" + CONTENT_TYPES[typ]:
        raise MalformedCredential(f"cty must be {CONTENT_TYPES[typ]!r}, not {show(cty)}")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise MalformedCredential("the JWS header has no kid naming the verification method")
    match = _DID_URL.fullmatch(kid)
    if match is None:
        raise KeyResolutionError(f"kid {show(kid)} is not an absolute DID URL with a fragment")
    refuse_wrapped(jws.payload)
    return Opened(jws, alg, kid, match.group(1))


def refuse_wrapped(document: Mapping[str, Any]) -> None:
    for claim in ("vc", "vp"):
        if claim in document:
            raise MalformedCredential(
                f"the JWT claim {claim!r} must not be present: the payload is the document itself"
            )


def media_type(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    lowered = value.lower()
    return lowered if "/" in lowered else "application/" + lowered


def bind(opened: Opened, expected: str, role: str) -> None:
    """The kid's DID is the issuer (holder); ``iss``, wherever present, names it too."""
    if opened.did != expected:
        raise KeyResolutionError(f"kid {opened.kid} is not a key of the {role} {expected}")
    for where, claims in (("payload", opened.jws.payload), ("header", opened.jws.header)):
        if "iss" in claims and claims["iss"] != expected:
            raise MalformedCredential(f"iss in the JWT {where} is not the {role} {expected}")


def jwt_times(payload: Mapping[str, Any], now: int) -> dict[str, float]:
    """The NumericDate claims present, checked to be numbers; an ``iat`` in the future
    (beyond the leeway) is refused, since keys are resolved as of it."""
    times: dict[str, float] = {}
    for claim in ("iat", "nbf", "exp"):
        if claim in payload:
            value = payload[claim]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise MalformedCredential(f"{claim} must be a NumericDate (seconds since 1970)")
            times[claim] = value
    if times.get("iat", 0) > now + LEEWAY_SECONDS:
        raise ValidityError(f"the JWT was issued in the future (iat {times['iat']:.0f})")
    return times


def check_times(times: Mapping[str, float], now: int) -> None:
    if "exp" in times and now - LEEWAY_SECONDS >= times["exp"]:
        raise ValidityError(f"the JWT expired (exp {times['exp']:.0f})")
    if "nbf" in times and now + LEEWAY_SECONDS < times["nbf"]:
        raise ValidityError(f"the JWT is not valid before {times['nbf']:.0f} (nbf)")


def sign_envelope(
    key: SigningKey, kid: str, alg: str, typ: str, signer: str, role: str, payload: dict[str, Any]
) -> str:
    """The compact JWS of ``payload``: header ``alg``, ``kid``, ``typ``, ``cty``.

    :class:`UnsupportedAlgorithm` if ``key`` is not of ``alg``'s type,
    :class:`IssuanceError` if ``kid`` is not a DID URL of ``signer``.
    """
    chosen = jose_algorithms.signing_algorithm(key, alg)
    match = _DID_URL.fullmatch(kid) if isinstance(kid, str) else None
    if match is None:
        raise IssuanceError(f"kid {show(kid)} is not an absolute DID URL with a fragment")
    if match.group(1) != signer:
        raise IssuanceError(f"kid {kid} is not a key of the {role} {signer}")
    refuse_wrapped(payload)
    header = {"alg": chosen.name, "kid": kid, "typ": typ, "cty": CONTENT_TYPES[typ]}
    signed = signing_input(header, payload)
    return serialize(signed, jose_algorithms.sign(chosen, key, signed))


def check_of(error: CredentialError) -> str:
    """The result check a failure belongs to."""
    if isinstance(error, MalformedCredential):
        return "structure"
    if isinstance(error, ValidityError):
        return "validity"
    return "proof"


def show(value: object) -> str:
    """A bounded repr of untrusted input for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
