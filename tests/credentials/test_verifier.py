"""The verifier end to end on a real chain: every tampering fails with a reason, never a trace.

Credentials are issued by the notary of ``notary_world`` (did:ethr on the embedded
EVM) with :class:`CredentialIssuer`, in both securing mechanisms, and checked by
a :class:`Verifier` that resolves DIDs by walking the chain, as a court would.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.data_integrity.proofs import SUITES, ProofOptions, SigningKey, add_proof
from credentials.errors import IssuanceError, MalformedCredential
from credentials.issuer import CredentialIssuer, Mechanism, NotarySigner
from credentials.jose.vc_jose import (
    enveloped_credential,
    sign_credential_jwt,
    sign_presentation_jwt,
)
from credentials.verifier import Verifier
from did_registry.did_key import did_key
from testkit.clock import SkippingClock
from tests.fixtures.notary_world import NotaryWorld

ED25519_PUB = 0xED
KEY_TTL = 2.0  # seconds the signer keeps its key (its default)


# The depositor, who presents its letters: a presentation's holder must be the subject.
HOLDER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(40, 72)))
HOLDER_DID = did_key(0xED, HOLDER_KEY.public_key().public_bytes_raw())


def unsigned(world: NotaryWorld, **extra: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/notary-hub/v1"],
        "type": ["VerifiableCredential", "DataDepositCredential"],
        "issuer": world.notary.did,
        "credentialSubject": {
            "id": HOLDER_DID,
            "type": "DataDeposit",
            "title": "Supply contract",
            "digestMultibase": "uEiBXmM2s9LZ1c5o6v1ZlWnXU0mKXq5b7QbJ6c1a9cq3o8Q",
            "size": 1234,
            "tags": ["contract", "2026"],
        },
        **extra,
    }


@pytest.fixture
def clock() -> SkippingClock:
    return SkippingClock()


@pytest.fixture
def signer(notary_world: NotaryWorld, clock: SkippingClock) -> NotarySigner:
    chain = notary_world.chain
    return NotarySigner(
        notary_world.notary,
        suite=SUITES["eddsa-rdfc-2022"],
        chain_time=lambda: chain.get_block("latest").timestamp,
        controller_key=bytes(notary_world.node.key),
        key_ttl=KEY_TTL,
        clock=clock,
    )


@pytest.fixture
def issuer(signer: NotarySigner) -> CredentialIssuer:
    return CredentialIssuer(signer)


@pytest.fixture
def verifier(notary_world: NotaryWorld) -> Verifier:
    return Verifier(notary_world.resolver, chain=notary_world.chain)


def codes(result: Any) -> list[tuple[str, str]]:
    return [(p.check, p.code) for p in result.errors]


def test_issued_credentials_verify_in_both_mechanisms(
    issuer: CredentialIssuer, verifier: Verifier, notary_world: NotaryWorld
) -> None:
    cases: tuple[tuple[Mechanism, str], ...] = (
        ("eddsa-rdfc-2022", "EdDSA"),
        ("vc+jwt", "EdDSA"),
        ("vc+jwt", "ES256K"),
    )
    for mechanism, alg in cases:
        issued = issuer.issue(
            unsigned(notary_world), mechanism=mechanism, alg=alg, status_purposes=()
        )
        result = verifier.verify_credential(issued.credential)
        assert result.verified, (mechanism, alg, result.to_json())
        assert result.details["issuer"] == notary_world.notary.did
        assert {"proof", "validity"} <= set(result.checks)


def test_issuer_fills_id_and_validity_and_refuses_another_issuer(
    issuer: CredentialIssuer, notary_world: NotaryWorld
) -> None:
    secured = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    assert secured["id"].startswith("urn:uuid:")
    assert secured["validFrom"].endswith("Z")
    assert secured["proof"]["verificationMethod"].startswith(notary_world.notary.did + "#")
    with pytest.raises(IssuanceError, match="issues as"):
        issuer.issue(unsigned(notary_world, issuer="did:example:other"), status_purposes=())
    with pytest.raises(MalformedCredential):
        issuer.issue({**unsigned(notary_world), "type": ["Nope"]}, status_purposes=())


def _tamper_cases() -> list[tuple[str, Callable[[dict[str, Any]], None]]]:
    def set_path(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
        def apply(document: dict[str, Any]) -> None:
            target: Any = document
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value

        return apply

    return [
        ("id", set_path(("id",), "urn:uuid:00000000-0000-4000-8000-000000000000")),
        ("type", set_path(("type",), ["VerifiableCredential", "DrawResultCredential"])),
        ("validFrom", set_path(("validFrom",), "2020-01-01T00:00:00Z")),
        ("subject id", set_path(("credentialSubject", "id"), "did:example:mallory")),
        ("subject title", set_path(("credentialSubject", "title"), "Another contract")),
        ("subject size", set_path(("credentialSubject", "size"), 1235)),
        ("subject tags", set_path(("credentialSubject", "tags"), ["contract"])),
        ("digest", set_path(("credentialSubject", "digestMultibase"), "uEiAAAAA")),
        ("added member", set_path(("credentialSubject", "description"), "added")),
        ("proof created", set_path(("proof", "created"), "2020-01-01T00:00:00Z")),
        ("proof value", set_path(("proof", "proofValue"), "z" + "1" * 86)),
        ("proof purpose", set_path(("proof", "proofPurpose"), "authentication")),
        ("proof suite", set_path(("proof", "cryptosuite"), "eddsa-jcs-2022")),
        ("proof type", set_path(("proof", "type"), "Ed25519Signature2020")),
    ]


@pytest.mark.parametrize(("name", "tamper"), _tamper_cases(), ids=[c[0] for c in _tamper_cases()])
def test_every_tampered_field_fails_with_a_reason(
    name: str,
    tamper: Callable[[dict[str, Any]], None],
    issuer: CredentialIssuer,
    verifier: Verifier,
    notary_world: NotaryWorld,
) -> None:
    secured = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    assert verifier.verify_credential(secured).verified
    tampered = copy.deepcopy(secured)
    tamper(tampered)
    result = verifier.verify_credential(tampered)
    assert not result.verified, name
    assert result.errors and all(p.message for p in result.errors)


def test_the_signers_clock_dates_proofs_and_times_its_key_cache(
    notary_world: NotaryWorld, clock: SkippingClock
) -> None:
    chain = notary_world.chain
    signer = NotarySigner(
        notary_world.notary,
        suite=SUITES["eddsa-rdfc-2022"],
        chain_time=lambda: chain.get_block("latest").timestamp,
        key_ttl=600,
        clock=clock,
    )
    first = signer.signing_key().verification_method
    clock.advance(3600)  # an hour ahead of the chain: proofs are dated by the clock
    earliest = int(clock())
    created = signer.proof_time().timestamp()
    assert earliest <= created <= int(clock())
    assert created > chain.get_block("latest").timestamp + 3000
    notary_world.notary.rotate(revoke_old=True)
    assert signer.signing_key().verification_method == first  # still cached
    clock.advance(601)
    rotated = signer.signing_key().verification_method
    assert rotated != first
    assert rotated == f"{notary_world.notary.did}#{notary_world.notary.current_signing_key()[0]}"


def test_a_credential_signed_before_a_rotation_still_verifies(
    issuer: CredentialIssuer,
    verifier: Verifier,
    notary_world: NotaryWorld,
    signer: NotarySigner,
    clock: SkippingClock,
) -> None:
    before = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    notary_world.notary.rotate(revoke_old=True)
    clock.advance(KEY_TTL + 0.1)  # past the signer's key cache
    after = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    assert before["proof"]["verificationMethod"] != after["proof"]["verificationMethod"]
    assert verifier.verify_credential(before).verified
    assert verifier.verify_credential(after).verified
    # The old key, revoked, cannot sign anything new that verifies.
    old_method = before["proof"]["verificationMethod"]
    old_key = notary_world.notary.private_signing_key(notary_world.notary.list_keys("ed25519")[0])
    late = add_proof(
        {k: v for k, v in after.items() if k != "proof"},
        suite="eddsa-rdfc-2022",
        key=SigningKey(old_method, old_key),
        options=ProofOptions(created=signer.proof_time()),
    )
    result = verifier.verify_credential(late)
    assert not result.verified
    assert ("proof", "INVALID_VERIFICATION_METHOD") in codes(result)


def test_a_wrong_key_and_another_issuer_are_refused(
    issuer: CredentialIssuer, verifier: Verifier, notary_world: NotaryWorld, signer: NotarySigner
) -> None:
    document = issuer.prepare(unsigned(notary_world))
    stranger = Ed25519PrivateKey.generate()
    method = signer.signing_key().verification_method
    options = ProofOptions(created=signer.proof_time())
    forged = add_proof(
        document, suite="eddsa-rdfc-2022", key=SigningKey(method, stranger), options=options
    )
    assert ("proof", "CRYPTOGRAPHIC_SECURITY_ERROR") in codes(verifier.verify_credential(forged))
    # A did:key signs a credential naming the notary as issuer: the key is not the issuer's.
    did = did_key(ED25519_PUB, stranger.public_key().public_bytes_raw())
    foreign = add_proof(
        document, suite="eddsa-rdfc-2022", key=SigningKey(f"{did}#{did.split(':')[2]}", stranger)
    )
    result = verifier.verify_credential(foreign)
    assert not result.verified
    assert any("not by the issuer" in p.message for p in result.errors)


@pytest.mark.parametrize(
    ("contexts", "check"),
    [
        (
            ["https://www.w3.org/ns/credentials/v2", "https://evil.example/context.jsonld"],
            "context",
        ),
        (["https://www.w3.org/2018/credentials/v1"], "structure"),
        ([], "structure"),
        (["https://www.w3.org/ns/credentials/v2", {"@vocab": "https://evil.example/#"}], "context"),
    ],
    ids=["remote", "vc1", "empty", "inline"],
)
def test_unknown_remote_and_missing_contexts_are_refused(
    contexts: list[Any],
    check: str,
    verifier: Verifier,
    notary_world: NotaryWorld,
    issuer: CredentialIssuer,
) -> None:
    secured = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    secured["@context"] = contexts
    result = verifier.verify_credential(secured)
    assert not result.verified
    assert result.errors[0].check == check


def test_validity_period(
    issuer: CredentialIssuer, verifier: Verifier, notary_world: NotaryWorld
) -> None:
    expired = issuer.issue(
        unsigned(notary_world, validFrom="2020-01-01T00:00:00Z", validUntil="2021-01-01T00:00:00Z"),
        status_purposes=(),
    ).credential
    assert ("validity", "VALIDITY_PERIOD_ERROR") in codes(verifier.verify_credential(expired))
    future = issuer.issue(
        unsigned(notary_world, validFrom="2999-01-01T00:00:00Z"), status_purposes=()
    ).credential
    result = verifier.verify_credential(future)
    assert ("validity", "VALIDITY_PERIOD_ERROR") in codes(result)
    assert "not valid before" in result.errors[0].message


def test_bad_jwts_are_refused_with_reasons(
    verifier: Verifier, notary_world: NotaryWorld, signer: NotarySigner
) -> None:
    def b64(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    credential = CredentialIssuer(signer).prepare(unsigned(notary_world))
    kid = signer.signing_key().verification_method
    none = f"{b64({'alg': 'none', 'typ': 'vc+jwt', 'kid': kid})}.{b64(credential)}."
    garbage = "not.a.jwt"
    token = sign_credential_jwt(
        credential, key=signer.signing_key().private_key, kid=kid, alg="EdDSA"
    )
    head, _body, signature = token.split(".")
    swapped = f"{head}.{b64({**credential, 'validFrom': '2020-01-01T00:00:00Z'})}.{signature}"
    for bad in (none, garbage, swapped, "x" * 2_000_000, enveloped_credential("a.b.c")):
        result = verifier.verify_credential(bad)
        assert not result.verified
        assert result.errors and result.errors[0].message


def test_oversized_and_deeply_nested_documents(
    verifier: Verifier, notary_world: NotaryWorld, issuer: CredentialIssuer
) -> None:
    secured = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    deep: Any = "bottom"
    for _ in range(200):
        deep = {"nested": deep}
    secured["credentialSubject"]["deep"] = deep
    result = verifier.verify_credential(secured)
    assert not result.verified
    wide = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    wide["credentialSubject"]["many"] = [{"n": i} for i in range(200_000)]
    assert not verifier.verify_credential(wide).verified


# -- issue 9, items 4-7: holes found by attacking the verifier ----------------------------

V2 = "https://www.w3.org/ns/credentials/v2"


def holder_signed(document: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``document`` (a presentation) signed by the depositor's did:key, and that holder."""
    key = HOLDER_KEY
    did = did_key(ED25519_PUB, key.public_key().public_bytes_raw())
    signing = SigningKey(f"{did}#{did.split(':')[2]}", key)
    signed = add_proof(
        {**document, "holder": did},
        suite="eddsa-rdfc-2022",
        key=signing,
        options=ProofOptions(proof_purpose="authentication"),
    )
    return signed, did


