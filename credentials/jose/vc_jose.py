"""Credentials and presentations secured as JWTs: ``application/vc+jwt`` and ``application/vp+jwt``.

W3C "Securing Verifiable Credentials using JOSE and COSE" (Recommendation,
https://www.w3.org/TR/vc-jose-cose/):

- §3.1.1 / §3.1.2: the unsecured credential (presentation) *is* the JWS payload, no ``vc``
  / ``vp`` claim (§3.1.3: they MUST NOT be present); ``typ`` ``vc+jwt`` / ``vp+jwt``,
  ``cty`` ``vc`` / ``vp`` when present; credentials inside a presentation are
  ``EnvelopedVerifiableCredential`` objects whose ``id`` is ``data:application/vc+jwt,<jwt>``,
  and a presentation may itself travel as an ``EnvelopedVerifiablePresentation``
  (``data:application/vp+jwt,<jwt>``). VC Data Model 2.0 §4.13.1 / §4.13.2 give such an
  object an ``@context``, an ``id`` and a ``type``, and nothing else: every claim is inside
  the envelope, so an envelope with other members (an ``issuer`` or ``credentialSubject``
  beside the token, signed by no one) is refused (:class:`EnvelopeError`).
- §3.1.3: ``iat`` / ``exp`` are the signature's times (distinct from ``validFrom`` /
  ``validUntil``, which the generic verifier checks).
- §4.1.1 ``kid`` MUST be present for a DID URL key; §4.1.2 ``iss``, if present, MUST equal
  the issuer's id; §4.3 the ``kid`` is an absolute URL of a method in the issuer's
  (holder's) DID document.
- §5.1: verification follows RFC 7519 §7.2; on success the document is the decoded payload.

With RFC 8725 (JWT BCP) §3.11 explicit typing (``typ`` checked, compared as a media type
per RFC 7515 §4.1.9) and §3.1 algorithm verification (:mod:`credentials.jose.algorithms`).
Unknown ``crit`` extensions are refused (RFC 7515 §4.1.11), as is ``b64`` (RFC 7797).

Binding: the ``kid``'s DID must be the credential's issuer (the presentation's holder).
Keys are resolved with :func:`resolve_verification_key` for ``assertionMethod``
(credentials) or ``authentication`` (presentations). A credential's key is resolved as
of its ``iat`` (the signature's time, §3.1.3), else as of the verification time: a notary
rotates keys, and what an old key signed must still verify against the DID document of
that moment. ``validFrom`` is not used: it dates the claims, not the signature, and may
rightly precede the key (a deposit dated before the key was published) or even the
chain. ``iat`` is the signer's claim, so a stolen key that was revoked later can still
back-date; the details carry ``keyTime`` / ``keyTimeSource`` for a caller holding a
trusted time (RFC 3161 timestamp, chain anchor) to compare. A presentation is a live
proof of control: its key must be the holder's as of its ``iat`` (a key added after
the claimed signing time does not speak for it) and still in the holder's latest DID
document (a key revoked since no longer does); past its ``exp`` it is refused as
expired (:class:`ProofExpired`, as a Data Integrity proof past its ``expires``).
Challenge and domain bind as the ``nonce`` and ``aud`` claims (RFC 7519 §4.1.3,
OpenID Connect ``nonce``; both in the VC 2.0 context).

Verification never raises: every failure is a :class:`Problem` in the result.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping
from typing import Any

from credentials.errors import (
    CredentialError,
    InvalidChallenge,
    InvalidDomain,
    IssuanceError,
    KeyResolutionError,
    MalformedCredential,
    MissingChallenge,
    ProofExpired,
)
from credentials.jose import algorithms as jose_algorithms
from credentials.jose.algorithms import SigningKey
from credentials.jose.envelope import (
    LEEWAY_SECONDS,
    VC_JWT,
    VP_JWT,
    Opened,
    bind,
    check_of,
    check_times,
    jwt_times,
    open_token,
    sign_envelope,
)
from credentials.jose.key_cache import DEFAULT_KEY_CACHE, KeyCache
from credentials.keys.verification_methods import VerificationKey
from credentials.vc_data_model import (
    CREDENTIAL_TYPE,
    ENVELOPED_CREDENTIAL,
    ENVELOPED_PRESENTATION,
    PRESENTATION_TYPE,
    check_credential,
    check_presentation,
    credentials_of,
    holder_id,
    issuer_id,
    types_of,
)
from credentials.verification import VerificationResult
from did_registry.resolution import DidResolver

log = logging.getLogger(__name__)

ENVELOPED_PREFIX = "data:application/vc+jwt,"
ENVELOPED_VP_PREFIX = "data:application/vp+jwt,"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
ENVELOPE_MEMBERS = frozenset({"@context", "id", "type"})


class EnvelopeError(MalformedCredential):
    """An enveloped credential or presentation with members outside its envelope."""

    code = "ENVELOPE_EXTRA_PROPERTY_ERROR"


# -- signing ------------------------------------------------------------------------------


def sign_credential_jwt(
    credential: Mapping[str, Any],
    *,
    key: SigningKey,
    kid: str,
    alg: str,
    issued_at: int | None = None,
    expires_at: int | None = None,
) -> str:
    """``credential`` as an ``application/vc+jwt`` compact JWS signed by ``kid``'s key.

    ``kid`` is the absolute DID URL of an ``assertionMethod`` of the credential's issuer;
    ``iat`` is ``issued_at`` (default now), ``exp`` is set only when given. Raises
    :class:`MalformedCredential`, :class:`UnsupportedAlgorithm` or :class:`IssuanceError`.
    """
    document = check_credential(credential)
    payload = {**document, "iat": _now() if issued_at is None else issued_at}
    if expires_at is not None:
        payload["exp"] = expires_at
    return sign_envelope(key, kid, alg, VC_JWT, issuer_id(document), "issuer", payload)


def sign_presentation_jwt(
    presentation: Mapping[str, Any],
    *,
    key: SigningKey,
    kid: str,
    alg: str,
    challenge: str | None = None,
    domain: str | None = None,
    issued_at: int | None = None,
    expires_at: int | None = None,
) -> str:
    """``presentation`` as an ``application/vp+jwt`` signed by its holder's ``kid``
    (an ``authentication`` method).

    ``challenge`` and ``domain`` become the ``nonce`` and ``aud`` claims; every
    credential in it must be an enveloped ``vc+jwt`` (see :func:`enveloped_credential`).
    """
    document = check_presentation(presentation)
    holder = holder_id(document)
    if holder is None:
        raise IssuanceError("a vp+jwt presentation names its holder, whose key signs it")
    for index, entry in enumerate(credentials_of(document)):
        enveloped_token(entry, index)
    payload = {**document, "iat": _now() if issued_at is None else issued_at}
    for claim, value in (("nonce", challenge), ("aud", domain), ("exp", expires_at)):
        if value is not None:
            payload[claim] = value
    return sign_envelope(key, kid, alg, VP_JWT, holder, "holder", payload)


def enveloped_credential(token: str) -> dict[str, Any]:
    """The ``EnvelopedVerifiableCredential`` that carries a ``vc+jwt`` in a presentation."""
    return {"@context": VC_CONTEXT, "id": ENVELOPED_PREFIX + token, "type": ENVELOPED_CREDENTIAL}


def enveloped_token(entry: object, index: int = 0, *, where: str | None = None) -> str:
    """The ``vc+jwt`` inside an ``EnvelopedVerifiableCredential`` (VC 2.0 §4.13.1: a data:
    URL id); ``where`` names it in messages (default ``verifiableCredential[index]``)."""
    return _envelope_token(
        entry, ENVELOPED_CREDENTIAL, ENVELOPED_PREFIX, where or f"verifiableCredential[{index}]"
    )


def enveloped_presentation_token(entry: object) -> str:
    """The ``vp+jwt`` inside an ``EnvelopedVerifiablePresentation`` (VC 2.0 §4.13.2)."""
    return _envelope_token(entry, ENVELOPED_PRESENTATION, ENVELOPED_VP_PREFIX, "the presentation")


def _envelope_token(entry: object, kind: str, prefix: str, where: str) -> str:
    if not isinstance(entry, Mapping) or kind not in types_of(entry):
        raise MalformedCredential(f"{where} must be an {kind}: it is JOSE-secured here")
    extra = ", ".join(sorted(str(member) for member in entry if member not in ENVELOPE_MEMBERS))
    if extra:
        listed = extra if len(extra) <= 120 else extra[:117] + "..."
        raise EnvelopeError(
            f"{where} has {listed} outside its envelope: an {kind} holds only @context, "
            "id and type, and what lies beside the token is signed by no one"
        )
    context = entry.get("@context")
    if VC_CONTEXT not in (context if isinstance(context, list) else [context]):
        raise MalformedCredential(f"{where}.@context must include {VC_CONTEXT}")
    ident = entry.get("id")
    if not isinstance(ident, str) or not ident.startswith(prefix):
        raise MalformedCredential(f"{where}.id must be a {prefix} URL")
    return ident[len(prefix) :]


# -- verification -------------------------------------------------------------------------


def verify_credential_jwt(
    token: object, *, resolver: DidResolver, at: int | None = None, keys: KeyCache | None = None
) -> VerificationResult:
    """Verify a ``vc+jwt``; ``at`` is the verification time (unix seconds, default now).

    On success ``result.document`` is the credential and ``result.details`` names the
    issuer, key, algorithm and the time the key was resolved at. ``keys`` reuses key
    resolutions (default: did:key only, see :mod:`credentials.jose.key_cache`).
    """
    result = VerificationResult()
    try:
        _verify_credential(token, resolver, at, keys or DEFAULT_KEY_CACHE, result)
    except CredentialError as error:
        result.document = None
        result.fail(check_of(error), error)
    except Exception:  # a defect here must still answer, as an internal error
        log.exception("verifying a vc+jwt failed unexpectedly")
        result.document = None
        result.fail("proof", CredentialError("internal error while verifying the vc+jwt"))
    return result


def verify_presentation_jwt(
    token: object,
    *,
    resolver: DidResolver,
    challenge: str | None = None,
    domain: str | None = None,
    at: int | None = None,
    keys: KeyCache | None = None,
) -> VerificationResult:
    """Verify a ``vp+jwt`` signed by its holder, then each enveloped ``vc+jwt`` in it.

    ``challenge`` / ``domain``, when given, must equal the ``nonce`` / be in the ``aud``
    the holder signed. The credentials' results are merged in under
    ``verifiableCredential[i].``; their documents are ``details["credentials"]``.
    """
    result = VerificationResult()
    cache = keys or DEFAULT_KEY_CACHE
    try:
        tokens = _verify_presentation(token, resolver, challenge, domain, at, cache, result)
    except CredentialError as error:
        result.document = None
        result.fail(check_of(error), error)
        return result
    except Exception:  # a defect here must still answer, as an internal error
        log.exception("verifying a vp+jwt failed unexpectedly")
        result.document = None
        result.fail("proof", CredentialError("internal error while verifying the vp+jwt"))
        return result
    credentials: list[dict[str, Any] | None] = []
    for index, inner_token in enumerate(tokens):
        inner = verify_credential_jwt(inner_token, resolver=resolver, at=at, keys=cache)
        result.merge(inner, prefix=f"verifiableCredential[{index}].")
        credentials.append(inner.document)
    result.details["credentials"] = credentials
    if not result.verified:
        result.document = None
    return result


def _verify_credential(
    token: object,
    resolver: DidResolver,
    at: int | None,
    keys: KeyCache,
    result: VerificationResult,
) -> None:
    opened = open_token(token, VC_JWT)
    payload = opened.jws.payload
    credential = check_credential(payload)
    if PRESENTATION_TYPE in types_of(credential):
        raise MalformedCredential(f"a vc+jwt payload is a credential, not a {PRESENTATION_TYPE}")
    issuer = issuer_id(credential)
    bind(opened, issuer, "issuer")
    now = _now() if at is None else at
    times = jwt_times(payload, now)
    key_time, source = _key_time(times, at)
    result.passed("structure")
    key = _signing_key(keys, resolver, opened, "assertionMethod", key_time)
    result.passed("proof")
    check_times(times, now)
    result.document = payload
    result.details.update(
        mediaType="vc",
        issuer=issuer,
        verificationMethod=key.id,
        alg=opened.alg.name,
        keyTime=key_time,
        keyTimeSource=source,
    )


def _verify_presentation(
    token: object,
    resolver: DidResolver,
    challenge: str | None,
    domain: str | None,
    at: int | None,
    keys: KeyCache,
    result: VerificationResult,
) -> list[str]:
    opened = open_token(token, VP_JWT)
    payload = opened.jws.payload
    presentation = check_presentation(payload)
    if CREDENTIAL_TYPE in types_of(presentation):
        raise MalformedCredential(f"a vp+jwt payload is a presentation, not a {CREDENTIAL_TYPE}")
    holder = holder_id(presentation)
    if holder is None:
        raise MalformedCredential("a vp+jwt presentation must name its holder, whose key signs it")
    bind(opened, holder, "holder")
    tokens = [enveloped_token(entry, i) for i, entry in enumerate(credentials_of(presentation))]
    now = _now() if at is None else at
    times = jwt_times(payload, now)
    result.passed("structure")
    if "iat" in times:
        key = _signing_key(keys, resolver, opened, "authentication", int(times["iat"]))
        _still_valid(keys, resolver, opened.kid)
    else:
        key = _signing_key(keys, resolver, opened, "authentication", at)
    _check_challenge(payload, challenge, domain)
    if "exp" in times and now - LEEWAY_SECONDS >= times["exp"]:
        raise ProofExpired(f"the presentation expired (exp {times['exp']:.0f})")
    result.passed("proof")
    check_times(times, now)
    result.document = payload
    result.details.update(
        mediaType="vp", holder=holder, verificationMethod=key.id, alg=opened.alg.name
    )
    return tokens


def _key_time(times: Mapping[str, float], at: int | None) -> tuple[int | None, str]:
    """When the credential's key must have been valid: its claimed signing time, if any."""
    if "iat" in times:
        return int(times["iat"]), "iat"
    return at, "verification"


