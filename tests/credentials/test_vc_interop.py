"""Interop: eddsa-rdfc-2022 credentials between the hub and Digital Bazaar's npm VC libraries.

Issue 4 §7. The peer is ``tests/interop/vc_npm.mjs``: ``@digitalbazaar/vc`` with
``DataIntegrityProof`` and ``@digitalbazaar/eddsa-rdfc-2022-cryptosuite`` (and
``@digitalbazaar/vc-bitstring-status-list`` for status), in a real node process.

- hub -> npm: the hub's issuer (:class:`credentials.issuer.CredentialIssuer`) signs as
  the notary (did:ethr on an embedded chain served at ``/rpc`` as the hub serves it);
  node verifies, resolving the issuer with the standard ``ethr-did-resolver`` over
  that JSON-RPC. Also: presentations by a did:key holder with challenge and domain,
  credentials signed before and after a key rotation, and status lists the notary
  signed and anchored.
- npm -> hub: node issues with a did:key (``@digitalbazaar/ed25519-multikey`` +
  ``did-method-key``); the hub's :class:`credentials.verifier.Verifier` (and the Data
  Integrity layer beneath it) verifies with the ``notary_world`` resolver.

The custody credential (``testkit.custody_sample``) uses the VC 2.0 and notary hub
contexts: type-scoped contexts, ``@json`` (the anchor receipt) and typed literals
are canonicalized by both implementations. Tampering with any part fails on both sides.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.data_integrity.eddsa_rdfc_2022 import EddsaRdfc2022
from credentials.data_integrity.proofs import (
    SUITES,
    ProofOptions,
    SigningKey,
    add_proof,
    verify_proof,
)
from credentials.issuer import CredentialIssuer, NotarySigner
from credentials.jsonld.rdf_fast import FastCanonicalizer
from credentials.status.anchor import RegistryPublisher
from credentials.status.bitstring import Bitstring, build_list_credential, compress_bits
from credentials.status.bitstring import encode_list as encode_bits
from credentials.verifier import StaticStatusLists, Verifier
from did_registry.did_key import did_key, multibase_key
from hub_kernel.multiformats import ED25519
from tests.credentials.vc_npm import (
    NODE,
    TAMPERINGS,
    VC_V2,
    custody,
    npm,
    npm_verify,
    plain,
    tampered,
    without_issuer,
)
from tests.did_registry.ethr_npm import serve_rpc
from tests.fixtures.notary_world import CHAIN_ID, NotaryWorld, open_notary_world

CHALLENGE = "99612b24-63d9-11ea-b99f-4f66f3e4f81a"
DOMAIN = "court.example"

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotaryWorld]:
    """One notary on one chain for the module (the ``notary_world`` setup, opened once)."""
    opened = open_notary_world(tmp_path_factory.mktemp("world"))
    yield opened
    opened.chain.close()


@pytest.fixture(scope="module")
def rpc_url(world: NotaryWorld) -> Iterator[str]:
    with serve_rpc(world.chain) as url:
        yield url


def notary_signer(world: NotaryWorld, suite: EddsaRdfc2022 | None = None) -> NotarySigner:
    return NotarySigner(
        world.notary,
        suite=suite or SUITES["eddsa-rdfc-2022"],
        chain_time=lambda: world.chain.get_block("latest").timestamp,
        key_ttl=0.0,
    )


def in_node(world: NotaryWorld, url: str, items: list[dict[str, Any]], **kw: Any) -> list[Any]:
    registry = world.deployment.did_registry.address
    return npm_verify(url, CHAIN_ID, registry, items, **kw)


def proof_by(
    signer: NotarySigner, document: dict[str, Any], key: SigningKey, **options: Any
) -> Any:
    """``document`` signed by some other ``key``, dated as the notary's signer dates proofs."""
    when = ProofOptions(created=signer.proof_time(), **options)
    return add_proof(document, suite="eddsa-rdfc-2022", key=key, options=when)


# -- hub -> npm ----------------------------------------------------------------------------