def test_an_enveloped_credential_with_claims_beside_its_token_is_refused(
    issuer: CredentialIssuer, verifier: Verifier, notary_world: NotaryWorld
) -> None:
    """Item 4: VC DM 2.0 §4.13.1, the envelope is @context, id and type."""
    enveloped = issuer.issue(
        unsigned(notary_world), mechanism="vc+jwt", status_purposes=()
    ).credential
    assert verifier.verify_credential(enveloped).verified
    dressed = {
        **enveloped,
        "issuer": "did:example:mallory",
        "credentialSubject": {"id": "did:example:mallory", "title": "Not the notary's"},
    }
    result = verifier.verify_credential(dressed)
    assert codes(result) == [("structure", "ENVELOPE_EXTRA_PROPERTY_ERROR")]
    assert "the credential has credentialSubject, issuer" in result.errors[0].message
    # Inside a presentation the holder signed: the holder's proof is not the issuer's.
    listed = {**enveloped, "@context": [V2]}
    presentation = {"@context": [V2], "type": ["VerifiablePresentation"]}
    honest, _ = holder_signed({**presentation, "verifiableCredential": [listed]})
    assert verifier.verify_presentation(honest).verified, verifier.verify_presentation(
        honest
    ).to_json()
    named = {**listed, "name": "Official notary letter"}
    signed, _ = holder_signed({**presentation, "verifiableCredential": [named]})
    result = verifier.verify_presentation(signed)
    assert codes(result) == [("verifiableCredential[0].structure", "ENVELOPE_EXTRA_PROPERTY_ERROR")]
    # A bad envelope is judged as one, never read as a Data Integrity credential.
    assert codes(verifier.verify_credential({**enveloped, "id": "urn:uuid:x"})) == [
        ("structure", "PARSING_ERROR")
    ]


