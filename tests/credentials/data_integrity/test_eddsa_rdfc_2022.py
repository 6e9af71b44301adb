"""eddsa-rdfc-2022: the specification's vectors step by step, and the notary's credentials."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from credentials.data_integrity.eddsa_rdfc_2022 import EddsaRdfc2022, decode_proof_value
from credentials.data_integrity.proofs import ProofOptions, SigningKey, add_proof, verify_proof
from credentials.errors import MalformedCredential, ProofError, UnsupportedAlgorithm
from credentials.jsonld.rdfc import PyldCanonicalizer
from credentials.keys.multikey import decode_public_key, decode_secret_key
from credentials.keys.verification_methods import VerificationKey
from credentials.verification import VerificationResult
from did_registry.dispatch import DispatchingResolver
from hub_kernel.multiformats import b58encode
from tests.credentials.conftest import load_vector
from tests.fixtures.notary_world import NotaryWorld

SUITE = EddsaRdfc2022()
B1_VALUE = load_vector("eddsa-rdfc-2022-rec-b1.json")["proofValue"]


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def options_of(vector: Mapping[str, Any]) -> dict[str, Any]:
    """The vector's proof options without the @context the specification shows with them."""
    return {k: v for k, v in vector["proofOptions"].items() if k != "@context"}


# -- Appendix B.1, step by step ------------------------------------------------------------


def test_b1_transformation(vector_b1: dict[str, Any]) -> None:
    transformed = SUITE.transformation(vector_b1["unsecuredDocument"], options_of(vector_b1))
    assert transformed == vector_b1["canonicalDocument"]
    assert sha256_hex(transformed) == vector_b1["documentHashHex"]


def test_b1_proof_configuration(vector_b1: dict[str, Any]) -> None:
    config = SUITE.proof_configuration(vector_b1["unsecuredDocument"], options_of(vector_b1))
    assert config == vector_b1["canonicalProofConfig"]
    assert sha256_hex(config) == vector_b1["proofConfigHashHex"]


def test_b1_hashing_serialization_and_proof_value(vector_b1: dict[str, Any]) -> None:
    hash_data = SUITE.hashing(vector_b1["canonicalDocument"], vector_b1["canonicalProofConfig"])
    assert hash_data.hex() == vector_b1["combinedHashHex"]  # proof config hash first
    secret = decode_secret_key(vector_b1["keyPair"]["secretKeyMultibase"])
    signature = SUITE.proof_serialization(hash_data, secret)
    assert signature.hex() == vector_b1["signatureHex"]
    assert "z" + b58encode(signature) == vector_b1["proofValue"]
    assert decode_proof_value(vector_b1["proofValue"]) == signature
    public = decode_public_key(vector_b1["keyPair"]["publicKeyMultibase"])
    assert isinstance(public, Ed25519PublicKey)
    assert public.public_bytes_raw() == secret.public_key().public_bytes_raw()
    assert SUITE.proof_verification(hash_data, signature, secret.public_key())
    assert not SUITE.proof_verification(hash_data[::-1], signature, secret.public_key())


def test_b1_create_proof(vector_b1: dict[str, Any]) -> None:
    secret = decode_secret_key(vector_b1["keyPair"]["secretKeyMultibase"])
    proof = SUITE.create_proof(vector_b1["unsecuredDocument"], options_of(vector_b1), secret)
    assert proof == vector_b1["signedDocument"]["proof"]


def test_b1_signed_document_verifies_through_did_key(
    vector_b1: dict[str, Any], key_resolver: DispatchingResolver
) -> None:
    result = verify_proof(
        vector_b1["signedDocument"], resolver=key_resolver, expected_purpose="assertionMethod"
    )
    assert result.verified, result.errors


