"""The ``eddsa-rdfc-2022`` cryptosuite: Ed25519 over RDFC-1.0 canonical N-Quads.

W3C "Data Integrity EdDSA Cryptosuites v1.0" (Recommendation, 15 May 2025),
https://www.w3.org/TR/vc-di-eddsa/#eddsa-rdfc-2022 — §3.2.1 Create Proof, §3.2.2
Verify Proof, §3.2.3 Transformation, §3.2.4 Hashing, §3.2.5 Proof Configuration,
§3.2.6 Proof Serialization, §3.2.7 Proof Verification (numbered 3.3.x in earlier
drafts). Each step is one method below, named after its section, so the
specification's test vectors (Appendix B.1) can be checked step by step.

A proof that records its ``@context`` (as the hub's do,
:mod:`credentials.data_integrity.proof_sets`) must have the document's ``@context``
start with it: the rule of §3.3.2 step 4, which §3.2.2 lacks, applied here too.

The suite knows nothing of DIDs or proof purposes: the Data Integrity layer
(:mod:`credentials.data_integrity.proofs`) checks those and resolves the key; this
module canonicalizes, hashes, signs and checks signatures. Canonicalization is a
:class:`~credentials.jsonld.rdfc.Canonicalizer`, pyld's by default.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from credentials.data_integrity.proof_sets import SignedContextMismatch, starts_with
from credentials.errors import MalformedCredential, ProofError, UnsupportedAlgorithm
from credentials.jsonld.rdfc import Canonicalizer, PyldCanonicalizer
from credentials.keys.verification_methods import VerificationKey
from hub_kernel.multiformats import b58decode, b58encode

CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"
SIGNATURE_LENGTH = 64  # RFC 8032 §5.1.6
# XML Schema 1.1 Part 2 §3.3.7 dateTime lexical space (timezone optional).
_XSD_DATETIME = re.compile(
    r"-?[0-9]{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)"
    r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)


class EddsaRdfc2022:
    """The ``eddsa-rdfc-2022`` cryptosuite instance (Data Integrity §3 "cryptosuite")."""

    name = CRYPTOSUITE

    def __init__(self, canonicalizer: Canonicalizer | None = None) -> None:
        self.canonicalizer: Canonicalizer = canonicalizer or PyldCanonicalizer()

    # -- §3.2.1 / §3.2.2 -------------------------------------------------------------

    def create_proof(
        self,
        unsecured_document: Mapping[str, Any],
        options: Mapping[str, Any],
        private_key: Ed25519PrivateKey,
    ) -> dict[str, Any]:
        """§3.2.1: the proof (``options`` plus ``proofValue``) for ``unsecured_document``."""
        proof = copy.deepcopy(dict(options))  # step 1
        proof.pop("proofValue", None)
        canonical_proof_config = self.proof_configuration(unsecured_document, proof)  # step 2
        transformed = self.transformation(unsecured_document, proof)  # step 3
        hash_data = self.hashing(transformed, canonical_proof_config)  # step 4
        proof_bytes = self.proof_serialization(hash_data, private_key)  # step 5
        proof["proofValue"] = "z" + b58encode(proof_bytes)  # step 6
        return proof

    def verify_proof(
        self, unsecured_document: Mapping[str, Any], proof: Mapping[str, Any], key: VerificationKey
    ) -> None:
        """§3.2.2 for one proof of ``unsecured_document`` (the document without ``proof``).

        Returns if the proof verifies; raises :class:`ProofError` (or
        :class:`UnsupportedAlgorithm` for another suite) saying why not. ``key`` is the
        already resolved and authorised key of ``proof["verificationMethod"]``.
        """
        proof_options = {k: v for k, v in proof.items() if k != "proofValue"}  # step 2
        proof_bytes = decode_proof_value(proof.get("proofValue"))  # step 3
        transformed = self.transformation(unsecured_document, proof_options)  # step 4
        canonical_proof_config = self.proof_configuration(unsecured_document, proof_options)
        if "@context" in proof_options and not starts_with(
            unsecured_document.get("@context"), proof_options["@context"]
        ):
            # §3.2.5 signs under the document's @context; a proof recording another one
            # (§3.3.2 step 4: the document's must start with it) was signed over other
            # contexts. Checked after canonicalizing, whose reasons (an unknown context,
            # a dropped term) say more.
            raise SignedContextMismatch(
                "the proof's @context differs from the document's: the document's @context "
                "does not start with it"
            )
        hash_data = self.hashing(transformed, canonical_proof_config)  # step 6
        if key.ed25519 is None:
            raise ProofError(f"{CRYPTOSUITE} needs an Ed25519 key; {key.id} is a {key.type}")
        if not self.proof_verification(hash_data, proof_bytes, key.ed25519):  # step 7
            raise ProofError(
                f"the {CRYPTOSUITE} signature does not verify with {key.id}: the document "
                "or its proof was changed, or another key signed it"
            )

    # -- §3.2.3 - §3.2.7 ---------------------------------------------------------------

    def transformation(
        self, unsecured_document: Mapping[str, Any], options: Mapping[str, Any]
    ) -> str:
        """§3.2.3: the document's canonical N-Quads."""
        _check_suite(options)  # step 1
        return self.canonicalizer.canonize(unsecured_document)  # step 2

    def proof_configuration(
        self, unsecured_document: Mapping[str, Any], options: Mapping[str, Any]
    ) -> str:
        """§3.2.5: the proof options, under the document's @context, canonicalized."""
        proof_config = copy.deepcopy(dict(options))  # step 1
        _check_suite(proof_config)  # step 2
        created = proof_config.get("created")
        if created is not None and not (
            isinstance(created, str) and _XSD_DATETIME.fullmatch(created)
        ):
            raise MalformedCredential(f"proof created {created!r} is not an XML Schema dateTime")
        if "@context" not in unsecured_document:
            raise MalformedCredential(f"{CRYPTOSUITE} signs JSON-LD: the document has no @context")
        proof_config["@context"] = copy.deepcopy(unsecured_document["@context"])  # step 4
        return self.canonicalizer.canonize(proof_config)  # step 5

    @staticmethod
    def hashing(transformed_document: str, canonical_proof_config: str) -> bytes:
        """§3.2.4: SHA-256(proof configuration) ‖ SHA-256(document), 64 bytes."""
        proof_config_hash = hashlib.sha256(canonical_proof_config.encode("utf-8")).digest()
        transformed_document_hash = hashlib.sha256(transformed_document.encode("utf-8")).digest()
        return proof_config_hash + transformed_document_hash

    @staticmethod
    def proof_serialization(hash_data: bytes, private_key: Ed25519PrivateKey) -> bytes:
        """§3.2.6: the Ed25519 (pure EdDSA, RFC 8032) signature of the hash data."""
        return private_key.sign(hash_data)

    @staticmethod
    def proof_verification(
        hash_data: bytes, proof_bytes: bytes, public_key: Ed25519PublicKey
    ) -> bool:
        """§3.2.7: whether ``proof_bytes`` is the key's Ed25519 signature of the hash data."""
        try:
            public_key.verify(proof_bytes, hash_data)
        except InvalidSignature:
            return False
        return True


def decode_proof_value(value: Any) -> bytes:
    """A ``proofValue``: base58btc multibase (``z``…) of a 64-byte Ed25519 signature."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("proofValue must be a base58btc multibase string (starting with 'z')")
    if len(value) > 2 * SIGNATURE_LENGTH:  # 64 bytes are at most 88 base58 characters
        raise ProofError("proofValue is too long for an Ed25519 signature")
    try:
        proof_bytes = b58decode(value[1:])
    except ValueError as exc:
        raise ProofError(f"proofValue is not base58btc: {exc}") from None
    if len(proof_bytes) != SIGNATURE_LENGTH:
        raise ProofError(f"proofValue holds {len(proof_bytes)} bytes, not a 64-byte signature")
    return proof_bytes


def _check_suite(options: Mapping[str, Any]) -> None:
    """§3.2.3 step 1 / §3.2.5 step 2: only DataIntegrityProof with this cryptosuite."""
    if options.get("type") != PROOF_TYPE or options.get("cryptosuite") != CRYPTOSUITE:
        raise UnsupportedAlgorithm(
            f"proof type {options.get('type')!r} / cryptosuite {options.get('cryptosuite')!r} "
            f"is not {PROOF_TYPE} / {CRYPTOSUITE}"
        )