def test_an_enveloped_presentation_is_its_vp_jwt_and_nothing_beside(
    issuer: CredentialIssuer, verifier: Verifier, notary_world: NotaryWorld
) -> None:
    """Item 4: VC DM 2.0 §4.13.2."""
    token = issuer.issue(unsigned(notary_world), mechanism="vc+jwt", status_purposes=())
    key, did = HOLDER_KEY, HOLDER_DID
    vp = sign_presentation_jwt(
        {
            "@context": [V2],
            "type": ["VerifiablePresentation"],
            "holder": did,
            "verifiableCredential": [token.credential],
        },
        key=key,
        kid=f"{did}#{did.split(':')[2]}",
        alg="EdDSA",
        challenge="c-1",
    )
    envelope = {
        "@context": V2,
        "id": "data:application/vp+jwt," + vp,
        "type": "EnvelopedVerifiablePresentation",
    }
    result = verifier.verify_presentation(envelope, challenge="c-1")
    assert result.verified, result.to_json()
    assert result.details["holder"] == did
    assert codes(verifier.verify_presentation(envelope, challenge="c-2")) == [
        ("proof", "INVALID_CHALLENGE_ERROR")
    ]
    dressed = {**envelope, "holder": "did:example:mallory"}
    assert codes(verifier.verify_presentation(dressed, challenge="c-1")) == [
        ("structure", "ENVELOPE_EXTRA_PROPERTY_ERROR")
    ]