def test_repository_vector_with_an_https_controller() -> None:
    """w3c/vc-di-eddsa TestVectors: the same steps for a non-DID verification method."""
    vector = load_vector("eddsa-rdfc-2022-repo.json")
    document, options = vector["unsecuredDocument"], options_of(vector)
    config = SUITE.proof_configuration(document, options)
    assert config == vector["canonicalProofConfig"]
    hash_data = SUITE.hashing(SUITE.transformation(document, options), config)
    assert hash_data.hex() == vector["combinedHashHex"]
    secret = decode_secret_key(vector["keyPair"]["secretKeyMultibase"])
    assert SUITE.create_proof(document, options, secret) == vector["signedDocument"]["proof"]
    key = VerificationKey(
        options["verificationMethod"],
        "https://vc.example/issuers/5678",
        "Multikey",
        ed25519=secret.public_key(),
    )
    signed = vector["signedDocument"]
    SUITE.verify_proof(document, signed["proof"], key)  # returns: verified


# -- the canonicalizer is a seam -----------------------------------------------------------


class RecordingCanonicalizer:
    def __init__(self) -> None:
        self.inner = PyldCanonicalizer()
        self.seen: list[Mapping[str, Any]] = []

    def canonize(self, document: Mapping[str, Any]) -> str:
        self.seen.append(copy.deepcopy(document))
        return self.inner.canonize(document)


class ConstantCanonicalizer:
    def canonize(self, document: Mapping[str, Any]) -> str:
        return "_:b0 <urn:p> <urn:o> .\n"


def test_suite_takes_any_canonicalizer(vector_b1: dict[str, Any]) -> None:
    secret = decode_secret_key(vector_b1["keyPair"]["secretKeyMultibase"])
    recording = RecordingCanonicalizer()
    proof = EddsaRdfc2022(recording).create_proof(
        vector_b1["unsecuredDocument"], options_of(vector_b1), secret
    )
    assert proof["proofValue"] == vector_b1["proofValue"]
    assert recording.seen == [vector_b1["proofOptions"], vector_b1["unsecuredDocument"]]
    # A canonicalizer that loses information signs something the real one rejects.
    lossy = EddsaRdfc2022(ConstantCanonicalizer()).create_proof(
        vector_b1["unsecuredDocument"], options_of(vector_b1), secret
    )
    key = VerificationKey("did:key:x#x", "did:key:x", "Multikey", ed25519=secret.public_key())
    with pytest.raises(ProofError, match="does not verify"):
        SUITE.verify_proof(vector_b1["unsecuredDocument"], lossy, key)


# -- suite-level refusals ------------------------------------------------------------------


def vector_verification_key(vector: Mapping[str, Any]) -> VerificationKey:
    method = vector["proofOptions"]["verificationMethod"]
    public = decode_public_key(vector["keyPair"]["publicKeyMultibase"])
    assert isinstance(public, Ed25519PublicKey)
    return VerificationKey(method, method.partition("#")[0], "Multikey", ed25519=public)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "base58btc multibase string"),
        (42, "base58btc multibase string"),
        ("Z" + B1_VALUE[1:], "'z'"),
        ("u" + "A" * 86, "'z'"),
        (B1_VALUE[:-2] + "0I", "not base58btc"),
        (B1_VALUE[:-10], "bytes, not a 64-byte"),
        ("z" + "2" * 200, "too long"),
    ],
    ids=["none", "number", "capital-z", "base64url", "bad-char", "truncated", "too-long"],
)  # fmt: skip
def test_malformed_proof_values(vector_b1: dict[str, Any], value: Any, message: str) -> None:
    proof = {**vector_b1["signedDocument"]["proof"], "proofValue": value}
    with pytest.raises(ProofError, match=message):
        SUITE.verify_proof(
            vector_b1["unsecuredDocument"], proof, vector_verification_key(vector_b1)
        )


