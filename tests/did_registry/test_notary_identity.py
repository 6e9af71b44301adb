"""The notary's DID on a real registry (embedded EVM and Hardhat), read back by the resolver.

Documents come from the hub's did:ethr resolver walking the chain
(:class:`ChainWalkerSource`), so the verification method ids checked here are the
ones verifiers see, not ones predicted by the code under test.
"""

# The chain fixtures are imported by name; their use as parameters is not a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from eth_account import Account

from chain_adapter.contract import BoundContract
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from did_registry.errors import NotFound, NotOwner
from did_registry.ethr.attributes import to_bytes32
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.resolver import EthrResolver
from did_registry.notary_identity import (
    AGREEMENT_ATTRIBUTE,
    KEY_VALIDITY,
    LEGACY_SIGNING_ATTRIBUTE,
    SIGNING_ATTRIBUTE,
    NotaryIdentity,
    ensure_notary_identity,
    verification_method_fragment,
)
from did_registry.registrar.operations import ChangeOwner, SetAttribute
from did_registry.registrar.service import Registrar
from did_registry.resolution import ResolutionOptions
from hub_kernel.keystore import FileKeyStore
from hub_kernel.multiformats import b58decode, b58encode
from tests.did_registry.registrar_fixtures import (  # noqa: F401 (fixtures)
    backend,
    chain,
    node,
    nothing_sent,
    registrar,
    registry,
    transactor,
)

MASTER_KEY = os.urandom(32)
REPO = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
# The reference resolver (ethr-did-resolver, pinned in package-lock.json), as verifiers run it.
NPM_RESOLVE = """
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'
const [rpcUrl, registry, chainId, did] = process.argv.slice(1)
const networks = [{ chainId: BigInt(chainId), rpcUrl, registry }]
const resolver = new Resolver(getResolver({ networks }))
console.log(JSON.stringify(await resolver.resolve(did)))
"""


@pytest.fixture
def keystore(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "keys", MASTER_KEY)


@pytest.fixture
def resolver(chain: Chain, registry: BoundContract) -> EthrResolver:
    return EthrResolver({chain.chain_id: ChainWalkerSource(chain, registry.address)})


def document(resolver: EthrResolver, did: str, version: int | None = None) -> dict[str, Any]:
    result = resolver.resolve(did, ResolutionOptions(version_id=version))
    assert result.did_document is not None
    return result.did_document


def method(doc: dict[str, Any], fragment: str) -> dict[str, Any]:
    found: dict[str, Any]
    (found,) = [m for m in doc["verificationMethod"] if m["id"].endswith("#" + fragment)]
    return found


def test_first_start_publishes_a_signing_and_a_key_agreement_key(
    keystore: FileKeyStore,
    registrar: Registrar,
    registry: BoundContract,
    resolver: EthrResolver,
    chain: Chain,
    tmp_path: Path,
) -> None:
    created: list[str] = []
    start = chain.block_number()
    notary = ensure_notary_identity(keystore, registrar, resolver=resolver, created=created)

    assert notary.did == f"did:ethr:{hex(chain.chain_id)}:{registrar.address}"
    assert keystore.names() == ["notary-ed25519-1", "notary-x25519-1"]
    assert len(created) == 2 and all(notary.did in line for line in created)
    signing, agreement = notary.signing_key(), notary.agreement_key()
    events = registry.events("DIDAttributeChanged", start + 1, "latest")
    assert [(e.args["name"], e.args["value"]) for e in events] == [
        (to_bytes32(SIGNING_ATTRIBUTE), signing.public_key),
        (to_bytes32(AGREEMENT_ATTRIBUTE), agreement.public_key),
    ]
    timestamp = chain.get_block(events[0].log.block_number).timestamp
    assert events[0].args["validTo"] == timestamp + KEY_VALIDITY

    doc = document(resolver, notary.did)
    ed = method(doc, "delegate-1")
    assert ed["type"] == "Ed25519VerificationKey2018"
    # Published as base58: what Digital Bazaar's Ed25519VerificationKey2018 reader takes.
    assert signing.attribute == SIGNING_ATTRIBUTE == "did/pub/Ed25519/veriKey/base58"
    assert b58decode(ed["publicKeyBase58"]) == signing.public_key
    assert "publicKeyBase64" not in ed
    assert ed["id"] in doc["assertionMethod"]
    x = method(doc, "delegate-2")
    assert x["type"] == "X25519KeyAgreementKey2019"
    assert doc["keyAgreement"] == [x["id"]]
    assert x["id"] not in doc["assertionMethod"]

    fragment, private = notary.current_signing_key()
    assert fragment == "delegate-1"
    assert private.public_key().public_bytes_raw() == signing.public_key
    shared = notary.private_agreement_key(agreement).exchange(
        X25519PrivateKey.generate().public_key()
    )
    assert len(shared) == 32
    # Encrypted at rest: no key file holds a private key in the clear.
    secrets = [private.private_bytes_raw()]
    for path in (tmp_path / "keys").iterdir():
        assert not any(secret in path.read_bytes() for secret in secrets)