def test_a_holder_without_a_proof_is_an_unsigned_claim(
    issuer: CredentialIssuer, verifier: Verifier, notary_world: NotaryWorld
) -> None:
    """Item 5: VC DM 2.0 §4.13, the holder is known through the securing mechanism."""
    secured = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    presentation = {
        "@context": [V2],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [secured],
    }
    anonymous = verifier.verify_presentation(presentation)
    assert anonymous.verified and "holder" not in anonymous.details
    claimed = verifier.verify_presentation({**presentation, "holder": notary_world.notary.did})
    assert not claimed.verified and "holder" not in claimed.details
    assert codes(claimed) == [("proof", "UNSIGNED_HOLDER_ERROR")]
    assert "verifiableCredential[0].proof" in claimed.checks  # its credentials still judged
    as_object = verifier.verify_presentation({**presentation, "holder": {"id": "did:example:h"}})
    assert codes(as_object) == [("proof", "UNSIGNED_HOLDER_ERROR")]
    signed, holder = holder_signed(presentation)
    proven = verifier.verify_presentation(signed)
    assert proven.verified and proven.details["holder"] == holder


def test_a_repeated_proof_and_an_appended_context_are_refused(
    issuer: CredentialIssuer, verifier: Verifier, notary_world: NotaryWorld
) -> None:
    """Items 6 and 7: Data Integrity §2.1.1 proof sets; vc-di-eddsa §3.3.2 step 4."""
    secured = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    assert secured["proof"]["@context"] == secured["@context"]
    twice = {**secured, "proof": [secured["proof"], copy.deepcopy(secured["proof"])]}
    assert codes(verifier.verify_credential(twice)) == [("proof", "DUPLICATE_PROOF_ERROR")]
    appended = copy.deepcopy(secured)
    appended["@context"].append("https://www.w3.org/ns/credentials/examples/v2")
    result = verifier.verify_credential(appended)
    assert codes(result) == [("proof", "SIGNED_CONTEXT_MISMATCH_ERROR")]
    assert "examples/v2" in result.errors[0].message


