"""Data Integrity proofs, whatever the cryptosuite: options, checks, add and verify.

W3C "Verifiable Credential Data Integrity 1.0" (Recommendation, 15 May 2025),
https://www.w3.org/TR/vc-data-integrity/:

- §2.1 "Proofs": the members of a ``DataIntegrityProof`` (``type``, ``cryptosuite``,
  ``created`` and ``expires`` as XML Schema dateTimeStamp, ``verificationMethod``,
  ``proofPurpose``, ``challenge``, ``domain``, ``nonce``, ``id``, ``proofValue``);
- §2.1.1 "Proof Sets": ``proof`` as a single proof or an unordered set, each proof
  once; proof chains (``previousProof``, §2.1.2) are refused;
- §2.2 "Proof Purposes"; §4.2 "Add Proof" (with §4.3 for a document already
  holding proofs); §4.4 "Verify Proof" and §4.5 "Verify Proof Sets and Chains";
- §3 "Cryptographic Suites": :data:`SUITES` maps ``cryptosuite`` identifiers to
  the suites this hub accepts, an explicit allow-list;
- the proof's ``@context`` (vc-di-eddsa §3.3.1 step 2 / §3.3.2 step 4): every proof
  added records the document's ``@context``, and a document whose ``@context`` is not
  the one its proofs were signed under is refused
  (:mod:`credentials.data_integrity.proof_sets`).

The key is resolved with
:func:`credentials.keys.verification_methods.resolve_verification_key` as of the
proof's ``created`` (unless told otherwise), so a credential signed before a key
rotation keeps verifying. Verification never raises for a bad
document: every failure is a :class:`~credentials.verification.Problem`.
"""

from __future__ import annotations

import copy
import hmac
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.data_integrity import proof_sets
from credentials.data_integrity.eddsa_rdfc_2022 import EddsaRdfc2022
from credentials.errors import (
    CredentialError,
    InvalidChallenge,
    InvalidDomain,
    IssuanceError,
    MalformedCredential,
    MissingChallenge,
    ProofError,
    ProofExpired,
    UnsupportedAlgorithm,
)
from credentials.jsonld.rdf_fast import FastCanonicalizer
from credentials.keys.verification_methods import (
    PROOF_PURPOSES,
    VerificationKey,
    resolve_verification_key,
)
from credentials.verification import VerificationResult
from did_registry.resolution import DidResolver

log = logging.getLogger(__name__)

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
CHECK = "proof"
# XML Schema 1.1 Part 2 §3.4.28 dateTimeStamp: a dateTime with a timezone.
_DATETIME_STAMP = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
CLOCK_SKEW = 300  # seconds a proof's ``created`` may run ahead of the verifier's clock


class ProofGenerationError(IssuanceError):
    code = "PROOF_GENERATION_ERROR"


class ProofVerificationError(ProofError):
    """A proof that is incomplete, for another purpose or not yet created."""

    code = "PROOF_VERIFICATION_ERROR"


class Cryptosuite(Protocol):
    """A Data Integrity cryptosuite instance (§3): creates and verifies one proof."""

    @property
    def name(self) -> str: ...

    def create_proof(
        self,
        unsecured_document: Mapping[str, Any],
        options: Mapping[str, Any],
        private_key: Ed25519PrivateKey,
    ) -> dict[str, Any]: ...

    def verify_proof(
        self, unsecured_document: Mapping[str, Any], proof: Mapping[str, Any], key: VerificationKey
    ) -> None:
        """Return if ``proof`` verifies for ``unsecured_document`` with ``key``; raise otherwise."""
        ...


# The fast canonicalizer is byte-identical to pyld's (differentially tested) and hands
# anything it does not cover to pyld, so it is the one both issuing and verifying use.
SUITES: dict[str, Cryptosuite] = {"eddsa-rdfc-2022": EddsaRdfc2022(FastCanonicalizer())}


@dataclass(frozen=True)
class SigningKey:
    verification_method: str  # absolute DID URL, e.g. "did:ethr:0x539:0x…#delegate-1"
    private_key: Ed25519PrivateKey


@dataclass(frozen=True)
class ProofOptions:
    """What a proof says besides its signature (§2.1); ``created`` defaults to now."""

    proof_purpose: str = "assertionMethod"
    created: datetime | None = None
    expires: datetime | None = None
    challenge: str | None = None
    domain: str | tuple[str, ...] | None = None
    nonce: str | None = None
    id: str | None = None

    def proof_options(self, *, cryptosuite: str, verification_method: str) -> dict[str, Any]:
        """The proof options map, in the order the specifications' examples use."""
        if self.proof_purpose not in PROOF_PURPOSES:
            raise ProofGenerationError(f"proof purpose {self.proof_purpose!r} is not supported")
        _check_method_url(verification_method, ProofGenerationError)
        options: dict[str, Any] = {}
        if self.id is not None:
            options["id"] = self.id
        options["type"] = DATA_INTEGRITY_PROOF
        options["cryptosuite"] = cryptosuite
        options["created"] = format_datetime(self.created or datetime.now(UTC))
        if self.expires is not None:
            options["expires"] = format_datetime(self.expires)
        options["verificationMethod"] = verification_method
        options["proofPurpose"] = self.proof_purpose
        if self.domain is not None:
            options["domain"] = self.domain if isinstance(self.domain, str) else list(self.domain)
        if self.challenge is not None:
            options["challenge"] = self.challenge
        if self.nonce is not None:
            options["nonce"] = self.nonce
        return options