def _check_challenge(payload: Mapping[str, Any], challenge: str | None, domain: str | None) -> None:
    if challenge is not None:
        nonce = payload.get("nonce")
        if nonce is None:
            raise MissingChallenge("the presentation has no nonce; the verifier expects one")
        if not isinstance(nonce, str) or not hmac.compare_digest(
            nonce.encode(), challenge.encode()
        ):
            raise InvalidChallenge("the presentation's nonce is not the challenge")
    if domain is not None:
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or not any(
            isinstance(a, str) and hmac.compare_digest(a.encode(), domain.encode())
            for a in audiences
        ):
            raise InvalidDomain(f"the presentation is not addressed to {domain[:200]} (aud)")


def _still_valid(keys: KeyCache, resolver: DidResolver, kid: str) -> None:
    """The presentation's key is still the holder's in the DID's latest document, not
    only when it signed."""
    try:
        keys.resolve(resolver, kid, "authentication", at=None)
    except KeyResolutionError as exc:
        raise KeyResolutionError(f"{kid} is no longer the holder's key: {exc.message}") from None


def _signing_key(
    keys: KeyCache, resolver: DidResolver, opened: Opened, purpose: str, at: int | None
) -> VerificationKey:
    """The kid's key for ``purpose`` as of ``at``, once the signature checks with it."""
    try:
        key = keys.resolve(resolver, opened.kid, purpose, at=at)
    except CredentialError:
        raise
    except Exception as exc:  # a resolver outage must not escape verification
        log.warning("resolving %s failed", opened.kid, exc_info=True)
        raise KeyResolutionError(f"resolving {opened.kid} failed: {type(exc).__name__}") from None
    jose_algorithms.verify(opened.alg, key, opened.jws.signing_input, opened.jws.signature)
    return key


def _now() -> int:
    return int(time.time())