@pytest.mark.hardhat
@pytest.mark.parametrize("backend", ["jsonrpc"], indirect=True)
def test_the_reference_resolver_sees_the_notary_keys_where_they_belong(
    keystore: FileKeyStore,
    registrar: Registrar,
    registry: BoundContract,
    chain: Chain,
    request: pytest.FixtureRequest,
) -> None:
    if NODE is None or not (REPO / "node_modules" / "ethr-did-resolver").is_dir():
        pytest.skip("node or the ethr-did-resolver package is missing (npm ci)")
    notary = ensure_notary_identity(keystore, registrar)
    notary.rotate(revoke_old=True)
    url = request.getfixturevalue("hardhat_node").url
    args = [url, registry.address, str(chain.chain_id), notary.did]
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", NPM_RESOLVE, *args],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=True,
    )  # fmt: skip
    doc = json.loads(done.stdout)["didDocument"]

    signing, agreement = notary.signing_key(), notary.agreement_key()
    assert method(doc, "delegate-3")["type"] == "Ed25519VerificationKey2018"
    assert verification_method_fragment(doc, signing.public_key, "assertionMethod") == "delegate-3"
    assert method(doc, "delegate-2")["type"] == "X25519KeyAgreementKey2019"
    assert verification_method_fragment(doc, agreement.public_key, "keyAgreement") == "delegate-2"
    first = notary.list_keys("ed25519")[0]
    assert verification_method_fragment(doc, first.public_key, "assertionMethod") is None
    fragment, private = notary.current_signing_key(doc)
    assert fragment == "delegate-3"
    assert private.public_key().public_bytes_raw() == signing.public_key


def test_a_restart_changes_nothing(
    tmp_path: Path, transactor: Transactor, registry: BoundContract, chain: Chain
) -> None:
    first = ensure_notary_identity(
        FileKeyStore(tmp_path / "keys", MASTER_KEY), Registrar(transactor, registry)
    )
    created: list[str] = []
    with nothing_sent(chain, transactor.address):
        again = ensure_notary_identity(
            FileKeyStore(tmp_path / "keys", MASTER_KEY), Registrar(transactor, registry),
            created=created,
        )  # fmt: skip
    assert created == []
    assert again.list_keys() == first.list_keys()
    assert [k.state for k in again.list_keys()] == ["published", "published"]


