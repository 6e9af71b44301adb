"""Signed consortium applications (issue 9 item 10) on the real service, chain and resolver.

The payload is checked against an independent EIP-712 computation (eth-abi and keccak,
not eth-account); then every way an application can fail to prove what it claims
(unsigned, signed by the wrong key, altered after signing, expired, signed for
another chain or registry, replayed, a certificate of another organisation, another
chain than the one signed) is refused with its own code before anything is recorded
or sent: the block height, every account's nonce and the proposal count do not move.
Keys the DID document authorises besides the owner's (a veriKey delegate, a
secp256k1 did:key, a subjectAltName naming the organisation) are accepted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import Signature
from eth_utils.crypto import keccak

from did_registry.consortium import errors as refusals
from did_registry.consortium.application import (
    ApplicationContent,
    SignedApplication,
    signable,
    signing_digest,
)
from did_registry.consortium.errors import MalformedApplication
from did_registry.consortium.models import ApplicationState
from did_registry.consortium.signing import load_private_key
from did_registry.consortium.verification import MAX_LIFETIME
from did_registry.did_key import did_key
from did_registry.errors import DidError
from hub_kernel.multiformats import SECP256K1
from tests.did_registry.application_support import ed25519_did
from tests.did_registry.consortium import test_service
from tests.did_registry.consortium.test_service import CHAIN_ID, World
from tests.did_registry.consortium.test_x509_checks import issue

DAY = 86_400
world = test_service.world  # the fixture: embedded chain, contracts, service, resolver


def refused(world: World, application: SignedApplication, error: type[DidError]) -> DidError:
    """``application`` is refused with ``error`` and nothing is recorded or sent."""
    before = (world.activity(), world.service.proposals())
    with pytest.raises(error) as info:
        world.service.apply(application)
    assert type(info.value) is error
    assert (world.activity(), world.service.proposals()) == before
    assert world.service.applications() == []
    return info.value


# -- the signed payload ---------------------------------------------------------------------


def test_the_payload_is_the_documented_eip712_message(world: World) -> None:
    application = world.application("Org B", "b", "node_b", "service")
    c = application.content
    message_type = (
        b"ConsortiumApplication(string organisation,string did,address organisationAddress,"
        b"address nodeAddress,string nodeType,bytes32 certificateChainSha256,uint256 expires,"
        b"bytes32 nonce)"
    )
    struct = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "address", "address", "bytes32", "bytes32",
             "uint256", "bytes32"],
            [keccak(message_type), keccak(c.organisation.encode()), keccak(c.did.encode()),
             world.address("b"), c.node_address, keccak(c.node_type.encode()),
             c.certificate_chain_sha256, c.expires, c.nonce],
        )
    )  # fmt: skip
    domain_type = (
        b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    domain = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [keccak(domain_type), keccak(b"Notary Hub Consortium"), keccak(b"1"), CHAIN_ID,
             world.deployment.consortium.address],
        )
    )  # fmt: skip
    digest = keccak(b"\x19\x01" + domain + struct)
    assert signing_digest(signable(c, world.address("b"))) == digest
    # Both signatures recover, with eth-keys directly, the keys that made them.
    for signature, signer in (
        (application.node_signature, "node_b"),
        (application.did_proof.signature if application.did_proof else None, "b"),
    ):
        assert signature is not None and len(signature) == 65
        vrs = (signature[64] - 27, int.from_bytes(signature[:32]), int.from_bytes(signature[32:64]))
        public = Signature(vrs=vrs).recover_public_key_from_msg_hash(digest)
        assert public.to_checksum_address() == world.address(signer)
    assert (
        c.certificate_chain_sha256
        == hashlib.sha256(
            b"".join(
                cert.public_bytes(Encoding.DER)
                for cert in x509.load_pem_x509_certificates(application.certificate_chain.encode())
            )
        ).digest()
    )


def test_the_json_round_trips_and_is_read_strictly(world: World) -> None:
    application = world.application("Org B", "b", "node_b", "service")
    document = json.loads(json.dumps(application.to_json()))
    assert SignedApplication.from_json(document) == application
    assert "organisationAddress" not in document["application"]  # a did:ethr's is implied
    bad_values = {
        "nonce": "0x" + "AB" * 32,  # one spelling: lowercase
        "certificateChainSha256": "0x1234",  # eth-account would pad it
        "expires": True,
        "chainId": "1337",
        "organisation": " Org B",
    }
    for name, value in bad_values.items():
        broken = json.loads(json.dumps(document))
        broken["application"][name] = value
        with pytest.raises(MalformedApplication, match=name) as info:
            SignedApplication.from_json(broken)
        assert info.value.status_code == 400
    for broken in (
        {**document, "extra": 1},
        {**document, "proofs": {"did": document["proofs"]["did"], "node": {"signature": "zz"}}},
        {**document, "application": {**document["application"], "role": "admin"}},
        [document],
    ):
        with pytest.raises(MalformedApplication):
            SignedApplication.from_json(broken)


def test_key_files() -> None:
    account = Account.create()
    for data in (account.key.hex().encode(), b"0x" + account.key.hex().encode() + b"\n"):
        loaded = load_private_key(data, "k")
        assert isinstance(loaded, LocalAccount) and loaded.address == account.address
    secp = ec.generate_private_key(ec.SECP256K1())
    pem = secp.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    from_pem = load_private_key(pem, "k")
    expected = Account.from_key(secp.private_numbers().private_value.to_bytes(32, "big"))
    assert isinstance(from_pem, LocalAccount) and from_pem.address == expected.address
    p256 = ec.generate_private_key(ec.SECP256R1())
    p256_pem = p256.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    for data in (b"00" * 31, b"zz" * 32, p256_pem):
        with pytest.raises(ValueError, match="the k "):
            load_private_key(data, "k")


# -- accepted signers ------------------------------------------------------------------------


def test_a_delegate_key_of_the_did_may_sign(world: World) -> None:
    delegate = Account.create()
    world.deployment.did_registry.transact(
        world.transactor("b"),
        "addDelegate",
        world.address("b"),
        b"veriKey".ljust(32, b"\0"),
        delegate.address,
        DAY,
    )
    did = world.did("b")
    application = world.application(
        "Org B", did, "node_b", "service", signer=delegate, verification_method=f"{did}#delegate-1"
    )
    assert world.service.apply(application).state is ApplicationState.MEMBER_PROPOSED


def test_a_changed_owner_signs_and_the_old_one_no_longer_can(world: World) -> None:
    new_owner = Account.create()
    world.deployment.did_registry.transact(
        world.transactor("b"), "changeOwner", world.address("b"), new_owner.address
    )
    error = refused(
        world,
        world.application("Org B", "b", "node_b", "service"),
        refusals.ApplicationSignatureInvalid,
    )
    assert "not by" in error.message
    application = world.application("Org B", world.did("b"), "node_b", "service", signer=new_owner)
    assert world.service.apply(application).organisation_address == world.address("b")


def test_a_secp256k1_did_key_may_sign(world: World) -> None:
    secret = ec.generate_private_key(ec.SECP256K1())
    public = secret.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    signer = Account.from_key(secret.private_numbers().private_value.to_bytes(32, "big"))
    did = did_key(SECP256K1, public)
    application = world.application(
        "Org C", did, "node_c", "producer", world.address("c"), signer=signer
    )
    assert world.service.apply(application).did == did


def test_a_subject_alt_name_may_name_the_organisation(world: World) -> None:
    names = x509.SubjectAlternativeName(
        [
            x509.DNSName("notaries.example"),
            x509.DirectoryName(
                x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Acme Notaries")])
            ),
        ]
    )
    leaf = issue("node.acme.example", world.pki.inter, org="Acme Holding", extra=[names])
    chain = world.pki.chain(leaf, world.pki.inter)
    for organisation in ("Acme  notaries", "notaries.example", "ACME HOLDING"):
        application = world.application(organisation, "b", "node_b", "service", chain_pem=chain)
        app = world.service.apply(application)
        assert app.organisation_name == "Acme Holding"  # the member's name: O
        world.service.vote(app.member_proposal_id or 0, False)  # free the node


# -- refusals, each before anything is recorded or sent --------------------------------------


def test_unsigned_applications(world: World) -> None:
    signed = world.application("Org B", "b", "node_b", "service")
    for application, missing in (
        (dataclasses.replace(signed, did_proof=None, node_signature=None), "DID key's and"),
        (dataclasses.replace(signed, did_proof=None), "DID key's"),
        (dataclasses.replace(signed, node_signature=None), "node key's"),
    ):
        error = refused(world, application, refusals.ApplicationUnsigned)
        assert missing in error.message and error.status_code == 400


def test_mis_signed_applications(world: World) -> None:
    good = world.application("Org B", "b", "node_b", "service")
    outsider = world.accounts["outsider"]
    by_outsider = world.application("Org B", "b", "node_b", "service", signer=outsider)
    other_node = world.application("Org B", "b", "outsider", "service",
                                   node_address=world.address("node_b"))  # fmt: skip
    assert good.did_proof is not None
    signature = bytearray(good.did_proof.signature)
    signature[10] ^= 1
    high_s = _high_s(good.did_proof.signature)
    proof = good.did_proof
    cases = [
        by_outsider,  # the DID's controller did not sign
        other_node,  # the node's key did not sign
        dataclasses.replace(
            good, content=dataclasses.replace(good.content, node_type="producer")
        ),  # altered after signing
        dataclasses.replace(good, did_proof=dataclasses.replace(proof, signature=bytes(signature))),
        dataclasses.replace(good, did_proof=dataclasses.replace(proof, signature=high_s)),
        dataclasses.replace(good, did_proof=dataclasses.replace(proof, signature=b"\x01" * 64)),
        dataclasses.replace(
            good,
            did_proof=dataclasses.replace(
                proof, verification_method=world.did("c") + "#controller"
            ),
        ),  # another DID's key
        dataclasses.replace(
            good,
            did_proof=dataclasses.replace(
                proof, verification_method=world.did("b") + "#delegate-9"
            ),
        ),  # no such key in the document
    ]
    for application in cases:
        error = refused(world, application, refusals.ApplicationSignatureInvalid)
        assert error.status_code == 422
    # An Ed25519 did:key whose key did not sign.
    did, _key = ed25519_did()
    _, other_key = ed25519_did()
    application = world.application(
        "Org C", did, "node_c", "producer", world.address("c"), signer=other_key
    )
    refused(world, application, refusals.ApplicationSignatureInvalid)


def _high_s(signature: bytes) -> bytes:
    """The same signature with s' = n - s (EIP-2 forbids it: it would be a second spelling)."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = n - int.from_bytes(signature[32:64])
    return signature[:32] + s.to_bytes(32) + bytes([55 - signature[64]])