def format_datetime(moment: datetime) -> str:
    """An aware datetime as an XML Schema dateTimeStamp in UTC, whole seconds: ``…T…Z``."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ProofGenerationError("proof times must be timezone-aware datetimes")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: Any, name: str) -> datetime:
    """A proof's ``created`` / ``expires``: an XML Schema dateTimeStamp, as an aware datetime."""
    if not isinstance(value, str) or not _DATETIME_STAMP.fullmatch(value):
        raise ProofVerificationError(
            f"proof {name} {str(value)[:40]!r} is not an XML Schema dateTimeStamp"
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:  # e.g. 2023-02-30
        raise ProofVerificationError(f"proof {name} {value!r} is not a date: {exc}") from None


# -- §4.2 Add Proof -------------------------------------------------------------------


def add_proof(
    document: Mapping[str, Any],
    *,
    suite: Cryptosuite | str,
    key: SigningKey,
    options: ProofOptions | None = None,
    record_context: bool = True,
) -> dict[str, Any]:
    """The secured document: a copy of ``document`` with a new proof by ``key``.

    A document that already has proofs gets one more in its proof set (§4.3,
    without ``previousProof``). The proof records the document's ``@context``
    unless ``record_context`` is false (which reproduces the specification's
    test vectors, whose proofs have none); the signature is the same either way.
    Raises :class:`ProofGenerationError` for bad options or a proof the set already
    holds, and the canonicalizer's errors (ContextError, MalformedCredential) for a
    document that cannot be signed faithfully.
    """
    if isinstance(suite, str):
        suite = _suite(suite)
    if not isinstance(document, Mapping):
        raise MalformedCredential("only a JSON object can be secured with a proof")
    options = options or ProofOptions()
    proof_options = options.proof_options(
        cryptosuite=suite.name, verification_method=key.verification_method
    )
    unsecured = {k: copy.deepcopy(v) for k, v in document.items() if k != "proof"}
    proof = suite.create_proof(unsecured, proof_options, key.private_key)  # step 1
    for member in ("type", "verificationMethod", "proofPurpose"):  # step 2
        if not proof.get(member):
            raise ProofGenerationError(f"the {suite.name} proof has no {member}")
    for member in ("domain", "challenge"):  # steps 3-4
        if member in proof_options and proof.get(member) != proof_options[member]:
            raise ProofGenerationError(f"the {suite.name} proof changed its {member}")
    if record_context:
        proof = proof_sets.with_context(proof, unsecured)
    secured = copy.deepcopy(dict(document))  # step 5
    existing = document.get("proof")
    if existing is None:
        secured["proof"] = proof  # step 6
        return secured
    try:  # the same key signing the same document in the same second signs alike
        proofs = [*copy.deepcopy(_as_proofs(existing)), proof]
        proof_sets.check_distinct(proofs)
    except proof_sets.DuplicateProof as exc:
        raise ProofGenerationError(exc.message) from None
    secured["proof"] = proofs
    return secured


# -- §4.4 Verify Proof, §4.5 Verify Proof Sets ------------------------------------------


def verify_proof(
    document: Any,
    *,
    resolver: DidResolver,
    expected_purpose: str,
    challenge: str | None = None,
    domain: str | Sequence[str] | None = None,
    at: int | None = None,
    now: int | None = None,
) -> VerificationResult:
    """Verify every proof of ``document``; never raises for a bad document.

    ``at`` is the unix time to resolve each proof's DID as of (default: its
    ``created``); ``now`` the verifier's clock for ``expires`` (default: time.time()).
    ``result.document`` is the unsecured document when all proofs verify;
    ``result.details["proofs"]`` describes each proof checked.
    """
    result = VerificationResult()
    clock = int(time.time()) if now is None else now
    try:
        if not isinstance(document, Mapping):
            raise MalformedCredential("the secured document is not a JSON object")
        proofs = _as_proofs(document.get("proof"))
    except CredentialError as exc:
        result.fail(CHECK, exc)
        return result
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    described = []
    for proof in proofs:
        try:
            key = _check_and_resolve(
                proof, resolver, expected_purpose, challenge, domain, at, clock
            )
            _suite(proof.get("cryptosuite")).verify_proof(unsecured, proof, key)
        except CredentialError as exc:
            result.fail(CHECK, exc)
            continue
        except Exception:  # a defect must still answer, as a failed check
            log.exception("verifying a Data Integrity proof failed unexpectedly")
            result.fail(CHECK, CredentialError("internal error while verifying the proof"))
            continue
        result.passed(CHECK)
        described.append(
            {
                "cryptosuite": proof["cryptosuite"],
                "verificationMethod": key.id,
                "proofPurpose": proof["proofPurpose"],
                "created": proof.get("created"),
            }
        )
    if not result.errors:
        try:  # once every proof verifies: is this the @context they were signed under?
            proof_sets.check_signed_contexts(document, proofs)
        except CredentialError as exc:
            result.fail(CHECK, exc)
    result.details["proofs"] = described
    if not result.errors:
        result.document = copy.deepcopy(unsecured)
    return result


def _as_proofs(value: Any) -> list[Mapping[str, Any]]:
    """§2.1.1: a proof or a non-empty set of proofs, all maps, none chained, none twice."""
    if value is None:
        raise ProofVerificationError("the document has no proof")
    proofs = value if isinstance(value, list) else [value]
    if not proofs:
        raise ProofVerificationError("the document's proof set is empty")
    for proof in proofs:
        if not isinstance(proof, Mapping):
            raise MalformedCredential("a proof must be a JSON object")
        if "previousProof" in proof:
            raise UnsupportedAlgorithm("proof chains (previousProof) are not supported")
    proof_sets.check_distinct(proofs)
    return proofs


def _suite(name: Any) -> Cryptosuite:
    suite = SUITES.get(name) if isinstance(name, str) else None
    if suite is None:
        raise UnsupportedAlgorithm(
            f"cryptosuite {str(name)[:60]!r} is not supported (supported: {', '.join(SUITES)})"
        )
    return suite


def _check_and_resolve(
    proof: Mapping[str, Any],
    resolver: DidResolver,
    expected_purpose: str,
    challenge: str | None,
    domain: str | Sequence[str] | None,
    at: int | None,
    now: int,
) -> VerificationKey:
    """§4.4 steps 3-6 and the §2.1 member checks, then the key (CID §3.3)."""
    for member in ("type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(member), str) or not proof[member]:
            raise ProofVerificationError(f"the proof has no {member} string")
    if proof["type"] != DATA_INTEGRITY_PROOF:
        raise UnsupportedAlgorithm(f"proof type {proof['type'][:60]!r} is not supported")
    _suite(proof["cryptosuite"])
    if not hmac.compare_digest(proof["proofPurpose"].encode(), expected_purpose.encode()):
        raise ProofVerificationError(
            f"the proof is for {proof['proofPurpose'][:40]!r}, not {expected_purpose!r}"
        )
    if domain is not None:
        _check_domain(proof.get("domain"), domain)
    if challenge is not None:
        given = proof.get("challenge")
        if given is None:
            raise MissingChallenge("the proof has no challenge; the verifier expects one")
        if not isinstance(given, str) or not hmac.compare_digest(
            given.encode(), challenge.encode()
        ):
            raise InvalidChallenge("the proof's challenge is not the one expected")
    created = parse_datetime(proof["created"], "created") if "created" in proof else None
    if created is not None and created.timestamp() > now + CLOCK_SKEW:
        raise ProofVerificationError(f"the proof was created in the future ({proof['created']})")
    if "expires" in proof and parse_datetime(proof["expires"], "expires").timestamp() < now:
        raise ProofExpired(f"the proof expired at {proof['expires']}")
    _check_method_url(proof["verificationMethod"], ProofVerificationError)
    when = at if at is not None else (int(created.timestamp()) if created else None)
    key = resolve_verification_key(
        resolver, proof["verificationMethod"], proof["proofPurpose"], at=when
    )
    return key


def _check_domain(given: Any, expected: str | Sequence[str]) -> None:
    """§4.4 step 6: the same set of strings, compared in constant time per string."""
    wanted = [expected] if isinstance(expected, str) else list(expected)
    have = [given] if isinstance(given, str) else given
    if not isinstance(have, list) or not all(isinstance(d, str) for d in have):
        raise InvalidDomain("the proof has no domain, or a domain that is not strings")
    found = [any(hmac.compare_digest(w.encode(), h.encode()) for h in have) for w in wanted]
    covered = [any(hmac.compare_digest(w.encode(), h.encode()) for w in wanted) for h in have]
    if not (all(found) and all(covered)):
        raise InvalidDomain("the proof's domain is not the one expected")


def _check_method_url(value: str, error: type[CredentialError]) -> None:
    did, _, fragment = value.partition("#")
    if not did.startswith("did:") or not fragment:
        raise error(f"verificationMethod {value[:120]!r} is not a DID URL with a #fragment")
