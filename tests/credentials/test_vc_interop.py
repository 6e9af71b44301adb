"""Interop: eddsa-rdfc-2022 credentials between the hub and Digital Bazaar's npm VC libraries.

Issue 4 §7. The peer is ``tests/interop/vc_npm.mjs``: ``@digitalbazaar/vc`` with
``DataIntegrityProof`` and ``@digitalbazaar/eddsa-rdfc-2022-cryptosuite``, in a
real node process.

- hub -> npm: the notary (did:ethr on an embedded chain, served at ``/rpc`` as the
  hub serves it) signs; node verifies, resolving the issuer with the standard
  ``ethr-did-resolver`` over that JSON-RPC. Presentations signed by a did:key holder
  with challenge and domain verify with ``vc.verify``.
- npm -> hub: node issues with a did:key (``@digitalbazaar/ed25519-multikey`` +
  ``did-method-key``); the hub verifies with :func:`credentials.data_integrity.verify_proof`
  and the ``notary_world`` resolver.

The custody credential (``bench.custody_sample``) uses the VC 2.0 and notary hub
contexts: type-scoped contexts, ``@json`` (the anchor receipt) and typed literals
are canonicalized by both implementations. Tampering with any part fails on the
other side.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.custody_sample import custody_credential
from credentials.bitstring_status_list import (
    Bitstring,
    build_list_credential,
    encode_list,
    status_of,
)
from credentials.data_integrity import ProofOptions, SigningKey, add_proof, verify_proof
from credentials.eddsa_rdfc_2022 import EddsaRdfc2022
from credentials.rdf_fast import FastCanonicalizer
from credentials.status_anchor import StatusListAnchor
from credentials.vc_data_model import check_credential, check_presentation
from did_registry.did_key import ED25519, did_key, multibase_key
from tests.did_registry.ethr_npm import serve_rpc
from tests.fixtures.notary_world import CHAIN_ID, NotaryWorld, open_notary_world

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "interop" / "vc_npm.mjs"
NODE = shutil.which("node")
VC_V2 = "https://www.w3.org/ns/credentials/v2"
CHALLENGE = "99612b24-63d9-11ea-b99f-4f66f3e4f81a"
DOMAIN = "court.example"

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def npm(request: dict[str, Any]) -> dict[str, Any]:
    """One run of the npm peer (see the script's header for the request shapes)."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"vc_npm.mjs failed ({done.returncode}):\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


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


def npm_verify(
    world: NotaryWorld,
    rpc_url: str,
    items: list[dict[str, Any]],
    documents: dict[str, Any] | None = None,
) -> list[Any]:
    """Verify ``items`` in node; ``documents`` are status list credentials by URL."""
    registry = world.deployment.did_registry.address
    answer = npm(
        {
            "command": "verify",
            "ethr": {"rpcUrl": rpc_url, "chainId": CHAIN_ID, "registry": registry},
            "documents": documents or {},
            "items": items,
        }
    )
    return list(answer["results"])


def signed(
    world: NotaryWorld,
    document: dict[str, Any],
    key: SigningKey,
    *,
    suite: EddsaRdfc2022 | str = "eddsa-rdfc-2022",
    **options: Any,
) -> dict[str, Any]:
    """``document`` with an eddsa-rdfc-2022 proof, ``created`` no earlier than the chain head.

    The embedded chain seals each block at max(now, parent + 1) seconds, so right after
    the notary's keys are published its head runs a few seconds ahead of the clock; the
    hub resolves the key as of ``created``, which must not precede the key's block.
    """
    head = world.chain.get_block("latest").timestamp
    created = datetime.fromtimestamp(max(time.time(), head), UTC)
    return add_proof(
        document, suite=suite, key=key, options=ProofOptions(created=created, **options)
    )


def notary_key(world: NotaryWorld) -> SigningKey:
    fragment, private_key = world.notary.current_signing_key()
    return SigningKey(f"{world.notary.did}#{fragment}", private_key)


def custody(issuer: str, seed: int = 7) -> dict[str, Any]:
    """The custody credential without its status entry (status is not what is tested here)."""
    credential = custody_credential(seed, issuer=issuer)
    del credential["credentialStatus"]
    return credential


def plain(issuer: str) -> dict[str, Any]:
    return {
        "@context": [VC_V2],
        "type": ["VerifiableCredential"],
        "id": "urn:uuid:5e3c1a52-6a0a-4d5c-9d4e-0c5f6c1b2a10",
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject", "name": "Zoë « Ω » 𝄞"},
    }


def tampered(document: dict[str, Any], change: str) -> dict[str, Any]:
    """``document`` with one signed part changed, keeping its proof."""
    copied = copy.deepcopy(document)
    credential = copied.get("verifiableCredential", [copied])[0]
    if change == "subject":
        credential["credentialSubject"]["depositId"] = "00000000-0000-4000-a000-000000000000"
    elif change == "receipt":  # inside the @json literal
        receipt = credential["evidence"][1]["anchorReceipt"]
        first = next(iter(receipt))
        receipt[first] = "tampered" if receipt[first] != "tampered" else "other"
    elif change == "timestamp":
        credential["evidence"][0]["genTime"] = "2026-01-01T08:29:59Z"
    elif change == "validFrom":
        credential["validFrom"] = "2025-01-01T08:30:00Z"
    elif change == "created":
        copied["proof"]["created"] = "2026-01-01T00:00:00Z"
    elif change == "name":
        credential["credentialSubject"]["name"] = "Zoe"
    else:
        raise AssertionError(change)
    return copied


# -- hub -> npm ----------------------------------------------------------------------------


def test_notary_credentials_verify_with_digitalbazaar_vc(world: NotaryWorld, rpc_url: str) -> None:
    key = notary_key(world)
    did = world.notary.did
    signed_custody = signed(world, custody(did), key)
    signed_plain = signed(world, plain(did), key)
    # The fast canonicalizer (the hub's own RDFC-1.0 path) signs what node checks too.
    fast_custody = signed(
        world, custody(did, seed=8), key, suite=EddsaRdfc2022(FastCanonicalizer())
    )
    # Another key claiming the notary's verification method.
    forged = signed(
        world, custody(did), SigningKey(key.verification_method, Ed25519PrivateKey.generate())
    )
    # The notary's key, but the credential names another issuer: the key does not speak for it.
    other_issuer = signed(
        world, custody("did:ethr:0x539:0x0000000000000000000000000000000000000001"), key
    )
    cases = {
        "custody": (signed_custody, True),
        "plain": (signed_plain, True),
        "custody, fast canonicalizer": (fast_custody, True),
        **{
            f"custody, {change}": (tampered(signed_custody, change), False)
            for change in ("subject", "receipt", "timestamp", "validFrom", "created")
        },
        "plain, name": (tampered(signed_plain, "name"), False),
        "forged": (forged, False),
        "other issuer": (other_issuer, False),
    }
    results = npm_verify(world, rpc_url, [{"credential": doc} for doc, _ in cases.values()])
    for (name, (_, expected)), result in zip(cases.items(), results, strict=True):
        assert result["verified"] is expected, (name, result["errors"])
        if not expected and name != "other issuer":
            assert "Invalid signature." in result["errors"], (name, result["errors"])
    assert any("not authorized by controller" in e or "issuer" in e for e in results[-1]["errors"])
    # The hub's Data Integrity layer agrees on every proof. Whether the key may speak
    # for the credential's `issuer` is the credential verifier's check, not the proof's.
    for name, (document, expected) in cases.items():
        ours = verify_proof(document, resolver=world.resolver, expected_purpose="assertionMethod")
        assert ours.verified is (expected or name == "other issuer"), (name, ours.to_json())


def test_hub_presentation_verifies_with_digitalbazaar_vc(world: NotaryWorld, rpc_url: str) -> None:
    """A did:key holder (keys made by the hub) presents the notary's credential to node."""
    holder_secret = Ed25519PrivateKey.generate()
    public = holder_secret.public_key().public_bytes_raw()
    holder = did_key(ED25519, public)
    holder_key = SigningKey(f"{holder}#{multibase_key(ED25519, public)}", holder_secret)
    credential = signed(world, custody(world.notary.did), notary_key(world))
    presentation = signed(
        world,
        {
            "@context": [VC_V2],
            "type": ["VerifiablePresentation"],
            "holder": holder,
            "verifiableCredential": [credential],
        },
        holder_key,
        proof_purpose="authentication",
        challenge=CHALLENGE,
        domain=DOMAIN,
    )
    check_presentation(presentation)
    results = npm_verify(
        world,
        rpc_url,
        [
            {"presentation": presentation, "challenge": CHALLENGE, "domain": DOMAIN},
            {"presentation": presentation, "challenge": "another", "domain": DOMAIN},
            {"presentation": presentation, "challenge": CHALLENGE, "domain": "elsewhere.example"},
            {
                "presentation": tampered(presentation, "subject"),
                "challenge": CHALLENGE,
                "domain": DOMAIN,
            },
        ],
    )
    assert [r["verified"] for r in results] == [True, False, False, False], results
    assert any("challenge" in e for e in results[1]["errors"])
    assert any("domain" in e for e in results[2]["errors"])
    assert "Invalid signature." in results[3]["errors"]


def test_credentials_signed_before_and_after_rotation_verify_in_npm(tmp_path: Path) -> None:
    """A rotation (old key kept published) leaves both keys verifiable by the npm resolver."""
    world = open_notary_world(tmp_path / "world")
    try:
        before = signed(world, plain(world.notary.did), notary_key(world))
        world.notary.rotate(revoke_old=False)
        after_key = notary_key(world)
        assert after_key.verification_method != before["proof"]["verificationMethod"]
        after = signed(world, plain(world.notary.did), after_key)
        with serve_rpc(world.chain) as url:
            results = npm_verify(world, url, [{"credential": before}, {"credential": after}])
        assert [r["verified"] for r in results] == [True, True], results
    finally:
        world.chain.close()


def test_notary_status_lists_check_in_npm(world: NotaryWorld, rpc_url: str) -> None:
    """Custody credentials with their status entry, and the notary's signed, anchored list.

    ``@digitalbazaar/vc-bitstring-status-list`` verifies the list credential (the
    anchor is a top-level ``@json`` term) and reads the bit, as the hub does.
    """
    key, did = notary_key(world), world.notary.did
    revoked, active = custody_credential(1, issuer=did), custody_credential(2, issuer=did)
    url = revoked["credentialStatus"]["statusListCredential"]
    assert active["credentialStatus"]["statusListCredential"] == url
    bits = Bitstring()
    bits.set(int(revoked["credentialStatus"]["statusListIndex"]), True)
    assert world.deployment.status_lists is not None
    anchor = StatusListAnchor.for_list(
        url, chain_id=CHAIN_ID, registry=world.deployment.status_lists.address
    )
    status_list = signed(
        world,
        build_list_credential(
            list_url=url,
            issuer=did,
            purpose="revocation",
            bits=bits,
            valid_from="2026-01-01T00:00:00Z",
            anchor=anchor.to_json(),
        ),
        key,
    )
    unrevoked = copy.deepcopy(status_list)  # the bit cleared, the notary's proof kept
    unrevoked["credentialSubject"]["encodedList"] = encode_list(Bitstring())
    items = [{"credential": signed(world, c, key)} for c in (revoked, active)]
    good = npm_verify(world, rpc_url, items, {url: status_list})
    assert [r["verified"] for r in good] == [True, True], good
    assert [r["status"] for r in good] == [
        [{"statusPurpose": "revocation", "status": True}],
        [{"statusPurpose": "revocation", "status": False}],
    ]
    for credential, expected in ((revoked, True), (active, False)):
        assert status_of(credential["credentialStatus"], status_list) is expected
    forged = npm_verify(world, rpc_url, items[:1], {url: unrevoked})
    assert not forged[0]["verified"]
    assert any("BitstringStatusListCredential" in e for e in forged[0]["errors"]), forged


# -- npm -> hub ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issued_by_npm() -> dict[str, Any]:
    """Two credentials and a presentation issued in node by a did:key from a fixed seed."""
    seed = bytes(range(32))
    # The npm library puts its own did:key in `issuer`.
    answer = npm(
        {
            "command": "issue",
            "seed": seed.hex(),
            "items": [
                {
                    "credential": {
                        k: v for k, v in custody("did:placeholder").items() if k != "issuer"
                    }
                },
                {
                    "credential": {
                        k: v for k, v in plain("did:placeholder").items() if k != "issuer"
                    }
                },
                {
                    "presentation": {
                        "credentials": [
                            {k: v for k, v in plain("did:placeholder").items() if k != "issuer"}
                        ],
                        "challenge": CHALLENGE,
                        "domain": DOMAIN,
                    }
                },
            ],
        }
    )
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert answer["did"] == did_key(ED25519, public)  # both sides derive the same did:key
    return answer


def test_npm_credentials_verify_with_the_hub(
    world: NotaryWorld, issued_by_npm: dict[str, Any]
) -> None:
    custody_vc, plain_vc, _ = issued_by_npm["documents"]
    for credential in (custody_vc, plain_vc):
        check_credential(credential)
        assert credential["issuer"] == issued_by_npm["did"]
        assert credential["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        result = verify_proof(
            credential, resolver=world.resolver, expected_purpose="assertionMethod"
        )
        assert result.verified, result.to_json()
        assert (
            result.details["proofs"][0]["verificationMethod"] == issued_by_npm["verificationMethod"]
        )
    bad = [
        tampered(custody_vc, c) for c in ("subject", "receipt", "timestamp", "validFrom", "created")
    ]
    bad.append(tampered(plain_vc, "name"))
    for document in bad:
        result = verify_proof(document, resolver=world.resolver, expected_purpose="assertionMethod")
        assert not result.verified
        assert [p.code for p in result.errors] == ["CRYPTOGRAPHIC_SECURITY_ERROR"], result.to_json()
    wrong_purpose = verify_proof(
        custody_vc, resolver=world.resolver, expected_purpose="authentication"
    )
    assert [p.code for p in wrong_purpose.errors] == ["PROOF_VERIFICATION_ERROR"]


def test_npm_presentation_verifies_with_the_hub(
    world: NotaryWorld, issued_by_npm: dict[str, Any]
) -> None:
    presentation = issued_by_npm["documents"][2]
    check_presentation(presentation)
    proof = presentation["proof"]
    assert (proof["proofPurpose"], proof["challenge"], proof["domain"]) == (
        "authentication",
        CHALLENGE,
        DOMAIN,
    )

    def verify(
        document: dict[str, Any], challenge: str = CHALLENGE, domain: str = DOMAIN
    ) -> list[str]:
        result = verify_proof(
            document, resolver=world.resolver, expected_purpose="authentication",
            challenge=challenge, domain=domain,
        )  # fmt: skip
        return [p.code for p in result.errors]

    assert verify(presentation) == []
    (credential,) = presentation["verifiableCredential"]
    assert verify_proof(
        credential, resolver=world.resolver, expected_purpose="assertionMethod"
    ).verified
    assert verify(presentation, challenge="another") == ["INVALID_CHALLENGE_ERROR"]
    assert verify(presentation, domain="elsewhere.example") == ["INVALID_DOMAIN_ERROR"]
    assert verify(tampered(presentation, "name")) == ["CRYPTOGRAPHIC_SECURITY_ERROR"]
    assert verify({**presentation, "holder": "did:example:someone"}) == [
        "CRYPTOGRAPHIC_SECURITY_ERROR"
    ]
