"""resolve_verification_key: CID §3.3 "Retrieve Verification Method" and the key formats."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from jwcrypto import jwk

from credentials.errors import KeyResolutionError
from credentials.keys.multikey import encode_public_key
from credentials.keys.verification_methods import VerificationKey, resolve_verification_key
from did_registry.did_key import DidKeyResolver, did_key
from did_registry.dispatch import DispatchingResolver
from did_registry.errors import NotFound
from did_registry.resolution import ResolutionOptions, ResolutionResult
from hub_kernel.multiformats import SECP256K1, b58encode
from tests.fixtures.notary_world import NotaryWorld

VECTOR_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
VECTOR_METHOD = f"{VECTOR_DID}#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
DID = "did:example:alice"
ED_KEY = Ed25519PrivateKey.generate().public_key()
ED_RAW = ED_KEY.public_bytes_raw()
K1_KEY = ec.generate_private_key(ec.SECP256K1()).public_key()
K1_COMPRESSED = K1_KEY.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
K1_UNCOMPRESSED = K1_KEY.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
ADDRESS = Account.create().address


class StaticResolver:
    """did:example documents held in memory (for key formats no hub resolver emits)."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.metadata: dict[str, dict[str, Any]] = {}
        self.asked: list[ResolutionOptions | None] = []

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        self.asked.append(options)
        if did not in self.documents:
            raise NotFound(f"{did} is not registered")
        return ResolutionResult(
            did_document=copy.deepcopy(self.documents[did]),
            did_resolution_metadata={"contentType": "application/did+ld+json"},
            did_document_metadata=dict(self.metadata.get(did, {})),
        )


@pytest.fixture
def static() -> StaticResolver:
    return StaticResolver()


@pytest.fixture
def resolver(static: StaticResolver) -> DispatchingResolver:
    return DispatchingResolver({"example": static, "key": DidKeyResolver()})


def method(fragment: str, method_type: str, **key: Any) -> dict[str, Any]:
    return {"id": f"{DID}#{fragment}", "type": method_type, "controller": DID, **key}


def publish(static: StaticResolver, *methods: dict[str, Any], **relationships: Any) -> None:
    ids = [m["id"] for m in methods]
    document: dict[str, Any] = {"id": DID, "verificationMethod": list(methods)}
    document.update(relationships or {"assertionMethod": ids})
    static.documents[DID] = document


# -- did:key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "purpose", ["assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation"]
)
def test_did_key_ed25519(resolver: DispatchingResolver, purpose: str) -> None:
    key = resolve_verification_key(resolver, VECTOR_METHOD, purpose)
    assert (key.id, key.controller, key.type) == (VECTOR_METHOD, VECTOR_DID, "Multikey")
    assert key.ed25519 is not None and key.secp256k1 is None and key.address is None
    assert encode_public_key(key.ed25519) == VECTOR_DID.removeprefix("did:key:")


def test_did_key_secp256k1(resolver: DispatchingResolver) -> None:
    did = did_key(SECP256K1, K1_COMPRESSED)
    fragment = did.removeprefix("did:key:")
    key = resolve_verification_key(resolver, f"{did}#{fragment}", "assertionMethod", at=1)
    assert key.secp256k1 is not None and key.ed25519 is None
    assert key.secp256k1.public_numbers() == K1_KEY.public_numbers()


def test_did_key_agreement_key_cannot_sign(resolver: DispatchingResolver) -> None:
    document = DidKeyResolver().document(VECTOR_DID)
    agreement = document["keyAgreement"][0]
    with pytest.raises(KeyResolutionError, match="not authorised for assertionMethod"):
        resolve_verification_key(resolver, agreement, "assertionMethod")
    with pytest.raises(KeyResolutionError, match="not a verification relationship"):
        resolve_verification_key(resolver, agreement, "keyAgreement")