def test_the_documents_context_must_start_with_the_proofs(vector_b1: dict[str, Any]) -> None:
    """vc-di-eddsa §3.3.2 step 4: the document's @context starts with the proof's, in order.
    (A document listing more than any proof of its set is refused by data_integrity.)"""
    proof = dict(vector_b1["signedDocument"]["proof"])
    key = vector_verification_key(vector_b1)
    document = vector_b1["unsecuredDocument"]
    SUITE.verify_proof(document, {**proof, "@context": document["@context"]}, key)
    SUITE.verify_proof(document, {**proof, "@context": document["@context"][:1]}, key)
    for other in (
        list(reversed(document["@context"])),
        [*document["@context"], "https://w3id.org/notary-hub/v1"],
        ["https://w3id.org/notary-hub/v1"],
        [],
    ):
        with pytest.raises(ProofError, match="@context differs") as caught:
            SUITE.verify_proof(document, {**proof, "@context": other}, key)
        assert caught.value.code == "SIGNED_CONTEXT_MISMATCH_ERROR"


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"type": "Ed25519Signature2020"}, UnsupportedAlgorithm, "Ed25519Signature2020"),
        ({"cryptosuite": "eddsa-jcs-2022"}, UnsupportedAlgorithm, "eddsa-jcs-2022"),
        ({"created": "yesterday"}, MalformedCredential, "XML Schema dateTime"),
        ({"created": 1677281798}, MalformedCredential, "XML Schema dateTime"),
    ],
    ids=["type", "cryptosuite", "created-word", "created-number"],
)
def test_proof_configuration_refusals(
    vector_b1: dict[str, Any], change: dict[str, Any], error: type[Exception], message: str
) -> None:
    secret = decode_secret_key(vector_b1["keyPair"]["secretKeyMultibase"])
    with pytest.raises(error, match=message):
        SUITE.create_proof(
            vector_b1["unsecuredDocument"], {**options_of(vector_b1), **change}, secret
        )


def test_document_without_context_is_refused(vector_b1: dict[str, Any]) -> None:
    secret = decode_secret_key(vector_b1["keyPair"]["secretKeyMultibase"])
    document = {k: v for k, v in vector_b1["unsecuredDocument"].items() if k != "@context"}
    with pytest.raises(MalformedCredential, match="no @context"):
        SUITE.create_proof(document, options_of(vector_b1), secret)


def test_key_must_be_ed25519(vector_b1: dict[str, Any]) -> None:
    method = vector_b1["proofOptions"]["verificationMethod"]
    key = VerificationKey(
        method,
        method.partition("#")[0],
        "EcdsaSecp256k1RecoveryMethod2020",
        address="0x" + "11" * 20,
    )
    with pytest.raises(ProofError, match="needs an Ed25519 key"):
        SUITE.verify_proof(
            vector_b1["unsecuredDocument"], vector_b1["signedDocument"]["proof"], key
        )


# -- the notary's did:ethr on the embedded chain ---------------------------------------------


def chain_time(world: NotaryWorld) -> datetime:
    """Now, as the chain sees it: the embedded chain stamps bursts of blocks ahead of the clock,
    so proofs are dated by the newest block for their DID to resolve as of a time that
    includes the key they were signed with."""
    return datetime.fromtimestamp(world.chain.get_block("latest").timestamp, UTC)


def notary_key(world: NotaryWorld) -> SigningKey:
    fragment, private = world.notary.current_signing_key()
    return SigningKey(f"{world.notary.did}#{fragment}", private)


def deposit_credential(world: NotaryWorld) -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "id": "urn:uuid:3f1d0a52-4c3b-4f8e-9d0e-5a6b7c8d9e0f",
        "type": ["VerifiableCredential", "DepositCredential"],
        "issuer": world.notary.did,
        "validFrom": "2025-01-15T09:30:00Z",
        "credentialSubject": {
            "id": "did:example:depositor",
            "deposit": {
                "digestSRI": "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
                "size": 1048576,
                "fileName": "contrat de bail — signé.pdf",
                "pages": [1, 2, 3],
                "sealed": True,
            },
        },
    }


def sign(world: NotaryWorld, document: Mapping[str, Any], **options: Any) -> dict[str, Any]:
    options.setdefault("created", chain_time(world))
    return add_proof(
        document, suite="eddsa-rdfc-2022", key=notary_key(world), options=ProofOptions(**options)
    )


