"""Proof sets hold each proof once; a proof records the @context it was signed under.

Data Integrity 1.0 §2.1.1 (issue 9 item 6) and vc-di-eddsa §3.3.1 step 2 / §3.3.2
step 4 (issue 9 item 7), through :func:`add_proof` / :func:`verify_proof` with the
specification's B.1 vector and did:key holders.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.data_integrity.proof_sets import (
    DuplicateProof,
    SignedContextMismatch,
    check_distinct,
    check_signed_contexts,
    context_list,
    starts_with,
    with_context,
)
from credentials.data_integrity.proofs import (
    ProofGenerationError,
    ProofOptions,
    SigningKey,
    add_proof,
    verify_proof,
)
from credentials.verification import VerificationResult
from did_registry.did_key import did_key
from did_registry.dispatch import DispatchingResolver
from hub_kernel.multiformats import ED25519

NOW = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())
CREATED = datetime(2025, 5, 31, 12, 0, 0, tzinfo=UTC)
V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"


def holder_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    did = did_key(ED25519, private.public_key().public_bytes_raw())
    return SigningKey(f"{did}#{did.removeprefix('did:key:')}", private)


def check(document: Any, resolver: DispatchingResolver) -> VerificationResult:
    return verify_proof(document, resolver=resolver, expected_purpose="assertionMethod", now=NOW)


def codes(result: VerificationResult) -> list[str]:
    return [problem.code for problem in result.errors]


def test_context_lists() -> None:
    assert context_list(None) == [] and context_list(V2) == [V2]
    assert context_list([V2, {"@vocab": "x"}]) == [V2, {"@vocab": "x"}]
    assert starts_with([V2, EXAMPLES], V2) and starts_with([V2, EXAMPLES], [V2, EXAMPLES])
    assert not starts_with([V2], [V2, EXAMPLES]) and not starts_with([EXAMPLES, V2], [V2])
    assert not starts_with([V2], []) and not starts_with(None, None)
    proof = {"type": "DataIntegrityProof", "@context": ["stale"]}
    assert with_context(proof, {"@context": [V2]}) == {"@context": [V2], "type": proof["type"]}
    assert with_context(proof, {}) == {"type": proof["type"]}


def test_rules_on_their_own() -> None:
    check_distinct([{"proofValue": "z1"}, {"proofValue": "z2"}, {}, {}])  # no value: later
    with pytest.raises(DuplicateProof, match=re.escape("proof[1] repeats")) as twice:
        check_distinct([{"proofValue": "z1"}, {"proofValue": "z1"}])
    assert twice.value.code == "DUPLICATE_PROOF_ERROR"
    check_signed_contexts({"@context": [V2, EXAMPLES]}, [{}, {"@context": [V2, EXAMPLES]}])
    check_signed_contexts({"@context": [V2, EXAMPLES]}, [{}])  # nothing recorded
    with pytest.raises(SignedContextMismatch, match=re.escape(f"adds ['{EXAMPLES}']")) as added:
        check_signed_contexts({"@context": [V2, EXAMPLES]}, [{"@context": V2}])
    assert added.value.code == "SIGNED_CONTEXT_MISMATCH_ERROR"
    with pytest.raises(SignedContextMismatch, match=re.escape("proof[1] was signed under")):
        check_signed_contexts({"@context": [V2]}, [{"@context": V2}, {"@context": EXAMPLES}])


def test_a_proof_set_holding_one_proof_twice_is_refused(
    vector_b1: dict[str, Any], key_resolver: DispatchingResolver
) -> None:
    """Issue 9 item 6: §2.1.1, a set holds each proof once; one signature is not two."""
    signed = vector_b1["signedDocument"]
    for twice in (
        [signed["proof"], copy.deepcopy(signed["proof"])],  # identical
        [signed["proof"], {**signed["proof"], "id": "urn:uuid:other"}],  # same proofValue
        [*add_proof(signed, suite="eddsa-rdfc-2022", key=holder_key())["proof"], signed["proof"]],
    ):
        result = check({**signed, "proof": twice}, key_resolver)
        assert not result.verified and result.checks == []
        assert codes(result) == ["DUPLICATE_PROOF_ERROR"]
        assert f"proof[{len(twice) - 1}] repeats" in result.errors[0].message


def test_add_proof_refuses_to_repeat_a_proof(
    vector_b1: dict[str, Any], vector_key: SigningKey
) -> None:
    """Ed25519 is deterministic: the same key, document and created sign alike."""
    options = ProofOptions(created=datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC))
    with pytest.raises(ProofGenerationError, match="each proof once"):
        add_proof(
            vector_b1["signedDocument"],
            suite="eddsa-rdfc-2022",
            key=vector_key,
            options=options,
            record_context=False,
        )


def test_the_document_context_must_be_the_signed_one(
    vector_b1: dict[str, Any], vector_key: SigningKey, key_resolver: DispatchingResolver
) -> None:
    """Issue 9 item 7: a proof records its @context (vc-di-eddsa §3.3.1 step 2); the document's
    must start with it (§3.3.2 step 4) and list nothing beyond what a proof was signed under."""
    options = ProofOptions(created=CREATED)
    signed = add_proof(
        vector_b1["unsecuredDocument"], suite="eddsa-rdfc-2022", key=vector_key, options=options
    )
    assert check(signed, key_resolver).verified
    appended = copy.deepcopy(signed)
    appended["@context"].append("https://w3id.org/security/data-integrity/v2")
    result = check(appended, key_resolver)
    assert codes(result) == ["SIGNED_CONTEXT_MISMATCH_ERROR"] and result.document is None
    assert "data-integrity/v2" in result.errors[0].message
    # A proof without a record (the vector's, other issuers') has nothing to compare with:
    # eddsa-rdfc-2022 signs statements, and the appended context changes none.
    bare = copy.deepcopy(vector_b1["signedDocument"])
    bare["@context"].append("https://w3id.org/security/data-integrity/v2")
    assert check(bare, key_resolver).verified
    # A set: a later signer may sign over more contexts; each proof's record starts the
    # document's, and the document lists nothing beyond the longest record.
    second = holder_key()
    both = add_proof(appended, suite="eddsa-rdfc-2022", key=second, options=options)
    assert [len(p["@context"]) for p in both["proof"]] == [2, 3]
    assert check(both, key_resolver).verified, check(both, key_resolver).errors
    again = copy.deepcopy(both)
    again["@context"].append("https://w3id.org/security/multikey/v1")
    assert codes(check(again, key_resolver)) == ["SIGNED_CONTEXT_MISMATCH_ERROR"]
    reordered = copy.deepcopy(both)
    reordered["proof"][0]["@context"] = list(reversed(reordered["proof"][0]["@context"]))
    assert "SIGNED_CONTEXT_MISMATCH_ERROR" in codes(check(reordered, key_resolver))