@pytest.mark.parametrize(
    ("method_id", "message"),
    [
        ("https://vc.example/issuers/5678#key-1", "not a DID URL"),
        (VECTOR_DID, "no #fragment"),
        (f"{VECTOR_DID}#", "no #fragment"),
        (f"{VECTOR_DID}/path#key", "path or query"),
        (f"{VECTOR_DID}?versionId=1#key", "path or query"),
        ("did:web:example.com#key-1", r"did not resolve \(methodNotSupported\)"),
        ("did:key:z6MkBAD#z6MkBAD", r"did not resolve \(invalidDid\)"),
        ("did:example:bob#key-1", r"did not resolve \(notFound\)"),
        (f"{VECTOR_DID}#z6MkOther", "is not a verification method of"),
        (42, "not a DID URL"),
    ],
    ids=[
        "https-url", "no-fragment", "empty-fragment", "path", "query", "unsupported-method",
        "invalid-did-key", "unknown-did", "unknown-fragment", "not-a-string",
    ],
)  # fmt: skip
def test_method_ids_that_do_not_resolve(
    resolver: DispatchingResolver, method_id: Any, message: str
) -> None:
    with pytest.raises(KeyResolutionError, match=message) as caught:
        resolve_verification_key(resolver, method_id, "assertionMethod")
    assert caught.value.code == "INVALID_VERIFICATION_METHOD"


# -- document rules (CID §3.3) ------------------------------------------------------------


def test_relative_ids_and_time_passed_to_the_resolver(
    static: StaticResolver, resolver: DispatchingResolver
) -> None:
    entry = {**method("k1", "Multikey", publicKeyMultibase=encode_public_key(ED_KEY)), "id": "#k1"}
    static.documents[DID] = {"id": DID, "verificationMethod": [entry], "assertionMethod": ["#k1"]}
    key = resolve_verification_key(resolver, f"{DID}#k1", "assertionMethod", at=1_700_000_000)
    assert key.id == f"{DID}#k1" and key.ed25519 is not None
    assert static.asked[-1] == ResolutionOptions(version_time=1_700_000_000)


def test_embedded_method_counts_only_for_its_relationship(
    static: StaticResolver, resolver: DispatchingResolver
) -> None:
    embedded = method("auth", "Multikey", publicKeyMultibase=encode_public_key(ED_KEY))
    static.documents[DID] = {"id": DID, "authentication": [embedded]}
    assert resolve_verification_key(resolver, f"{DID}#auth", "authentication").ed25519
    with pytest.raises(KeyResolutionError, match="not authorised for assertionMethod"):
        resolve_verification_key(resolver, f"{DID}#auth", "assertionMethod")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(id="did:example:mallory"), "has id 'did:example:mallory'"),
        (lambda d: d["verificationMethod"][0].update(controller="did:example:eve"), "controller"),
        (lambda d: d["verificationMethod"][0].pop("controller"), "controller None"),
        (lambda d: d.update(assertionMethod=[]), "not authorised"),
        (lambda d: d.pop("assertionMethod"), "not authorised"),
        (
            lambda d: d["verificationMethod"].append(
                {**d["verificationMethod"][0], "publicKeyMultibase": VECTOR_DID[8:]}
            ),
            "more than once",
        ),
        (lambda d: d["verificationMethod"][0].pop("type"), "has no type"),
    ],
    ids=[
        "document-id", "foreign-controller", "no-controller", "empty-relationship",
        "no-relationship", "conflicting-duplicate", "no-type",
    ],
)  # fmt: skip
def test_document_rules(
    static: StaticResolver, resolver: DispatchingResolver, change: Any, message: str
) -> None:
    publish(static, method("k1", "Multikey", publicKeyMultibase=encode_public_key(ED_KEY)))
    change(static.documents[DID])
    with pytest.raises(KeyResolutionError, match=message):
        resolve_verification_key(resolver, f"{DID}#k1", "assertionMethod")