def verify(world: NotaryWorld, document: Any, **kwargs: Any) -> VerificationResult:
    kwargs.setdefault("expected_purpose", "assertionMethod")
    return verify_proof(document, resolver=world.resolver, **kwargs)


def test_notary_signs_and_verifies(notary_world: NotaryWorld) -> None:
    signed = sign(notary_world, deposit_credential(notary_world))
    assert signed["proof"]["verificationMethod"] == notary_key(notary_world).verification_method
    result = verify(notary_world, signed)
    assert result.verified, result.errors
    assert result.details["proofs"][0]["verificationMethod"].endswith("#delegate-1")
    assert result.document == deposit_credential(notary_world)


def test_a_context_appended_after_signing_is_refused(notary_world: NotaryWorld) -> None:
    """Issue 9 item 7. The Data Integrity context changes no statement of the credential, so
    its canonical N-Quads and the signature stay the same; the proof records the @context it
    was signed under (vc-di-eddsa §3.3.1 step 2), and the document no longer matches it."""
    signed = sign(notary_world, deposit_credential(notary_world))
    assert signed["proof"]["@context"] == signed["@context"]
    appended = copy.deepcopy(signed)
    appended["@context"].append("https://w3id.org/security/data-integrity/v2")
    unsecured = {k: v for k, v in appended.items() if k != "proof"}
    assert SUITE.transformation(unsecured, signed["proof"]) == SUITE.transformation(
        deposit_credential(notary_world), signed["proof"]
    )  # why the signature alone cannot tell
    result = verify(notary_world, appended)
    assert [(p.check, p.code) for p in result.errors] == [
        ("proof", "SIGNED_CONTEXT_MISMATCH_ERROR")
    ]
    assert result.document is None


def test_signed_before_rotation_verifies_after_it(notary_world: NotaryWorld) -> None:
    world = notary_world
    before = sign(world, deposit_credential(world))
    old_key = notary_key(world)
    world.notary.rotate(revoke_old=True)
    assert verify(world, before).verified  # resolved as of its created
    after = sign(world, deposit_credential(world))
    assert after["proof"]["verificationMethod"] != before["proof"]["verificationMethod"]
    assert verify(world, after).verified
    # Resolved as of now, the revoked key no longer speaks for the notary.
    late = verify(world, before, at=int(chain_time(world).timestamp()))
    assert [p.code for p in late.errors] == ["INVALID_VERIFICATION_METHOD"]
    # And the revoked key cannot sign anything dated after its revocation.
    forged = add_proof(
        deposit_credential(world),
        suite="eddsa-rdfc-2022",
        key=old_key,
        options=ProofOptions(created=chain_time(world)),
    )
    result = verify(world, forged)
    assert [p.code for p in result.errors] == ["INVALID_VERIFICATION_METHOD"]
    assert "is not a verification method" in result.errors[0].message


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _tampered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str) and value.endswith("Z") and value[:4].isdigit():
        moment = datetime.fromisoformat(value) + timedelta(seconds=1)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # still a valid dateTime
    return value + "x"


def test_every_field_tampered_fails_with_a_reason(notary_world: NotaryWorld) -> None:
    signed = sign(notary_world, deposit_credential(notary_world))
    paths = [p for p in _leaves(signed) if p != ("proof", "proofValue")]
    assert len(paths) >= 20
    for path in paths:
        document = copy.deepcopy(signed)
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = _tampered(parent[path[-1]])
        result = verify(notary_world, document)
        assert not result.verified, path
        assert result.errors and all(p.message for p in result.errors), path
    for extra in ({"name": "added"}, {"credentialSubject": {"id": "did:example:depositor"}}):
        assert not verify(notary_world, {**signed, **extra}).verified
    removed = {k: v for k, v in signed.items() if k != "validFrom"}
    assert not verify(notary_world, removed).verified


