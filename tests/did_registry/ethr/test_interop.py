"""Interop: our did:ethr resolution equals the ``ethr-did-resolver`` npm package's, byte for byte.

Chain states are built with the registry contract on the embedded chain (served at
``/rpc`` by uvicorn, as the hub serves it) and on a Hardhat node. The npm resolver
reads them over JSON-RPC; ours walks the same chain (:class:`ChainWalkerSource`) over
a JSON-RPC client on Hardhat, as a verifier would, and in process on the embedded
chain, as the hub does (plus once over its ``/rpc``). Whole resolution results are
compared: document, document metadata and resolution metadata. Error results are
compared by error code only (the npm messages are free text).

The one input fixed for both sides is the instant the latest version's expiries are
judged at (the npm resolver reads ``new Date()``): it is pinned so that both judge
at the same second, and the chain's own times decide what has expired.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey

from chain_adapter.embedded import EmbeddedChain
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from did_registry.errors import DidError
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.did import parse_ethr_did
from did_registry.ethr.events import EVENT_NAMES
from did_registry.ethr.resolver import EthrResolver
from did_registry.resolution import ResolutionOptions
from tests.did_registry.ethr_npm import (
    DAY,
    ZERO,
    Registry,
    account,
    error_result,
    npm_available,
    npm_resolve,
    serve_rpc,
    versioned,
    without_message,
)

pytestmark = pytest.mark.skipif(not npm_available(), reason="node_modules missing: run `npm ci`")

BACKENDS = ["embedded", pytest.param("hardhat", marks=pytest.mark.hardhat)]


@dataclass
class Setup:
    """One chain: ``writer`` sends, ``rpc_url`` is what npm reads, ``reader`` what we read."""

    chain_id: int
    rpc_url: str
    reader: Chain
    registry: Registry

    def did(self, identifier: str) -> str:
        return f"did:ethr:{hex(self.chain_id)}:{identifier}"

    def resolver(self, now: float | None = None) -> EthrResolver:
        source = ChainWalkerSource(self.reader, self.registry.address)
        if now is None:
            return EthrResolver({self.chain_id: source})
        return EthrResolver({self.chain_id: source}, clock=lambda: now)

    def head(self) -> tuple[int, int]:
        block = self.reader.get_block("latest")
        return block.number, block.timestamp


@pytest.fixture(scope="module", params=BACKENDS)
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    """One chain and registry per backend for the module: the tests only add identities."""
    deployer: LocalAccount = Account.create()
    if request.param == "embedded":
        embedded = EmbeddedChain.open(
            tmp_path_factory.mktemp("chain"), chain_id=1337, prefund={deployer.address: 10**24}
        )
        with serve_rpc(embedded) as url:
            funder = Transactor(embedded, deployer, receipt_timeout=30.0, poll_interval=0.01)
            # npm reads over /rpc; we read the chain in process, as the hub does (the
            # Hardhat case and test_walker_over_our_rpc cover our walker over JSON-RPC).
            yield Setup(1337, url, embedded, Registry.deploy(funder))
        embedded.close()
        return
    node = request.getfixturevalue("hardhat_node")
    node.ensure_running()
    node.fund(deployer.address, 10**19)
    chain = JsonRpcChain.connect(node.url, expected_chain_id=31337)
    funder = Transactor(chain, deployer, receipt_timeout=30.0, poll_interval=0.01)
    yield Setup(31337, node.url, chain, Registry.deploy(funder))
    chain.close()


Requests = Mapping[str, Sequence[int | None]]  # DID -> the versions to resolve (None: latest)


def ours(resolver: EthrResolver, did: str, options: ResolutionOptions) -> dict[str, Any]:
    try:
        return resolver.resolve(did, options).to_json()
    except DidError as error:
        return error_result(error)


def theirs(result: dict[str, Any]) -> dict[str, Any]:
    return without_message(result) if "error" in result["didResolutionMetadata"] else result


def assert_same(
    setup: Setup, requests: Requests, *, now: int | None, accept: str | None = None
) -> int:
    """Resolve every (DID, version) both ways and compare; return how many were compared."""
    asked: dict[str, tuple[str, ResolutionOptions]] = {}
    for did, versions in requests.items():
        for version in versions:
            options = ResolutionOptions(
                version_id=version, accept=accept or "application/did-resolution"
            )
            asked[versioned(did, options)] = (did, options)
    npm = npm_resolve(
        setup.rpc_url, setup.chain_id, setup.registry.address, list(asked), accept=accept, now=now
    )
    resolver = setup.resolver(now)
    for url, (did, options) in asked.items():
        assert ours(resolver, did, options) == theirs(npm[url]), url
    return len(asked)


def change_points(setup: Setup, did: str) -> list[int | None]:
    """Latest, genesis, each block where ``did`` changed and the block before it, head, head+1.

    The change blocks come from the registry's events filtered by identity (the
    contract's own view, not the walker under test); head + 1 does not exist yet.
    """
    identity = parse_ethr_did(did, networks={setup.chain_id: setup.chain_id}).address
    changed = {
        event.log.block_number
        for name in EVENT_NAMES
        for event in setup.registry.contract.events(
            name, 0, argument_filters={"identity": identity}
        )
    }
    head, _ = setup.head()
    points = {0, head, head + 1} | changed | {block - 1 for block in changed}
    return [None, *sorted(points)]


# -- chain states --------------------------------------------------------------------------------


def ed25519_key() -> bytes:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def x25519_key() -> bytes:
    return (
        x25519.X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


def rsa_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def secp256k1_key(label: str) -> bytes:
    return PrivateKey(bytes(account(label).key)).public_key.to_compressed_bytes()


def build_keys(reg: Registry, alice: LocalAccount) -> None:
    me = alice.address
    for name, value in [
        ("did/pub/Secp256k1/veriKey/hex", secp256k1_key("alice-secp")),
        ("did/pub/Secp256k1/sigAuth", secp256k1_key("alice-secp-auth")),
        ("did/pub/Ed25519/veriKey/base64", ed25519_key()),
        ("did/pub/Ed25519/sigAuth/base58", ed25519_key()),
        ("did/pub/Ed25519/veriKey/hex", ed25519_key()),
        ("did/pub/X25519/enc/base64", x25519_key()),
        ("did/pub/X25519/enc/base58", b"\x00\x00" + x25519_key()[2:]),  # leading zero bytes
        ("did/pub/RSA/veriKey/pem", rsa_pem()),
        ("did/pub/RSA/veriKey/pem", b"\xff\xfe not UTF-8"),  # counted, not shown
        ("did/pub/Ed25519/veriKey/jwk", ed25519_key()),  # unknown encoding: raw hex
        ("did/pub/to/String", ed25519_key()),  # Object.prototype quirk: no type
        ("did/pub/__/proto__", ed25519_key()),  # Object.prototype quirk: type {}
    ]:
        reg.set_attribute(alice, me, name, value, DAY)
    reg.set_attribute(alice, me, b"\xffdid/pub/Ed25519", ed25519_key(), DAY)  # name not UTF-8
    reg.set_attribute(alice, me, "some/other/attribute", b"x", DAY)


def build_delegates(reg: Registry, bob: LocalAccount) -> None:
    me, d1, d2, d3 = (
        bob.address,
        account("d1").address,
        account("d2").address,
        account("d3").address,
    )
    reg.add_delegate(bob, me, "veriKey", d1, DAY)
    reg.add_delegate(bob, me, "sigAuth", d2, DAY)
    reg.add_delegate(bob, me, "veriKey", d3, 2)  # passes within a few blocks
    reg.add_delegate(bob, me, "custom", d1, DAY)  # counted, never shown
    reg.revoke_delegate(bob, me, "sigAuth", d2)
    reg.add_delegate(bob, me, "veriKey", d1, 2 * DAY)  # renewed: same place, new id
    reg.add_delegate(bob, me, "sigAuth", d3, DAY)


def build_revocations(reg: Registry, carol: LocalAccount) -> None:
    me, x, ed = carol.address, x25519_key(), ed25519_key()
    reg.set_attribute(carol, me, "did/pub/X25519/enc/base64", x, DAY)
    reg.set_attribute(carol, me, "did/svc/Messaging", b"https://a.example", DAY)
    reg.set_attribute(carol, me, "did/pub/Ed25519/veriKey/base64", ed, DAY)
    reg.revoke_attribute(carol, me, "did/pub/X25519/enc/base64", x)  # stays in keyAgreement
    reg.revoke_attribute(carol, me, "did/svc/Messaging", b"https://a.example")
    reg.revoke_attribute(carol, me, "did/pub/Ed25519/veriKey/base64", ed)
    reg.set_attribute(carol, me, "did/svc/Messaging", b"https://b.example", DAY)
    reg.set_attribute(carol, me, "did/pub/Ed25519/veriKey/base64", ed, 1)  # expires soon


def build_owners(reg: Registry, dave: LocalAccount, erin: LocalAccount) -> None:
    me = dave.address
    reg.set_attribute(dave, me, "did/svc/Hub", b"https://dave.example", DAY)
    reg.change_owner(dave, me, erin.address)
    reg.add_delegate(erin, me, "sigAuth", account("d4").address, DAY)
    reg.change_owner(erin, me, me)  # back to itself: the controller key returns


def build_deactivated(reg: Registry, frank: LocalAccount) -> None:
    me = frank.address
    reg.set_attribute(frank, me, "did/svc/Hub", b"https://frank.example", DAY)
    reg.add_delegate(frank, me, "veriKey", account("d5").address, DAY)
    reg.change_owner(frank, me, ZERO)
    # owners[me] = 0 means "owned by itself" to the contract, so frank can still write;
    # resolvers stop reading at the deactivation.
    reg.set_attribute(frank, me, "did/svc/After", b"https://late.example", DAY)


def build_services(reg: Registry, gina: LocalAccount) -> None:
    me = gina.address
    for name, value in [
        ("did/svc/Plain", b"https://gina.example/inbox"),
        ("did/svc/DIDCommMessaging", b'{"uri":"https://g.example","accept":["didcomm/v2"]}'),
        ("did/svc/List", b'["https://a.example", "https://b.example"]'),
        ("did/svc/Number", b"12345678901234567890"),
        ("did/svc/Huge", b"1e400"),
        ("did/svc/Ordered", b'{"b":1,"2":2,"1":3,"b":4}'),
        ("did/svc/NotJson", b"NaN"),
        ("did/svc/Broken", b"{not json"),
        ("did/svc/Binary", b"\xc0\xaf"),  # not UTF-8: counted, not shown
        ("did/svc/Hub", b"null"),
    ]:
        reg.set_attribute(gina, me, name, value, DAY)


@dataclass
class World:
    dids: dict[str, str]
    head: int
    head_time: int


@pytest.fixture(scope="module")
def world(setup: Setup) -> World:
    return build_world(setup)


def build_world(setup: Setup) -> World:
    reg = setup.registry
    alice, bob, carol = account("alice"), account("bob"), account("carol")
    dave, erin, frank, gina = account("dave"), account("erin"), account("frank"), account("gina")
    build_keys(reg, alice)
    build_delegates(reg, bob)
    build_revocations(reg, carol)
    build_owners(reg, dave, erin)
    build_deactivated(reg, frank)
    build_services(reg, gina)
    for _ in range(3):
        reg.tick()  # let the short validities pass in chain time
    head, head_time = setup.head()
    dave_key = "0x" + PrivateKey(bytes(dave.key)).public_key.to_compressed_bytes().hex()
    dids = {
        "plain": setup.did(account("nobody").address),
        "plain-key": setup.did("0x" + secp256k1_key("nobody-key").hex()),
        "keys": setup.did(alice.address),
        "delegates": setup.did(bob.address.lower()),
        "revocations": setup.did(carol.address),
        "owners": setup.did(dave_key),
        "owners-address": setup.did(dave.address),
        "deactivated": setup.did(frank.address),
        "services": setup.did(gina.address),
    }
    return World(dids, head, head_time)


# -- tests -------------------------------------------------------------------------------------


def test_documents_and_history_match_npm(setup: Setup, world: World) -> None:
    requests = {did: change_points(setup, did) for did in world.dids.values()}
    assert_same(setup, requests, now=world.head_time)


def test_the_states_show_what_they_were_built_for(setup: Setup, world: World) -> None:
    """The scenarios reach the cases they are meant to (read from the npm resolver's answers)."""
    npm = npm_resolve(
        setup.rpc_url, setup.chain_id, setup.registry.address, list(world.dids.values()),
        now=world.head_time,
    )  # fmt: skip
    docs = {name: npm[did]["didDocument"] for name, did in world.dids.items()}
    meta = {name: npm[did]["didDocumentMetadata"] for name, did in world.dids.items()}

    def fragments(name: str, section: str = "verificationMethod") -> list[str]:
        return [(e if isinstance(e, str) else e["id"]).split("#")[1] for e in docs[name][section]]

    assert meta["plain"] == {} and fragments("plain-key") == ["controller", "controllerKey"]
    keys_methods = docs["keys"]["verificationMethod"]
    assert {m.get("type") if isinstance(m.get("type"), str) else repr(m.get("type"))
            for m in keys_methods} >= {
        "EcdsaSecp256k1VerificationKey2019", "Ed25519VerificationKey2018",
        "X25519KeyAgreementKey2019", "RSAVerificationKey2018", "None", "{}",
    }  # fmt: skip
    assert {"publicKeyHex", "publicKeyBase64", "publicKeyBase58", "publicKeyPem", "value"} <= {
        k for m in keys_methods for k in m
    }
    assert len(docs["keys"]["keyAgreement"]) == 2
    # delegate-3 (two seconds) lapsed, delegate-4 ("custom") counts unseen, 2 was revoked,
    # 1 was renewed as 6 in its place.
    assert fragments("delegates") == ["controller", "delegate-6", "delegate-7"]
    assert set(docs["revocations"]["keyAgreement"]) - {m["id"] for m in docs["revocations"][
        "verificationMethod"]}  # fmt: skip
    assert "controllerKey" in fragments("owners") and "controllerKey" not in fragments(
        "owners-address"
    )
    assert meta["deactivated"]["deactivated"] is True
    assert docs["deactivated"]["verificationMethod"] == []
    endpoints = {s["type"]: s["serviceEndpoint"] for s in docs["services"]["service"]}
    assert endpoints["Number"] == 12345678901234567000 and endpoints["Huge"] is None
    assert "Binary" not in endpoints and endpoints["NotJson"] == "NaN"


def test_expiries_at_later_instants_match_npm(setup: Setup, world: World) -> None:
    # Around the one-day validities, then past the renewed two-day delegate.
    for later in (DAY - 60, DAY + 60, 2 * DAY + 60):
        assert_same(
            setup, {key: [None] for key in world.dids.values()}, now=world.head_time + later
        )


def test_did_json_representation_matches_npm(setup: Setup, world: World) -> None:
    requests = {key: [None, world.head - 5] for key in world.dids.values()}
    assert_same(setup, requests, now=world.head_time, accept="application/did+json")


def test_version_time_is_the_version_of_the_block_at_that_time(setup: Setup, world: World) -> None:
    did = world.dids["delegates"]
    times = {n: setup.reader.get_block(n).timestamp for n in range(world.head + 1)}
    # The times of the DID's change blocks and their neighbours, a second before and after.
    blocks = {b for b in change_points(setup, did) if b is not None and b <= world.head}
    probes = sorted({times[b] + d for b in blocks for d in (-1, 0, 1)} - {times[0] - 1})
    expected_blocks = [max(n for n, t in times.items() if t <= probe) for probe in probes]
    npm = npm_resolve(
        setup.rpc_url, setup.chain_id, setup.registry.address, [did],
        versions=sorted(set(expected_blocks)), now=world.head_time,
    )  # fmt: skip
    resolver = setup.resolver(world.head_time)
    for probe, block in zip(probes, expected_blocks, strict=True):
        ours = resolver.resolve(did, ResolutionOptions(version_time=probe)).to_json()
        assert ours == npm[f"{did}?versionId={block}"], (probe, block)
    with pytest.raises(DidError) as before_genesis:
        resolver.resolve(did, ResolutionOptions(version_time=times[0] - 1))
    assert before_genesis.value.code == "notFound"


@pytest.mark.parametrize("setup", ["embedded"], indirect=True)  # Hardhat's walk is over JSON-RPC
def test_walker_over_our_rpc(setup: Setup, world: World) -> None:
    """A verifier's walk over the hub's ``/rpc`` gives what the hub's in-process walk gives."""
    remote = JsonRpcChain.connect(setup.rpc_url, expected_chain_id=1337)
    try:
        over_http = EthrResolver(
            {1337: ChainWalkerSource(remote, setup.registry.address)}, clock=lambda: world.head_time
        )
        local = setup.resolver(world.head_time)
        for did in world.dids.values():
            versions = [v for v in change_points(setup, did) if v is None or v <= world.head]
            for version in versions[::3]:
                options = ResolutionOptions(version_id=version)
                assert ours(over_http, did, options) == ours(local, did, options), (did, version)
    finally:
        remote.close()


def test_with_the_real_clock(setup: Setup) -> None:
    """No pinned instant: both sides read their own clocks (nothing expires near now)."""
    reg, hana = setup.registry, account("hana")
    reg.set_attribute(hana, hana.address, "did/pub/Ed25519/veriKey/base64", ed25519_key(), DAY)
    reg.add_delegate(hana, hana.address, "sigAuth", account("d6").address, DAY)
    assert_same(setup, {setup.did(hana.address): [None]}, now=None)


# Where the two resolvers disagree on purpose: the npm package reports as notFound (a
# failure inside ethers) or unknownNetwork what is a malformed DID, and names its
# representation error unsupportedFormat rather than W3C's representationNotSupported.
ADDRESS = account("ivan").address
BAD_CHECKSUM = ADDRESS[:-1] + (ADDRESS[-1].lower() if ADDRESS[-1].isupper() else "A")
ERRORS = [
    # (DID, accept, npm error, our error)
    ("did:ethr:0x539:0x1234", None, "invalidDid", "invalidDid"),
    (f"did:ethr:0x539:0x04{'11' * 64}", None, "invalidDid", "invalidDid"),
    (f"did:ethr:0x1:{ADDRESS}", None, "unknownNetwork", "unknownNetwork"),
    (f"did:ethr:{ADDRESS}", None, "unknownNetwork", "unknownNetwork"),
    (f"did:ethr:0x0539:{ADDRESS}", None, "unknownNetwork", "invalidDid"),
    (f"did:ethr:0x539:{BAD_CHECKSUM}", None, "notFound", "invalidDid"),
    (f"did:ethr:0x539:0x02{'00' * 31}05", None, "notFound", "invalidDid"),
    (f"did:ethr:0x539:{ADDRESS}", "text/html", "unsupportedFormat", "representationNotSupported"),
]


def test_error_codes_against_npm(tmp_path: Path) -> None:
    deployer: LocalAccount = Account.create()
    chain = EmbeddedChain.open(
        tmp_path / "chain", chain_id=1337, prefund={deployer.address: 10**24}
    )
    reg = Registry.deploy(Transactor(chain, deployer, poll_interval=0.01))
    with serve_rpc(chain) as url:
        reader = JsonRpcChain.connect(url, expected_chain_id=1337)
        resolver = EthrResolver({1337: ChainWalkerSource(reader, reg.address)})
        npm = {
            accept: npm_resolve(
                url, 1337, reg.address, [e[0] for e in ERRORS if e[1] == accept], accept=accept
            )
            for accept in {e[1] for e in ERRORS}
        }
        for did, accept, npm_code, our_code in ERRORS:
            assert npm[accept][did]["didResolutionMetadata"]["error"] == npm_code, did
            options = ResolutionOptions(accept=accept or "application/did-resolution")
            with pytest.raises(DidError) as raised:
                resolver.resolve(did, options)
            assert raised.value.code == our_code, did
        reader.close()
    chain.close()


@pytest.mark.hardhat
def test_several_changes_in_one_block_match_npm(hardhat_node: Any) -> None:
    """Hardhat with automine off: three changes of one identity land in one block."""
    hardhat_node.ensure_running()
    deployer: LocalAccount = Account.create()
    hardhat_node.fund(deployer.address, 10**19)
    chain = JsonRpcChain.connect(hardhat_node.url, expected_chain_id=31337)
    funder = Transactor(chain, deployer, receipt_timeout=30.0, poll_interval=0.01)
    setup = Setup(31337, hardhat_node.url, chain, Registry.deploy(funder))
    reg, jack = setup.registry, account("jack")
    reg.set_attribute(jack, jack.address, "did/svc/Before", b"https://before.example", DAY)
    signer = reg.signer(jack)
    calls = [
        reg.contract.encode("addDelegate", jack.address, b"veriKey".ljust(32, b"\0"),
                            account("d7").address, DAY),
        reg.contract.encode("setAttribute", jack.address, b"did/svc/Same".ljust(32, b"\0"),
                            b"https://same.example", DAY),
        reg.contract.encode("revokeDelegate", jack.address, b"veriKey".ljust(32, b"\0"),
                            account("d7").address),
    ]  # fmt: skip
    hardhat_node.rpc("evm_setAutomine", [False])
    try:
        signed = [signer.build(reg.address, data, gas=200_000) for data in calls]
        hashes = [signer.send(tx) for tx in signed]
        hardhat_node.rpc("evm_mine")
    finally:
        hardhat_node.rpc("evm_setAutomine", [True])
    blocks = {signer.wait(h).block_number for h in hashes}
    assert len(blocks) == 1
    reg.set_attribute(jack, jack.address, "did/svc/After", b"https://after.example", DAY)
    head, head_time = setup.head()
    (block,) = blocks
    requests = {setup.did(jack.address): [None, block - 1, block, block + 1, head]}
    assert_same(setup, requests, now=head_time)
    chain.close()