def test_notary_credentials_verify_with_digitalbazaar_vc(world: NotaryWorld, rpc_url: str) -> None:
    signer = notary_signer(world)
    issuer = CredentialIssuer(signer, default_validity=timedelta(days=3650))
    did = world.notary.did
    issued_custody = issuer.issue(custody(did), status_purposes=()).credential
    issued_plain = issuer.issue(plain(did), status_purposes=()).credential
    assert issued_custody["proof"]["verificationMethod"].startswith(did + "#delegate-")
    # The fast canonicalizer (the hub's own RDFC-1.0 path) signs what node checks too.
    fast = notary_signer(world, EddsaRdfc2022(FastCanonicalizer())).sign(custody(did, seed=8))
    notary_method = signer.signing_key().verification_method
    forged = proof_by(  # another key claiming the notary's verification method
        signer, custody(did), SigningKey(notary_method, Ed25519PrivateKey.generate())
    )
    # The notary's key, but the credential names another issuer: the key does not speak for it.
    other = custody("did:ethr:0x539:0x0000000000000000000000000000000000000001")
    other_issuer = proof_by(signer, other, signer.signing_key())
    cases = {
        "custody": (issued_custody, True),
        "plain": (issued_plain, True),
        "custody, fast canonicalizer": (fast, True),
        **{f"custody, {c}": (tampered(issued_custody, c), False) for c in TAMPERINGS},
        "plain, name": (tampered(issued_plain, "name"), False),
        "forged": (forged, False),
        "other issuer": (other_issuer, False),
    }
    results = in_node(world, rpc_url, [{"credential": doc} for doc, _ in cases.values()])
    for (name, (_, expected)), result in zip(cases.items(), results, strict=True):
        assert result["verified"] is expected, (name, result["errors"])
        if not expected and name != "other issuer":
            assert "Invalid signature." in result["errors"], (name, result["errors"])
    assert (
        "Credential issuer must match the verification method controller." in results[-1]["errors"]
    )
    # The hub's verifier agrees on every case.
    verifier = Verifier(world.resolver, chain=world.chain)
    for name, (document, expected) in cases.items():
        ours = verifier.verify_credential(document)
        assert ours.verified is expected, (name, ours.to_json())


def test_hub_presentation_verifies_with_digitalbazaar_vc(world: NotaryWorld, rpc_url: str) -> None:
    """A did:key holder (keys made by the hub) presents the notary's credential to node."""
    signer = notary_signer(world)
    secret = Ed25519PrivateKey.generate()
    public = secret.public_key().public_bytes_raw()
    holder = did_key(ED25519, public)
    holder_key = SigningKey(f"{holder}#{multibase_key(ED25519, public)}", secret)
    letter = custody(world.notary.did)
    letter["credentialSubject"]["id"] = holder  # the depositor presents its own letter
    unsigned = {
        "@context": [VC_V2],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [signer.sign(letter)],
    }
    presentation = proof_by(
        signer, unsigned, holder_key,
        proof_purpose="authentication", challenge=CHALLENGE, domain=DOMAIN,
    )  # fmt: skip
    asked = [
        (presentation, CHALLENGE, DOMAIN),
        (presentation, "another", DOMAIN),
        (presentation, CHALLENGE, "elsewhere.example"),
        (tampered(presentation, "subject"), CHALLENGE, DOMAIN),
    ]
    results = in_node(
        world, rpc_url, [{"presentation": p, "challenge": c, "domain": d} for p, c, d in asked]
    )
    assert [r["verified"] for r in results] == [True, False, False, False], results
    assert any("challenge" in e for e in results[1]["errors"])
    assert any("domain" in e for e in results[2]["errors"])
    assert "Invalid signature." in results[3]["errors"]
    verifier = Verifier(world.resolver, chain=world.chain)
    ours = [verifier.verify_presentation(p, challenge=c, domain=d).verified for p, c, d in asked]
    assert ours == [True, False, False, False]


def test_credentials_signed_before_and_after_rotation_verify_in_npm(tmp_path: Path) -> None:
    """A rotation (old key kept published) leaves both keys verifiable by the npm resolver."""
    world = open_notary_world(tmp_path / "world")
    try:
        signer = notary_signer(world)
        before = signer.sign(plain(world.notary.did))
        world.notary.rotate(revoke_old=False)
        after = signer.sign(plain(world.notary.did))
        assert after["proof"]["verificationMethod"] != before["proof"]["verificationMethod"]
        with serve_rpc(world.chain) as url:
            results = in_node(world, url, [{"credential": before}, {"credential": after}])
        assert [r["verified"] for r in results] == [True, True], results
        verifier = Verifier(world.resolver, chain=world.chain)
        assert all(verifier.verify_credential(c).verified for c in (before, after))
    finally:
        world.chain.close()


