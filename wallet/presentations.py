"""Building a holder's Verifiable Presentation, bound to one verifier's challenge and domain.

VC Data Model 2.0 §4.13 "Verifiable Presentations"
(https://www.w3.org/TR/vc-data-model-2.0/#verifiable-presentations), secured either way
the hub's verifier accepts:

- ``"di"``: a Data Integrity proof (https://www.w3.org/TR/vc-data-integrity/ §2.1) with
  the ``eddsa-rdfc-2022`` cryptosuite, ``proofPurpose`` ``authentication``, the
  verifier's ``challenge`` and ``domain``, ``created`` and ``expires``; made by
  :func:`credentials.data_integrity.proofs.add_proof`, the notary's own proof code.
  ``vc+jwt`` credentials travel as ``EnvelopedVerifiableCredential`` (§4.13.1).
- ``"jwt"``: an ``application/vp+jwt`` (VC-JOSE-COSE §3.1.2,
  https://www.w3.org/TR/vc-jose-cose/) by
  :func:`credentials.jose.vc_jose.sign_presentation_jwt`: EdDSA for an Ed25519 key,
  ES256K for a secp256k1 key, ``kid`` the verification method, the challenge as
  ``nonce`` and the domain as ``aud``, ``iat`` / ``exp``. Only ``vc+jwt`` credentials
  can be carried.

The builder takes a key, never a wallet: whoever holds the key decides which DID
method names it. Verifiers resolve a did:ethr holder's key as of ``created`` (``iat``),
so a key added on chain moments ago needs ``created`` no earlier than its block.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.data_integrity.proofs import ProofOptions, SigningKey, add_proof
from credentials.jose.vc_jose import VC_CONTEXT, enveloped_credential, sign_presentation_jwt
from credentials.jsonld.strict import check_terms
from credentials.vc_data_model import (
    ENVELOPED_CREDENTIAL,
    MAX_PRESENTED_CREDENTIALS,
    PRESENTATION_TYPE,
    check_presentation,
    types_of,
)
from wallet.presentation_errors import PresentationError

Format = Literal["di", "jwt"]
FORMATS: tuple[Format, ...] = ("di", "jwt")
CRYPTOSUITE = "eddsa-rdfc-2022"
MAX_CHALLENGE_CHARS = 1024  # what the hub's verify route accepts for a challenge or domain
# A presentation answers one challenge now; a court bundle passes a longer ``expires``.
DEFAULT_LIFETIME = timedelta(minutes=10)

PrivateKey = Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def build_presentation(
    credentials: Sequence[dict[str, Any] | str],
    *,
    holder: str,
    verification_method: str,
    private_key: PrivateKey,
    challenge: str,
    domain: str,
    fmt: Format = "di",
    created: datetime | None = None,
    expires: datetime | None = None,
    require_credentials: bool = True,
) -> dict[str, Any] | str:
    """The presentation of ``credentials`` by ``holder``, signed with ``private_key``.

    ``verification_method`` is the absolute DID URL of ``private_key`` in the holder's
    DID document (an ``authentication`` method). ``created`` defaults to now,
    ``expires`` to ten minutes later. Returns the secured presentation (``"di"``) or
    the compact ``vp+jwt`` (``"jwt"``). With ``require_credentials`` false, a
    presentation of no credential proves control of ``holder``'s DID alone (a
    sign-in, :mod:`wallet.openid4vp_login`). Raises :class:`PresentationError` for an
    empty or oversized challenge or domain, no or too many credentials, a key or
    credential the format cannot carry, and the credentials layer's errors for a
    document that cannot be signed faithfully.
    """
    _check_request(credentials, holder, verification_method, challenge, domain, fmt)
    if not credentials and require_credentials:
        raise PresentationError("a presentation needs at least one credential")
    signed_at = (created or datetime.now(UTC)).replace(microsecond=0)
    until = expires or signed_at + DEFAULT_LIFETIME
    if signed_at.tzinfo is None or until.tzinfo is None:
        raise PresentationError("created and expires must be timezone-aware")
    if until <= signed_at:
        raise PresentationError("the presentation must expire after it is created")
    if fmt == "di":
        return _data_integrity(
            credentials, holder, verification_method, private_key, challenge, domain,
            signed_at, until,
        )  # fmt: skip
    return _vp_jwt(
        credentials, holder, verification_method, private_key, challenge, domain,
        signed_at, until,
    )  # fmt: skip


def _check_request(
    credentials: Sequence[dict[str, Any] | str],
    holder: str,
    verification_method: str,
    challenge: str,
    domain: str,
    fmt: str,
) -> None:
    if fmt not in FORMATS:
        raise PresentationError(f"unknown presentation format {fmt!r}; use one of {FORMATS}")
    for name, value in (("challenge", challenge), ("domain", domain)):
        if not isinstance(value, str) or not value.strip():
            raise PresentationError(f"a presentation needs the verifier's {name}; none was given")
        if len(value) > MAX_CHALLENGE_CHARS:
            raise PresentationError(f"the {name} is longer than {MAX_CHALLENGE_CHARS} characters")
    if len(credentials) > MAX_PRESENTED_CREDENTIALS:
        raise PresentationError(
            f"{len(credentials)} credentials; a presentation holds at most "
            f"{MAX_PRESENTED_CREDENTIALS}"
        )
    if verification_method.split("#", 1)[0] != holder or "#" not in verification_method:
        raise PresentationError(
            f"the verification method {verification_method[:200]} is not a key of the "
            f"holder {holder[:200]}"
        )


def _unsigned(holder: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    presentation = {
        "@context": [VC_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": [PRESENTATION_TYPE],
        "holder": holder,
        "verifiableCredential": entries,
    }
    check_presentation(presentation)
    return presentation


def _entry(credential: Mapping[str, Any] | str) -> dict[str, Any]:
    """A credential as a presentation carries it: a vc+jwt in its envelope."""
    if isinstance(credential, str):
        return enveloped_credential(credential)
    if not isinstance(credential, Mapping):
        raise PresentationError("each credential must be a JSON object or a vc+jwt string")
    return dict(credential)


def _data_integrity(
    credentials: Sequence[Mapping[str, Any] | str],
    holder: str,
    verification_method: str,
    private_key: PrivateKey,
    challenge: str,
    domain: str,
    created: datetime,
    expires: datetime,
) -> dict[str, Any]:
    if not isinstance(private_key, Ed25519PrivateKey):
        raise PresentationError(
            f"a Data Integrity presentation ({CRYPTOSUITE}) needs an Ed25519 key; "
            "sign a secp256k1 key's presentation as a vp+jwt"
        )
    presentation = _unsigned(holder, [_entry(c) for c in credentials])
    check_terms(presentation)  # never sign what JSON-LD would read differently
    options = ProofOptions(
        proof_purpose="authentication",
        created=created,
        expires=expires,
        challenge=challenge,
        domain=domain,
    )
    key = SigningKey(verification_method, private_key)
    return add_proof(presentation, suite=CRYPTOSUITE, key=key, options=options)


def _vp_jwt(
    credentials: Sequence[Mapping[str, Any] | str],
    holder: str,
    verification_method: str,
    private_key: PrivateKey,
    challenge: str,
    domain: str,
    created: datetime,
    expires: datetime,
) -> str:
    entries = [_entry(c) for c in credentials]
    for index, entry in enumerate(entries):
        if ENVELOPED_CREDENTIAL not in types_of(entry):
            raise PresentationError(
                f"credential {index} is secured with a Data Integrity proof: a vp+jwt "
                "carries vc+jwt credentials only; present it in the di format"
            )
    if isinstance(private_key, Ed25519PrivateKey):
        alg = "EdDSA"
    elif isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(
        private_key.curve, ec.SECP256K1
    ):
        alg = "ES256K"
    else:
        raise PresentationError("a vp+jwt is signed with an Ed25519 or a secp256k1 key")
    return sign_presentation_jwt(
        _unsigned(holder, entries),
        key=private_key,
        kid=verification_method,
        alg=alg,
        challenge=challenge,
        domain=domain,
        issued_at=int(created.timestamp()),
        expires_at=int(expires.timestamp()),
    )