def test_rotation_switches_the_signing_key_and_can_revoke_the_old_one(
    keystore: FileKeyStore, registrar: Registrar, registry: BoundContract, resolver: EthrResolver
) -> None:
    notary = ensure_notary_identity(keystore, registrar, resolver=resolver)
    first = notary.signing_key()

    rotation = notary.rotate()
    assert (rotation.previous, rotation.revoked) == (first, None)
    second = rotation.current
    assert (second.index, second.state) == (2, "published")
    assert notary.signing_key() == second
    assert notary.current_signing_key()[0] == "delegate-3"
    doc = document(resolver, notary.did)
    assert {method(doc, f)["id"] for f in ("delegate-1", "delegate-3")} <= set(
        doc["assertionMethod"]
    )
    message = b"a credential signed before the second rotation"
    signature = notary.private_signing_key(second).sign(message)
    before_revocation = rotation.published.block_number

    rotation = notary.rotate(revoke_old=True)
    third = rotation.current
    assert rotation.previous == second and rotation.revoked is not None
    (revocation,) = registry.decode_logs(rotation.revoked, "DIDAttributeChanged")
    assert (revocation.args["value"], revocation.args["validTo"]) == (second.public_key, 0)
    states = {k.index: k.state for k in notary.list_keys("ed25519")}
    assert states == {1: "published", 2: "revoked", 3: "published"}
    fragment, private = notary.current_signing_key()
    assert fragment == "delegate-4"
    assert private.public_key().public_bytes_raw() == third.public_key

    doc = document(resolver, notary.did)
    assert verification_method_fragment(doc, second.public_key, "assertionMethod") is None
    assert verification_method_fragment(doc, third.public_key, "assertionMethod") == "delegate-4"
    # Old keys stay in the key store, and the DID as of the old signature still lists it.
    assert keystore.names() == [
        "notary-ed25519-1", "notary-ed25519-2", "notary-ed25519-3", "notary-x25519-1",
    ]  # fmt: skip
    old = document(resolver, notary.did, version=before_revocation)
    old_fragment = verification_method_fragment(old, second.public_key, "assertionMethod")
    assert old_fragment == "delegate-3"
    Ed25519PublicKey.from_public_bytes(second.public_key).verify(signature, message)
    assert notary.private_signing_key(second).public_key().public_bytes_raw() == second.public_key


def test_an_interrupted_rotation_is_completed_on_the_next_start(
    keystore: FileKeyStore, registrar: Registrar, resolver: EthrResolver
) -> None:
    notary = ensure_notary_identity(keystore, registrar, resolver=resolver)
    # The key was stored but the process stopped before publishing it.
    keystore.put(
        "notary-ed25519-2", Ed25519PrivateKey.generate().private_bytes_raw(), kind="ed25519"
    )
    assert [k.state for k in notary.list_keys("ed25519")] == ["published", "unpublished"]
    assert notary.current_signing_key()[0] == "delegate-1"  # only what the DID lists signs

    created: list[str] = []
    again = ensure_notary_identity(keystore, registrar, resolver=resolver, created=created)
    assert len(created) == 1 and "notary-ed25519-2" in created[0]
    assert [k.state for k in again.list_keys("ed25519")] == ["published", "published"]
    assert again.current_signing_key()[0] == "delegate-3"


def legacy_notary(keystore: FileKeyStore, registrar: Registrar) -> bytes:
    """A notary as hubs before base58 left it: its Ed25519 key published as base64 only
    (then its X25519 key, as the first start published them). Its signing public key."""
    secret = Ed25519PrivateKey.generate()
    keystore.put("notary-ed25519-1", secret.private_bytes_raw(), kind="ed25519")
    public = secret.public_key().public_bytes_raw()
    registrar.execute(
        registrar.address, SetAttribute(LEGACY_SIGNING_ATTRIBUTE, public, KEY_VALIDITY)
    )
    return public


