"""Data Integrity proofs whatever the suite: options, proof sets, purposes, challenge, domain."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.data_integrity.eddsa_rdfc_2022 import EddsaRdfc2022
from credentials.data_integrity.proofs import (
    SUITES,
    ProofGenerationError,
    ProofOptions,
    SigningKey,
    add_proof,
    format_datetime,
    verify_proof,
)
from credentials.errors import MalformedCredential, UnsupportedAlgorithm
from credentials.verification import VerificationResult
from did_registry.did_key import did_key
from did_registry.dispatch import DispatchingResolver
from did_registry.resolution import ResolutionOptions, ResolutionResult
from hub_kernel.multiformats import ED25519

NOW = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
CREATED = datetime(2025, 5, 31, 12, 0, 0, tzinfo=UTC)


def holder_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    did = did_key(ED25519, private.public_key().public_bytes_raw())
    return SigningKey(f"{did}#{did.removeprefix('did:key:')}", private)


def codes(result: VerificationResult) -> list[str]:
    return [problem.code for problem in result.errors]


def check(document: Any, resolver: DispatchingResolver, **kwargs: Any) -> VerificationResult:
    kwargs.setdefault("expected_purpose", "assertionMethod")
    kwargs.setdefault("now", NOW)
    return verify_proof(document, resolver=resolver, **kwargs)


# -- proof options and add_proof -------------------------------------------------------


def test_proof_options_in_specification_order(vector_key: SigningKey) -> None:
    options = ProofOptions(
        proof_purpose="authentication",
        created=datetime(2025, 5, 31, 14, 0, 0, 987654, tzinfo=timezone(timedelta(hours=2))),
        expires=datetime(2025, 6, 30, tzinfo=UTC),
        challenge="c-1",
        domain=("https://a.example", "https://b.example"),
        nonce="n-1",
        id="urn:uuid:7d7c4a33-1c1e-4b0e-a5a3-7d8a2f0b9c11",
    )
    assert options.proof_options(
        cryptosuite="eddsa-rdfc-2022", verification_method=vector_key.verification_method
    ) == {
        "id": "urn:uuid:7d7c4a33-1c1e-4b0e-a5a3-7d8a2f0b9c11",
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-05-31T12:00:00Z",  # UTC, whole seconds
        "expires": "2025-06-30T00:00:00Z",
        "verificationMethod": vector_key.verification_method,
        "proofPurpose": "authentication",
        "domain": ["https://a.example", "https://b.example"],
        "challenge": "c-1",
        "nonce": "n-1",
    }


def test_created_defaults_to_now(vector_b1: dict[str, Any], vector_key: SigningKey) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    signed = add_proof(vector_b1["unsecuredDocument"], suite="eddsa-rdfc-2022", key=vector_key)
    created = datetime.fromisoformat(signed["proof"]["created"])
    assert before <= created <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("options", "method", "message"),
    [
        (ProofOptions(created=datetime(2025, 1, 1)), None, "timezone-aware"),
        (ProofOptions(expires=datetime(2025, 1, 1)), None, "timezone-aware"),
        (ProofOptions(proof_purpose="keyAgreement"), None, "not supported"),
        (ProofOptions(), "https://issuer.example/keys#1", "not a DID URL"),
        (ProofOptions(), "did:key:z6Mk", "with a #fragment"),
    ],
    ids=["naive-created", "naive-expires", "purpose", "https-method", "no-fragment"],
)
def test_bad_proof_options(
    vector_b1: dict[str, Any],
    vector_key: SigningKey,
    options: ProofOptions,
    method: str | None,
    message: str,
) -> None:
    key = SigningKey(method or vector_key.verification_method, vector_key.private_key)
    with pytest.raises(ProofGenerationError, match=message) as caught:
        add_proof(vector_b1["unsecuredDocument"], suite="eddsa-rdfc-2022", key=key, options=options)
    assert caught.value.code == "PROOF_GENERATION_ERROR"


def test_format_datetime() -> None:
    moment = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))
    assert format_datetime(moment) == "2024-03-01T04:59:59Z"


def test_add_proof_by_name_or_instance(
    vector_b1: dict[str, Any], vector_key: SigningKey, key_resolver: DispatchingResolver
) -> None:
    document = vector_b1["unsecuredDocument"]
    original = copy.deepcopy(document)
    options = ProofOptions(created=datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC))
    by_name = add_proof(document, suite="eddsa-rdfc-2022", key=vector_key, options=options)
    by_instance = add_proof(document, suite=EddsaRdfc2022(), key=vector_key, options=options)
    # The proof records the @context it was signed under (vc-di-eddsa §3.3.1 step 2); the
    # signature is the vector's, and without the record the whole document is.
    expected = copy.deepcopy(vector_b1["signedDocument"])
    expected["proof"] = {"@context": document["@context"], **expected["proof"]}
    assert by_name == by_instance == expected
    assert next(iter(by_name["proof"])) == "@context"
    bare = add_proof(
        document, suite="eddsa-rdfc-2022", key=vector_key, options=options, record_context=False
    )
    assert bare == vector_b1["signedDocument"]
    assert check(by_name, key_resolver).verified and check(bare, key_resolver).verified
    # Issue 9 item 7: a context appended after signing (see test_proof_sets).
    appended = {**by_name, "@context": [*document["@context"], DATA_INTEGRITY_V2]}
    assert codes(check(appended, key_resolver)) == ["SIGNED_CONTEXT_MISMATCH_ERROR"]
    assert document == original  # the input is not changed
    assert set(SUITES) == {"eddsa-rdfc-2022"}
    with pytest.raises(UnsupportedAlgorithm, match="'ecdsa-rdfc-2019' is not supported"):
        add_proof(document, suite="ecdsa-rdfc-2019", key=vector_key)


@pytest.mark.parametrize(
    ("document", "error", "message"),
    [
        (["not", "a", "map"], MalformedCredential, "JSON object"),
        ({"id": "urn:x", "name": "no context"}, MalformedCredential, "no @context"),
    ],
    ids=["list", "no-context"],
)
def test_add_proof_refuses_what_it_cannot_sign(
    vector_key: SigningKey, document: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        add_proof(document, suite="eddsa-rdfc-2022", key=vector_key)


def test_proof_set(
    vector_b1: dict[str, Any], vector_key: SigningKey, key_resolver: DispatchingResolver
) -> None:
    second = holder_key()
    options = ProofOptions(created=CREATED)
    once = add_proof(
        vector_b1["signedDocument"], suite="eddsa-rdfc-2022", key=second, options=options
    )
    assert isinstance(once["proof"], list) and len(once["proof"]) == 2
    assert once["proof"][0] == vector_b1["signedDocument"]["proof"]
    result = check(once, key_resolver)
    assert result.verified, result.errors
    assert result.checks == ["proof"]  # each check named once (issue 11); both proofs below
    assert [p["verificationMethod"] for p in result.details["proofs"]] == [
        vector_key.verification_method,
        second.verification_method,
    ]
    assert result.document == vector_b1["unsecuredDocument"]
    # Every proof of a set must verify (Data Integrity §4.5).
    once["proof"][1]["proofValue"] = "z" + once["proof"][0]["proofValue"][:0:-1]
    broken = check(once, key_resolver)
    assert not broken.verified and broken.checks == ["proof"]
    assert codes(broken) == ["CRYPTOGRAPHIC_SECURITY_ERROR"]
    assert broken.document is None
    # Issue 9 item 6: a set holds each proof once (§2.1.1; see test_proof_sets).
    twice = {**once, "proof": [once["proof"][0], copy.deepcopy(once["proof"][0])]}
    assert codes(check(twice, key_resolver)) == ["DUPLICATE_PROOF_ERROR"]


# -- verify_proof -------------------------------------------------------------------------


def test_verified_result(vector_b1: dict[str, Any], key_resolver: DispatchingResolver) -> None:
    result = check(vector_b1["signedDocument"], key_resolver)
    assert result.verified and result.to_json()["verified"] is True
    assert result.details["proofs"] == [
        {
            "cryptosuite": "eddsa-rdfc-2022",
            "verificationMethod": vector_b1["proofOptions"]["verificationMethod"],
            "proofPurpose": "assertionMethod",
            "created": "2023-02-24T23:36:38Z",
        }
    ]
    assert result.document == vector_b1["unsecuredDocument"]


HTTPS_METHOD = "https://vc.example/issuers/5678#key-1"


def _without(member: str) -> Any:
    return lambda proof: proof.pop(member)


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (_without("type"), "PROOF_VERIFICATION_ERROR", "no type"),
        (_without("cryptosuite"), "PROOF_VERIFICATION_ERROR", "no cryptosuite"),
        (_without("verificationMethod"), "PROOF_VERIFICATION_ERROR", "no verificationMethod"),
        (_without("proofPurpose"), "PROOF_VERIFICATION_ERROR", "no proofPurpose"),
        (_without("proofValue"), "PROOF_VERIFICATION_ERROR", "no proofValue"),
        (lambda p: p.update(type="Ed25519Signature2020"), "UNSUPPORTED_ALGORITHM", "proof type"),
        (lambda p: p.update(cryptosuite="eddsa-jcs-2022"), "UNSUPPORTED_ALGORITHM", "jcs"),
        (lambda p: p.update(cryptosuite=["eddsa-rdfc-2022"]), "PROOF_VERIFICATION_ERROR", "no"),
        (lambda p: p.update(previousProof="urn:p1"), "UNSUPPORTED_ALGORITHM", "proof chains"),
        (lambda p: p.update(created="2023-02-24 23:36:38"), "PROOF_VERIFICATION_ERROR", "created"),
        (lambda p: p.update(created="2023-02-24T23:36:38"), "PROOF_VERIFICATION_ERROR", "created"),
        (lambda p: p.update(created="2023-02-30T00:00:00Z"), "PROOF_VERIFICATION_ERROR", "date"),
        (lambda p: p.update(created="2026-01-01T00:00:00Z"), "PROOF_VERIFICATION_ERROR", "future"),
        (lambda p: p.update(expires="2025-05-01T00:00:00Z"), "PROOF_EXPIRED_ERROR", "expired"),
        (lambda p: p.update(expires=5), "PROOF_VERIFICATION_ERROR", "expires"),
        (lambda p: p.update(verificationMethod=HTTPS_METHOD), "PROOF_VERIFICATION_ERROR", "DID"),
        (lambda p: p.update(proofValue="z2222"), "CRYPTOGRAPHIC_SECURITY_ERROR", "bytes"),
    ],
    ids=[
        "no-type", "no-cryptosuite", "no-method", "no-purpose", "no-value", "legacy-type",
        "jcs", "cryptosuite-list", "chain", "created-space", "created-no-zone", "created-feb-30",
        "created-future", "expired", "expires-number", "https-method", "short-value",
    ],
)  # fmt: skip
def test_proof_problems(
    vector_b1: dict[str, Any],
    key_resolver: DispatchingResolver,
    change: Any,
    code: str,
    message: str,
) -> None:
    document = vector_b1["signedDocument"]
    change(document["proof"])
    result = check(document, key_resolver)
    assert not result.verified and result.checks == []
    assert codes(result) == [code]
    assert message in result.errors[0].message
    assert result.errors[0].check == "proof"


def test_expires_in_the_future_and_explicit_clock(
    vector_b1: dict[str, Any], vector_key: SigningKey, key_resolver: DispatchingResolver
) -> None:
    options = ProofOptions(created=CREATED, expires=CREATED + timedelta(days=1))
    signed = add_proof(
        vector_b1["unsecuredDocument"], suite="eddsa-rdfc-2022", key=vector_key, options=options
    )
    assert check(signed, key_resolver, now=int(CREATED.timestamp())).verified
    late = check(signed, key_resolver, now=int((CREATED + timedelta(days=2)).timestamp()))
    assert codes(late) == ["PROOF_EXPIRED_ERROR"] and "expired" in late.errors[0].message


@pytest.mark.parametrize(
    "document",
    [None, [], "a string", 5, {}, {"proof": None}, {"proof": []}, {"proof": 5}, {"proof": ["x"]}],
    ids=["none", "list", "string", "number", "empty", "null-proof", "empty-set", "number-proof",
         "string-in-set"],
)  # fmt: skip
def test_garbage_never_raises(document: Any, key_resolver: DispatchingResolver) -> None:
    result = check(document, key_resolver)
    assert not result.verified and result.errors
    assert result.errors[0].code in ("PARSING_ERROR", "PROOF_VERIFICATION_ERROR")


class DownResolver:
    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        raise TimeoutError("no answer from the chain node")


def test_resolver_outage_is_a_problem(vector_b1: dict[str, Any]) -> None:
    resolver = DispatchingResolver({"key": DownResolver()})
    result = check(vector_b1["signedDocument"], resolver)
    assert codes(result) == ["INVALID_VERIFICATION_METHOD"]
    assert "failed: TimeoutError" in result.errors[0].message


def test_missing_proof(vector_b1: dict[str, Any], key_resolver: DispatchingResolver) -> None:
    result = check(vector_b1["unsecuredDocument"], key_resolver)
    assert codes(result) == ["PROOF_VERIFICATION_ERROR"]
    assert result.errors[0].message == "the document has no proof"


# -- purposes, challenge and domain (a presentation-style proof) ----------------------------

PRESENTATION = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiablePresentation"],
    "id": "urn:uuid:1c9ad4a8-7f0e-4d8a-9b5e-2e7c5c1f3a40",
}


@pytest.fixture
def presented(key_resolver: DispatchingResolver) -> tuple[dict[str, Any], SigningKey]:
    holder = holder_key()
    document = {**PRESENTATION, "holder": holder.verification_method.partition("#")[0]}
    options = ProofOptions(
        proof_purpose="authentication",
        created=CREATED,
        challenge="99612b24-63d9-11ea-b99f-4f66f3e4f81a",
        domain="https://verifier.example",
    )
    return add_proof(document, suite="eddsa-rdfc-2022", key=holder, options=options), holder


def test_presentation_with_challenge_and_domain(
    presented: tuple[dict[str, Any], SigningKey], key_resolver: DispatchingResolver
) -> None:
    document, _ = presented
    result = check(
        document,
        key_resolver,
        expected_purpose="authentication",
        challenge="99612b24-63d9-11ea-b99f-4f66f3e4f81a",
        domain=["https://verifier.example"],
    )
    assert result.verified, result.errors


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"expected_purpose": "assertionMethod"}, "PROOF_VERIFICATION_ERROR"),
        ({"challenge": "99612b24-63d9-11ea-b99f-4f66f3e4f81b"}, "INVALID_CHALLENGE_ERROR"),
        ({"challenge": ""}, "INVALID_CHALLENGE_ERROR"),
        ({"domain": "https://evil.example"}, "INVALID_DOMAIN_ERROR"),
        ({"domain": ["https://verifier.example", "https://other.example"]}, "INVALID_DOMAIN_ERROR"),
        ({"domain": []}, "INVALID_DOMAIN_ERROR"),
    ],
    ids=["purpose", "challenge", "empty-challenge", "domain", "domain-superset", "no-domain"],
)
def test_presentation_mismatches(
    presented: tuple[dict[str, Any], SigningKey],
    key_resolver: DispatchingResolver,
    kwargs: dict[str, Any],
    code: str,
) -> None:
    document, _ = presented
    kwargs.setdefault("expected_purpose", "authentication")
    result = check(document, key_resolver, **kwargs)
    assert codes(result) == [code]


def test_challenge_required_but_absent(
    vector_b1: dict[str, Any], key_resolver: DispatchingResolver
) -> None:
    result = check(vector_b1["signedDocument"], key_resolver, challenge="abc", domain="x")
    assert codes(result) == ["INVALID_DOMAIN_ERROR"]
    result = check(vector_b1["signedDocument"], key_resolver, challenge="abc")
    assert codes(result) == ["MISSING_CHALLENGE_ERROR"]


def test_domain_set_in_any_order(key_resolver: DispatchingResolver) -> None:
    holder = holder_key()
    options = ProofOptions(
        proof_purpose="authentication",
        created=CREATED,
        domain=("https://a.example", "https://b.example"),
    )
    signed = add_proof(PRESENTATION, suite="eddsa-rdfc-2022", key=holder, options=options)
    ok = check(
        signed,
        key_resolver,
        expected_purpose="authentication",
        domain=["https://b.example", "https://a.example"],
    )
    assert ok.verified, ok.errors
    partial = check(
        signed, key_resolver, expected_purpose="authentication", domain="https://a.example"
    )
    assert codes(partial) == ["INVALID_DOMAIN_ERROR"]


def test_challenge_and_domain_are_signed(
    presented: tuple[dict[str, Any], SigningKey], key_resolver: DispatchingResolver
) -> None:
    document, _ = presented
    document["proof"]["challenge"] = "replayed"
    result = check(document, key_resolver, expected_purpose="authentication", challenge="replayed")
    assert codes(result) == ["CRYPTOGRAPHIC_SECURITY_ERROR"]