class DownResolver:
    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        raise ConnectionError("chain node unreachable")


def test_resolver_outage_is_a_key_resolution_error() -> None:
    resolver = DispatchingResolver({"example": DownResolver()})
    with pytest.raises(KeyResolutionError, match=f"resolving {DID} failed: ConnectionError"):
        resolve_verification_key(resolver, f"{DID}#k1", "assertionMethod")


def test_deactivated_did(static: StaticResolver, resolver: DispatchingResolver) -> None:
    publish(static, method("k1", "Multikey", publicKeyMultibase=encode_public_key(ED_KEY)))
    static.metadata[DID] = {"deactivated": True}
    with pytest.raises(KeyResolutionError, match="deactivated"):
        resolve_verification_key(resolver, f"{DID}#k1", "assertionMethod")


# -- key formats -------------------------------------------------------------------------

OKP_JWK = jwk.JWK.from_pyca(ED_KEY).export_public(as_dict=True)
K1_JWK = jwk.JWK.from_pyca(K1_KEY).export_public(as_dict=True)


@pytest.mark.parametrize(
    ("method_type", "key"),
    [
        ("Multikey", {"publicKeyMultibase": encode_public_key(ED_KEY)}),
        ("Ed25519VerificationKey2018", {"publicKeyBase58": b58encode(ED_RAW)}),
        ("Ed25519VerificationKey2018", {"publicKeyBase64": base64.b64encode(ED_RAW).decode()}),
        ("Ed25519VerificationKey2018", {"publicKeyHex": ED_RAW.hex()}),
        ("Ed25519VerificationKey2020", {"publicKeyMultibase": encode_public_key(ED_KEY)}),
        ("Ed25519VerificationKey2020", {"publicKeyJwk": OKP_JWK}),
        ("JsonWebKey2020", {"publicKeyJwk": OKP_JWK}),
        ("JsonWebKey", {"publicKeyJwk": OKP_JWK}),
    ],
    ids=[
        "multikey", "2018-base58", "2018-base64", "2018-hex", "2020-multibase", "2020-jwk",
        "jwk2020", "jwk",
    ],
)  # fmt: skip
def test_ed25519_formats(
    static: StaticResolver, resolver: DispatchingResolver, method_type: str, key: dict[str, Any]
) -> None:
    publish(static, method("k1", method_type, **key))
    found = resolve_verification_key(resolver, f"{DID}#k1", "assertionMethod")
    assert found.type == method_type
    assert found.ed25519 is not None and found.ed25519.public_bytes_raw() == ED_RAW


@pytest.mark.parametrize(
    ("method_type", "key"),
    [
        ("Multikey", {"publicKeyMultibase": encode_public_key(K1_KEY)}),
        ("EcdsaSecp256k1VerificationKey2019", {"publicKeyHex": K1_COMPRESSED.hex()}),
        ("EcdsaSecp256k1VerificationKey2019", {"publicKeyHex": "0x" + K1_UNCOMPRESSED.hex()}),
        ("EcdsaSecp256k1VerificationKey2019", {"publicKeyJwk": K1_JWK}),
        (
            "EcdsaSecp256k1VerificationKey2019",
            {"publicKeyBase64": base64.b64encode(K1_COMPRESSED).decode()},
        ),
        ("EcdsaSecp256k1VerificationKey2019", {"publicKeyBase58": b58encode(K1_COMPRESSED)}),
        ("JsonWebKey2020", {"publicKeyJwk": K1_JWK}),
    ],
    ids=["multikey", "hex", "hex-uncompressed", "jwk", "base64", "base58", "jwk2020"],
)
def test_secp256k1_formats(
    static: StaticResolver, resolver: DispatchingResolver, method_type: str, key: dict[str, Any]
) -> None:
    publish(static, method("k1", method_type, **key))
    found = resolve_verification_key(resolver, f"{DID}#k1", "assertionMethod")
    assert found.secp256k1 is not None and found.ed25519 is None
    assert found.secp256k1.public_numbers() == K1_KEY.public_numbers()