def test_a_base64_signing_key_is_rotated_to_base58_on_start(
    keystore: FileKeyStore,
    registrar: Registrar,
    resolver: EthrResolver,
    chain: Chain,
    transactor: Transactor,
    registry: BoundContract,
) -> None:
    old_public = legacy_notary(keystore, registrar)
    legacy = NotaryIdentity(keystore, registrar, resolver=resolver)
    (old,) = legacy.list_keys("ed25519")
    assert (old.attribute, old.state) == (LEGACY_SIGNING_ATTRIBUTE, "published")
    before = chain.block_number()
    signature = legacy.private_signing_key(old).sign(b"a letter signed before the migration")

    created: list[str] = []
    notary = ensure_notary_identity(keystore, registrar, resolver=resolver, created=created)
    assert any("only as base64" in line and "notary-ed25519-2" in line for line in created)
    keys = notary.list_keys("ed25519")
    assert [(k.index, k.attribute, k.state) for k in keys] == [
        (1, LEGACY_SIGNING_ATTRIBUTE, "published"),  # not revoked: what it signed verifies
        (2, SIGNING_ATTRIBUTE, "published"),
    ]
    assert notary.signing_key() == keys[1]
    doc = document(resolver, notary.did)
    new = method(doc, "delegate-3")
    assert b58decode(new["publicKeyBase58"]) == keys[1].public_key
    assert new["id"] in doc["assertionMethod"]
    assert method(doc, "delegate-1")["id"] in doc["assertionMethod"]
    fragment, private = notary.current_signing_key()
    assert fragment == "delegate-3"
    assert private.public_key().public_bytes_raw() == keys[1].public_key
    # The DID as of the old signature lists the old key for assertions.
    old_doc = document(resolver, notary.did, version=before)
    assert verification_method_fragment(old_doc, old_public, "assertionMethod") == "delegate-1"
    Ed25519PublicKey.from_public_bytes(old_public).verify(
        signature, b"a letter signed before the migration"
    )
    # Once migrated, a restart sends nothing.
    with nothing_sent(chain, transactor.address):
        again = ensure_notary_identity(keystore, Registrar(transactor, registry), created=created)
    assert again.list_keys() == notary.list_keys()


def test_verification_method_fragment_reads_base58() -> None:
    doc = {
        "verificationMethod": [{"id": "did:x#a", "publicKeyBase58": b58encode(KEY)}],
        "assertionMethod": ["did:x#a"],
    }
    assert verification_method_fragment(doc, KEY, "assertionMethod") == "a"


def test_a_notary_did_the_hub_no_longer_owns_is_reported(
    keystore: FileKeyStore, registrar: Registrar, chain: Chain
) -> None:
    notary = ensure_notary_identity(keystore, registrar)
    registrar.execute(notary.address, ChangeOwner(Account.create().address))
    with nothing_sent(chain, registrar.address), pytest.raises(NotOwner, match=notary.did):
        ensure_notary_identity(keystore, registrar)


def test_signing_needs_a_document_or_a_resolver(
    keystore: FileKeyStore, registrar: Registrar
) -> None:
    notary = ensure_notary_identity(keystore, registrar)
    with pytest.raises(NotFound, match="no resolver"):
        notary.current_signing_key()
    empty = {"id": notary.did, "verificationMethod": [], "assertionMethod": []}
    with pytest.raises(NotFound, match="keys rotate"):
        notary.current_signing_key(empty)
    assert isinstance(notary, NotaryIdentity)


KEY = bytes(range(32))
KEY_BASE64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


@pytest.mark.parametrize(
    ("doc", "relationship", "expected"),
    [
        (
            {
                "verificationMethod": [{"id": "did:x#a", "publicKeyHex": KEY.hex()}],
                "assertionMethod": ["did:x#a"],
            },
            "assertionMethod",
            "a",
        ),
        # embedded in the relationship (DID Core §5.3), as a JWK
        (
            {
                "assertionMethod": [
                    {
                        "id": "did:x#k",
                        "publicKeyJwk": {
                            "kty": "OKP",
                            "crv": "Ed25519",
                            "x": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
                        },
                    }
                ]
            },
            "assertionMethod",
            "k",
        ),
        # the right key, but only for key agreement
        (
            {
                "verificationMethod": [{"id": "did:x#a", "publicKeyBase64": KEY_BASE64}],
                "keyAgreement": ["did:x#a"],
            },
            "assertionMethod",
            None,
        ),
        (
            {
                "verificationMethod": [{"id": "did:x#a", "publicKeyHex": "zz"}],
                "assertionMethod": ["did:x#a"],
            },
            "assertionMethod",
            None,
        ),
    ],
)  # fmt: skip
def test_verification_method_fragment(
    doc: dict[str, Any], relationship: str, expected: str | None
) -> None:
    assert verification_method_fragment(doc, KEY, relationship) == expected