def test_expired_or_too_long_lived(world: World) -> None:
    now = int(time.time())
    for expires in (now - 1, now - DAY, now + MAX_LIFETIME + 3600):
        application = world.application("Org B", "b", "node_b", "service", expires=expires)
        refused(world, application, refusals.ApplicationExpired)


def test_signed_for_another_chain_or_registry(world: World) -> None:
    content = world.application("Org B", "b", "node_b", "service").content
    elsewhere = _signed_for(world, content, chain_id=1)
    refused(world, elsewhere, refusals.ApplicationWrongDomain)
    other_registry = _signed_for(world, content, consortium="0x" + "42" * 20)
    refused(world, other_registry, refusals.ApplicationWrongDomain)
    # The domain is in the signature: relabelling the target does not help.
    relabelled = dataclasses.replace(
        other_registry,
        content=dataclasses.replace(
            other_registry.content, consortium=world.deployment.consortium.address
        ),
    )
    refused(world, relabelled, refusals.ApplicationSignatureInvalid)


def _signed_for(world: World, content: ApplicationContent, **target: object) -> SignedApplication:
    retarget = dataclasses.replace(content, **target)  # type: ignore[arg-type]
    return world.application(
        "Org B",
        "b",
        "node_b",
        "service",
        expires=retarget.expires,
        chain_id=retarget.chain_id,
        consortium=retarget.consortium,
    )