@pytest.mark.parametrize(
    "key",
    [
        {"blockchainAccountId": f"eip155:1337:{ADDRESS.lower()}"},
        {"blockchainAccountId": f"eip155:1:{ADDRESS}"},
        {"ethereumAddress": ADDRESS.lower()},
    ],
    ids=["caip10-lowercase", "caip10-checksummed", "ethereum-address"],
)
def test_recovery_method_gives_a_checksummed_address(
    static: StaticResolver, resolver: DispatchingResolver, key: dict[str, Any]
) -> None:
    publish(static, method("k1", "EcdsaSecp256k1RecoveryMethod2020", **key))
    found = resolve_verification_key(resolver, f"{DID}#k1", "assertionMethod")
    assert found == VerificationKey(
        f"{DID}#k1", DID, "EcdsaSecp256k1RecoveryMethod2020", address=ADDRESS
    )


ED18, ED20, K19, JWK20, REC = (
    "Ed25519VerificationKey2018",
    "Ed25519VerificationKey2020",
    "EcdsaSecp256k1VerificationKey2019",
    "JsonWebKey2020",
    "EcdsaSecp256k1RecoveryMethod2020",
)
P256_JWK = jwk.JWK.generate(kty="EC", crv="P-256").export_public(as_dict=True)
PRIVATE_JWK = jwk.JWK.from_pyca(Ed25519PrivateKey.generate()).export_private(as_dict=True)
BAD_CHECKSUM = ADDRESS[:2] + ADDRESS[2:].swapcase()


@pytest.mark.parametrize(
    ("method_type", "key", "message"),
    [
        ("RsaVerificationKey2018", {"publicKeyPem": "-----BEGIN"}, "unsupported"),
        ("X25519KeyAgreementKey2019", {"publicKeyBase58": b58encode(ED_RAW)}, "unsupported"),
        ("Multikey", {}, r"exactly one public key property \(found: none\)"),
        (
            ED18,
            {"publicKeyBase58": b58encode(ED_RAW), "publicKeyHex": ED_RAW.hex()},
            "exactly one",
        ),
        ("Multikey", {"publicKeyBase58": b58encode(ED_RAW)}, "carries publicKeyMultibase"),
        (JWK20, {"publicKeyHex": ED_RAW.hex()}, "carries publicKeyJwk"),
        (ED18, {"publicKeyBase58": "0OIl"}, "not valid"),
        (ED18, {"publicKeyBase64": "not base64!"}, "not valid"),
        (ED18, {"publicKeyHex": "xyz"}, "not valid"),
        (ED18, {"publicKeyHex": 7}, "not a string"),
        (ED18, {"publicKeyBase58": b58encode(bytes(32))}, "small-order"),
        (ED18, {"publicKeyHex": ED_RAW.hex()[:-2]}, "32 bytes"),
        (ED20, {"publicKeyMultibase": encode_public_key(K1_KEY)}, "without an Ed25519"),
        (K19, {"publicKeyJwk": OKP_JWK}, "without a secp256k1"),
        (K19, {"publicKeyHex": "04" + "11" * 64}, "not a secp256k1 point"),
        (JWK20, {"publicKeyJwk": P256_JWK}, "crv='P-256' is not supported"),
        (JWK20, {"publicKeyJwk": PRIVATE_JWK}, "private key"),
        (JWK20, {"publicKeyJwk": {**OKP_JWK, "x": "!!"}}, "invalid publicKeyJwk"),
        (JWK20, {"publicKeyJwk": "{}"}, "not a JSON object"),
        (REC, {"blockchainAccountId": f"bip122:1:{ADDRESS}"}, "eip155"),
        (REC, {"blockchainAccountId": f"eip155:x:{ADDRESS}"}, "eip155"),
        (REC, {"blockchainAccountId": f"eip155:1:{BAD_CHECKSUM}"}, "EIP-55 checksum"),
        (REC, {}, "no Ethereum address"),
    ],
    ids=[
        "rsa", "x25519", "no-key", "two-keys", "multikey-base58", "jwk-type-hex", "bad-base58",
        "bad-base64", "bad-hex", "hex-number", "small-order", "short", "2020-secp256k1",
        "2019-okp", "2019-off-curve", "p256-jwk", "private-jwk", "garbled-jwk", "jwk-string",
        "bip122", "chain-not-number", "bad-checksum", "no-address",
    ],
)  # fmt: skip
def test_unusable_methods(
    static: StaticResolver,
    resolver: DispatchingResolver,
    method_type: str,
    key: dict[str, Any],
    message: str,
) -> None:
    publish(static, method("k1", method_type, **key))
    with pytest.raises(KeyResolutionError, match=message):
        resolve_verification_key(resolver, f"{DID}#k1", "assertionMethod")