# -- issue 11, item 5: the holder presents only credentials about itself ------------------


def test_a_holder_presents_only_its_own_credentials(
    issuer: CredentialIssuer, verifier: Verifier, notary_world: NotaryWorld
) -> None:
    """The subject (a letter's depositor) must be the holder, unless no subject has an id."""
    secured = issuer.issue(unsigned(notary_world), status_purposes=()).credential
    presentation = {"@context": [V2], "type": ["VerifiablePresentation"]}
    own, _ = holder_signed({**presentation, "verifiableCredential": [secured]})
    result = verifier.verify_presentation(own)
    assert result.verified and "verifiableCredential[0].holder" in result.checks
    about_another = unsigned(notary_world)
    about_another["credentialSubject"]["id"] = "did:example:someone-else"
    other = issuer.issue(about_another, status_purposes=()).credential
    stolen, _ = holder_signed({**presentation, "verifiableCredential": [other]})
    refused = verifier.verify_presentation(stolen)
    assert codes(refused) == [("verifiableCredential[0].holder", "HOLDER_BINDING_ERROR")]
    assert "did:example:someone-else" in refused.errors[0].message
    bearer = unsigned(notary_world)
    del bearer["credentialSubject"]["id"]
    anyone = issuer.issue(bearer, status_purposes=()).credential
    presented, _ = holder_signed({**presentation, "verifiableCredential": [anyone]})
    assert verifier.verify_presentation(presented).verified
    unsigned_vp = {**presentation, "verifiableCredential": [other]}  # no holder: nothing to bind
    assert verifier.verify_presentation(unsigned_vp).verified
    token = issuer.issue(about_another, mechanism="vc+jwt", status_purposes=()).credential
    vp = sign_presentation_jwt(
        {**presentation, "holder": HOLDER_DID, "verifiableCredential": [token]},
        key=HOLDER_KEY,
        kid=f"{HOLDER_DID}#{HOLDER_DID.split(':')[2]}",
        alg="EdDSA",
    )
    assert codes(verifier.verify_presentation(vp)) == [
        ("verifiableCredential[0].holder", "HOLDER_BINDING_ERROR")
    ]