def test_tampered_reasons(notary_world: NotaryWorld) -> None:
    signed = sign(notary_world, deposit_credential(notary_world))

    def reason(change: Any) -> str:
        document = copy.deepcopy(signed)
        change(document)
        errors = verify(notary_world, document).errors
        assert len(errors) == 1
        return f"{errors[0].code}: {errors[0].message}"

    assert reason(lambda d: d["credentialSubject"]["deposit"].update(size=1)).startswith(
        "CRYPTOGRAPHIC_SECURITY_ERROR: the eddsa-rdfc-2022 signature does not verify"
    )
    # The examples context's @vocab maps any term: an added claim changes the signed data.
    assert reason(lambda d: d.update(evil="x")).startswith("CRYPTOGRAPHIC_SECURITY_ERROR")
    assert reason(lambda d: d.update({"@context": d["@context"][:1]})).startswith(
        "CONTEXT_ERROR: JSON-LD expansion drops"
    )
    assert reason(lambda d: d["@context"].append("https://evil.example/v1")).startswith(
        "CONTEXT_ERROR: unknown JSON-LD context"
    )
    assert reason(lambda d: d["proof"].update(cryptosuite="eddsa-2022")).startswith(
        "UNSUPPORTED_ALGORITHM"
    )
    assert reason(lambda d: d["proof"].update(verificationMethod=d["issuer"] + "#delegate-9"))


def test_wrong_key(notary_world: NotaryWorld) -> None:
    impostor = SigningKey(
        notary_key(notary_world).verification_method, Ed25519PrivateKey.generate()
    )
    forged = add_proof(
        deposit_credential(notary_world),
        suite="eddsa-rdfc-2022",
        key=impostor,
        options=ProofOptions(created=chain_time(notary_world)),
    )
    result = verify(notary_world, forged)
    assert [p.code for p in result.errors] == ["CRYPTOGRAPHIC_SECURITY_ERROR"]


def test_wrong_proof_purpose(notary_world: NotaryWorld) -> None:
    signed = sign(notary_world, deposit_credential(notary_world), proof_purpose="authentication")
    as_assertion = verify(notary_world, signed)
    assert [p.code for p in as_assertion.errors] == ["PROOF_VERIFICATION_ERROR"]
    assert "'authentication', not 'assertionMethod'" in as_assertion.errors[0].message
    # The notary's signing key is an assertion key: it cannot authenticate.
    as_authentication = verify(notary_world, signed, expected_purpose="authentication")
    assert [p.code for p in as_authentication.errors] == ["INVALID_VERIFICATION_METHOD"]
    assert "not authorised for authentication" in as_authentication.errors[0].message


def test_missing_proof_and_unknown_cryptosuite(notary_world: NotaryWorld) -> None:
    missing = verify(notary_world, deposit_credential(notary_world))
    assert [p.code for p in missing.errors] == ["PROOF_VERIFICATION_ERROR"]
    signed = sign(notary_world, deposit_credential(notary_world))
    signed["proof"]["cryptosuite"] = "bbs-2023"
    unknown = verify(notary_world, signed)
    assert [p.code for p in unknown.errors] == ["UNSUPPORTED_ALGORITHM"]
    assert "'bbs-2023' is not supported" in unknown.errors[0].message


def test_malformed_proof_value(notary_world: NotaryWorld) -> None:
    signed = sign(notary_world, deposit_credential(notary_world))
    signed["proof"]["proofValue"] = signed["proof"]["proofValue"][:-3]
    result = verify(notary_world, signed)
    assert [p.code for p in result.errors] == ["CRYPTOGRAPHIC_SECURITY_ERROR"]
    assert "not a 64-byte signature" in result.errors[0].message


def test_controller_address_cannot_sign_eddsa(notary_world: NotaryWorld) -> None:
    document = deposit_credential(notary_world)
    key = SigningKey(f"{notary_world.notary.did}#controller", Ed25519PrivateKey.generate())
    forged = add_proof(
        document,
        suite="eddsa-rdfc-2022",
        key=key,
        options=ProofOptions(created=chain_time(notary_world)),
    )
    result = verify(notary_world, forged)
    assert [p.code for p in result.errors] == ["CRYPTOGRAPHIC_SECURITY_ERROR"]
    assert "needs an Ed25519 key" in result.errors[0].message