# -- did:ethr on the embedded chain ---------------------------------------------------------


def head_time(world: NotaryWorld) -> int:
    return world.chain.get_block("latest").timestamp


def test_notary_signing_key(notary_world: NotaryWorld) -> None:
    notary = notary_world.notary
    fragment, private = notary.current_signing_key()
    key = resolve_verification_key(
        notary_world.resolver, f"{notary.did}#{fragment}", "assertionMethod"
    )
    assert key.type == "Ed25519VerificationKey2018" and key.controller == notary.did
    assert key.ed25519 is not None
    assert key.ed25519.public_bytes_raw() == private.public_key().public_bytes_raw()
    # veriKey attributes are assertion keys only: the notary does not log in with them.
    with pytest.raises(KeyResolutionError, match="not authorised for authentication"):
        resolve_verification_key(
            notary_world.resolver, f"{notary.did}#{fragment}", "authentication"
        )


def test_notary_controller_and_agreement_keys(notary_world: NotaryWorld) -> None:
    notary = notary_world.notary
    controller = resolve_verification_key(
        notary_world.resolver, f"{notary.did}#controller", "authentication"
    )
    assert controller.type == "EcdsaSecp256k1RecoveryMethod2020"
    assert controller.address == notary_world.node.address
    agreement = notary.document()["keyAgreement"][0]
    with pytest.raises(KeyResolutionError, match="not authorised for assertionMethod"):
        resolve_verification_key(notary_world.resolver, agreement, "assertionMethod")


def test_public_key_did_ethr(notary_world: NotaryWorld) -> None:
    did = f"did:ethr:0x539:0x{K1_COMPRESSED.hex()}"
    key = resolve_verification_key(notary_world.resolver, f"{did}#controllerKey", "assertionMethod")
    assert key.type == "EcdsaSecp256k1VerificationKey2019"
    assert key.secp256k1 is not None
    assert key.secp256k1.public_numbers() == K1_KEY.public_numbers()


def test_rotated_key_resolves_as_of_its_time_only(notary_world: NotaryWorld) -> None:
    notary, resolver = notary_world.notary, notary_world.resolver
    fragment, _ = notary.current_signing_key()
    old = f"{notary.did}#{fragment}"
    before = head_time(notary_world)
    notary.rotate(revoke_old=True)
    assert resolve_verification_key(resolver, old, "assertionMethod", at=before).ed25519
    with pytest.raises(KeyResolutionError, match="is not a verification method"):
        resolve_verification_key(resolver, old, "assertionMethod")
    with pytest.raises(KeyResolutionError, match="is not a verification method"):
        resolve_verification_key(resolver, old, "assertionMethod", at=head_time(notary_world))
    with pytest.raises(KeyResolutionError, match=r"did not resolve \(notFound\)"):
        resolve_verification_key(resolver, old, "assertionMethod", at=0)