def test_notary_status_lists_check_in_npm(world: NotaryWorld, rpc_url: str) -> None:
    """Custody credentials with their status entry, and the notary's signed, anchored list.

    ``@digitalbazaar/vc-bitstring-status-list`` verifies the list credential (its chain
    anchor is a top-level ``@json`` term) and reads the bit; the hub reads the same bit
    and also checks the list is the latest version published on chain.
    """
    signer = notary_signer(world)
    did = world.notary.did
    revoked, active = custody(did, 1, status=True), custody(did, 2, status=True)
    url = revoked["credentialStatus"]["statusListCredential"]
    assert active["credentialStatus"]["statusListCredential"] == url
    bits = Bitstring()
    bits.set(int(revoked["credentialStatus"]["statusListIndex"]), True)
    assert world.deployment.status_lists is not None
    publisher = RegistryPublisher(world.transactor, world.deployment.status_lists)
    anchor = publisher.anchor_for(url)
    publisher.publish(anchor.list_id, compress_bits(bits))
    status_list = signer.sign(
        build_list_credential(
            list_url=url, issuer=did, purpose="revocation", bits=bits,
            valid_from="2026-01-01T00:00:00Z", anchor=anchor.to_json(),
        )
    )  # fmt: skip
    cleared = copy.deepcopy(status_list)  # the bit cleared, the notary's proof kept
    cleared["credentialSubject"]["encodedList"] = encode_bits(Bitstring())
    credentials = [signer.sign(c) for c in (revoked, active)]
    items = [{"credential": c} for c in credentials]

    good = in_node(world, rpc_url, items, documents={url: status_list})
    assert [r["verified"] for r in good] == [True, True], good
    assert [r["status"] for r in good] == [
        [{"statusPurpose": "revocation", "status": True}],
        [{"statusPurpose": "revocation", "status": False}],
    ]
    forged = in_node(world, rpc_url, items[:1], documents={url: cleared})
    assert not forged[0]["verified"]
    assert any("BitstringStatusListCredential" in e for e in forged[0]["errors"]), forged

    for lists, expected in (([status_list], [False, True]), ([cleared], [False, False])):
        verifier = Verifier(
            world.resolver, chain=world.chain, status_lists=StaticStatusLists(lists)
        )
        results = [verifier.verify_credential(c) for c in credentials]
        assert [r.verified for r in results] == expected, [r.to_json() for r in results]
        assert {p.check for p in results[0].errors} == {"status"}


# -- npm -> hub ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issued_by_npm() -> dict[str, Any]:
    """Two credentials and a presentation issued in node by a did:key from a fixed seed."""
    seed = bytes(range(32))
    stand_in = "did:example:replaced-by-node"
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    presented = without_issuer(plain(stand_in))  # about node's did:key, which presents it
    presented["credentialSubject"]["id"] = did_key(ED25519, public)
    answer = npm(
        {
            "command": "issue",
            "seed": seed.hex(),
            "items": [
                {"credential": without_issuer(custody(stand_in))},
                {"credential": without_issuer(plain(stand_in))},
                {
                    "presentation": {
                        "credentials": [presented],
                        "challenge": CHALLENGE,
                        "domain": DOMAIN,
                    }
                },
            ],
        }
    )
    assert answer["did"] == did_key(ED25519, public)  # both sides derive the same did:key
    return answer


def test_npm_credentials_verify_with_the_hub(
    world: NotaryWorld, issued_by_npm: dict[str, Any]
) -> None:
    custody_vc, plain_vc, _ = issued_by_npm["documents"]
    verifier = Verifier(world.resolver, chain=world.chain)
    for credential in (custody_vc, plain_vc):
        assert credential["issuer"] == issued_by_npm["did"]
        assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        result = verifier.verify_credential(credential)
        assert result.verified, result.to_json()
        (proof,) = result.details["proofs"]
        assert proof["verificationMethod"] == issued_by_npm["verificationMethod"]
    bad = [tampered(custody_vc, c) for c in TAMPERINGS] + [tampered(plain_vc, "name")]
    for document in bad:
        result = verifier.verify_credential(document)
        assert [(p.check, p.code) for p in result.errors] == [
            ("proof", "CRYPTOGRAPHIC_SECURITY_ERROR")
        ], result.to_json()
    wrong_purpose = verify_proof(
        custody_vc, resolver=world.resolver, expected_purpose="authentication"
    )
    assert [p.code for p in wrong_purpose.errors] == ["PROOF_VERIFICATION_ERROR"]


def test_npm_presentation_verifies_with_the_hub(
    world: NotaryWorld, issued_by_npm: dict[str, Any]
) -> None:
    presentation = issued_by_npm["documents"][2]
    proof = presentation["proof"]
    assert (proof["proofPurpose"], proof["challenge"], proof["domain"]) == (
        "authentication", CHALLENGE, DOMAIN,
    )  # fmt: skip
    verifier = Verifier(world.resolver, chain=world.chain)

    def errors(document: dict[str, Any], challenge: str = CHALLENGE, domain: str = DOMAIN) -> Any:
        result = verifier.verify_presentation(document, challenge=challenge, domain=domain)
        return sorted({p.code for p in result.errors})

    assert errors(presentation) == []
    assert errors(presentation, challenge="another") == ["INVALID_CHALLENGE_ERROR"]
    assert errors(presentation, domain="elsewhere.example") == ["INVALID_DOMAIN_ERROR"]
    assert "CRYPTOGRAPHIC_SECURITY_ERROR" in errors(tampered(presentation, "name"))
    assert "CRYPTOGRAPHIC_SECURITY_ERROR" in errors({**presentation, "holder": "did:example:x"})
    # Verified as a credential's proof, the presentation's is for the wrong purpose.
    assert not verify_proof(
        presentation, resolver=world.resolver, expected_purpose="assertionMethod"
    ).verified