def test_replayed_after_rejection(world: World) -> None:
    application = world.application("Org B", "b", "node_b", "service")
    app = world.service.apply(application)
    world.service.vote(app.member_proposal_id or 0, False)
    assert world.service.application(app.id).state is ApplicationState.REJECTED
    before = (world.activity(), world.service.proposals())
    with pytest.raises(refusals.ApplicationReplayed) as info:
        world.service.apply(application)
    assert info.value.status_code == 409
    assert (world.activity(), world.service.proposals()) == before
    assert len(world.service.applications()) == 1
    # Signed again (a new nonce), it is a new application.
    fresh = world.service.apply(world.application("Org B", "b", "node_b", "service"))
    assert fresh.id != app.id and fresh.nonce != app.nonce


def test_certificate_of_another_organisation(world: World) -> None:
    application = world.application("Org B", "b", "node_b", "service",
                                    chain_pem=world.chain_for("Org C"))  # fmt: skip
    error = refused(world, application, refusals.OrganisationMismatch)
    assert "'Org B'" in error.message and "'Org C'" in error.message


def test_another_chain_than_the_one_signed(world: World) -> None:
    signed = world.application("Org B", "b", "node_b", "service")
    swapped = dataclasses.replace(signed, certificate_chain=world.chain_for("Org B").decode())
    refused(world, swapped, refusals.CertificateChainMismatch)


def test_an_unresolvable_did_is_not_a_verdict(world: World) -> None:
    class Down:
        def resolve(self, did: str, options: object = None) -> object:
            raise ConnectionError("database away")

    world.service._verifier._resolver = Down()  # type: ignore[assignment]
    error = refused(
        world,
        world.application("Org B", "b", "node_b", "service"),
        refusals.DidResolutionUnavailable,
    )
    assert error.status_code == 503 and "try again" in error.message
