"""check_status_on_chain: a credential's status with nothing but a chain node.

The notary's hub publishes as usual; the verifier then uses only the chain (the
embedded one directly, or over JSON-RPC with the hub gone).
"""

from __future__ import annotations

import copy
import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.artifacts import Artifact, parse_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import deploy_status_lists
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.rpc_router import rpc_router
from chain_adapter.rpc_server import RpcServer
from chain_adapter.transactor import Transactor
from credentials.errors import StatusError
from credentials.status.anchor import (
    MAX_ENCODED_LIST,
    RegistryPublisher,
    anchor_list_id,
    bits_digest,
)
from credentials.status.bitstring import (
    Bitstring,
    StatusListLengthError,
    StatusVerificationError,
    build_entry,
    compress_bits,
    decode_list,
)
from credentials.status.check import (
    AmbiguousStatusRegistry,
    StatusCheck,
    StatusDigestMismatch,
    StatusListNeverPublished,
    StatusRetrievalError,
    check_status,
    check_status_on_chain,
)
from credentials.status.service import MAX_ENTRIES, StatusService
from notary_hub import migrate
from notary_hub.db import create_db_engine, session_factory
from testkit.serving import ServedApp, serve_app
from tests.credentials.status_helpers import list_verifier, make_service
from tests.fixtures.notary_world import NotaryWorld

IMPOSTOR = Path(__file__).resolve().parents[2] / "contracts" / "build" / "StatusListImpostor.json"


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    migrate.upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def service(sessions: sessionmaker[Session], notary_world: NotaryWorld) -> StatusService:
    return make_service(sessions, notary_world)


def on_chain(world: NotaryWorld, entry: dict[str, str], **kw: Any) -> StatusCheck:
    return check_status_on_chain(entry, chain=world.chain, issuer_did=world.notary.did, **kw)


def served(service: StatusService, entry: dict[str, str]) -> dict[str, Any]:
    return service.list_credential(entry["statusListCredential"].rsplit("/", 1)[1])


def with_list(world: NotaryWorld, entry: dict[str, str], doc: dict[str, Any]) -> StatusCheck:
    return check_status(
        entry,
        doc,
        chain=world.chain,
        issuer_did=world.notary.did,
        verify_list=list_verifier(world),
    )


def genuine(world: NotaryWorld) -> BoundContract:
    registry = world.deployment.status_lists
    assert registry is not None
    return registry


def funded_stranger(world: NotaryWorld) -> Transactor:
    stranger = Account.create()
    world.transactor.transact(stranger.address, value=10**18)
    return Transactor(world.chain, stranger, receipt_timeout=30.0, poll_interval=0.01)


def impostor_artifact() -> Artifact:
    return parse_artifact(IMPOSTOR.read_text(encoding="utf-8"), "StatusListImpostor")


def test_revoked_with_nothing_but_the_chain(
    service: StatusService, notary_world: NotaryWorld
) -> None:
    revocation, suspension = service.allocate("urn:a", ("revocation", "suspension"))
    service.publish()
    first = on_chain(notary_world, revocation)
    assert (first.valid, first.revoked, first.version) == (True, False, 1)
    assert first.registry == genuine(notary_world).address

    service.set_status("urn:a", "revocation", True)
    service.set_status("urn:a", "suspension", True)
    published = {p.url: p for p in service.publish()}
    revoked = on_chain(notary_world, revocation)
    assert (revoked.valid, revoked.revoked, revoked.suspended) == (False, True, False)
    assert (revoked.version, revoked.index) == (2, int(revocation["statusListIndex"]))
    tx_hash = published[revocation["statusListCredential"]].tx_hash
    assert tx_hash is not None
    receipt = notary_world.chain.get_receipt(tx_hash)
    assert receipt is not None and revoked.anchored_block == receipt.block_number
    assert revoked.anchored_at == notary_world.chain.get_block(receipt.block_number).timestamp
    assert revoked.to_json()["anchoredBlock"] == receipt.block_number
    assert revoked.to_json()["registry"] == genuine(notary_world).address
    suspended = on_chain(notary_world, suspension)
    assert suspended.suspended and not suspended.revoked
    # With the served list or without it, the answer is the same, field for field.
    assert with_list(notary_world, revocation, served(service, revocation)) == revoked
    assert on_chain(notary_world, revocation, registry=revoked.registry.lower()) == revoked

    service.set_status("urn:a", "suspension", False)
    service.publish()
    lifted = on_chain(notary_world, suspension)
    assert (lifted.valid, lifted.version) == (True, 3)


def test_a_stale_list_credential_is_refused(
    service: StatusService, notary_world: NotaryWorld
) -> None:
    (entry,) = service.allocate("urn:s")
    service.publish()
    before = copy.deepcopy(served(service, entry))
    service.set_status("urn:s", "revocation", True)
    service.publish()
    # The old copy (say, from a mirror's cache) says "valid": refused, not believed.
    with pytest.raises(StatusVerificationError, match=r"stale or altered") as info:
        with_list(notary_world, entry, before)
    assert info.value.code == "STATUS_VERIFICATION_ERROR"
    assert on_chain(notary_world, entry).revoked


def test_a_look_alike_contract_is_ignored(
    service: StatusService, notary_world: NotaryWorld
) -> None:
    (entry,) = service.allocate("urn:l")
    service.set_status("urn:l", "revocation", True)
    service.publish()
    url = entry["statusListCredential"]
    clean = Bitstring()  # the "un-revoked" list an attacker would like verifiers to read

    stranger = funded_stranger(notary_world)
    artifact = impostor_artifact()
    deployed = stranger.deploy(artifact.bytecode)
    assert deployed.contract_address is not None
    impostor = BoundContract(notary_world.chain, artifact.abi, deployed.contract_address)
    # Same event, same topics, attributed to the notary, and later than the real one.
    forged = impostor.transact(
        stranger,
        "forge",
        notary_world.node.address,
        anchor_list_id(url),
        bits_digest(clean),
        compress_bits(clean),
    )
    (event,) = impostor.decode_logs(forged, "StatusListPublished")
    assert event.args["publisher"] == notary_world.node.address
    # A genuine registry of the stranger's, holding the clean list in its own namespace.
    copycat = deploy_status_lists(stranger)
    copycat.transact(
        stranger, "publish", anchor_list_id(url), bits_digest(clean), compress_bits(clean)
    )

    result = on_chain(notary_world, entry)
    assert result.revoked and result.registry == genuine(notary_world).address
    with pytest.raises(StatusVerificationError, match="is not a StatusListRegistry"):
        on_chain(notary_world, entry, registry=impostor.address)
    with pytest.raises(
        StatusListNeverPublished, match=f"in the StatusListRegistry at {copycat.address}"
    ):
        on_chain(notary_world, entry, registry=copycat.address)

    # A list only the impostor ever "published" for the notary does not exist.
    phantom = build_entry("http://127.0.0.1:8000/credentials/status/phantom", "revocation", 7)
    impostor.transact(
        stranger,
        "forge",
        notary_world.node.address,
        anchor_list_id(phantom["statusListCredential"]),
        bits_digest(clean),
        compress_bits(clean),
    )
    with pytest.raises(StatusListNeverPublished, match="no StatusListRegistry holds it"):
        on_chain(notary_world, phantom)


def test_an_issuer_without_any_published_list(
    service: StatusService, notary_world: NotaryWorld
) -> None:
    (entry,) = service.allocate("urn:n")  # allocated, never published
    with pytest.raises(StatusListNeverPublished) as info:
        on_chain(notary_world, entry)
    assert info.value.code == "STATUS_VERIFICATION_ERROR"
    assert str(info.value) == (
        f"status list {entry['statusListCredential']} was never published by "
        f"{notary_world.node.address} on chain 1337: no StatusListRegistry holds it"
    )
    service.publish()
    assert on_chain(notary_world, entry).valid
    # Another did:ethr issuer publishes nothing anywhere.
    stranger = Account.create().address
    with pytest.raises(StatusListNeverPublished, match=f"never published by {stranger}"):
        check_status_on_chain(
            entry, chain=notary_world.chain, issuer_did=f"did:ethr:0x539:{stranger}"
        )
    with pytest.raises(StatusError, match="did:ethr issuer on chain 1337"):
        check_status_on_chain(entry, chain=notary_world.chain, issuer_did="did:key:z6Mkabc")
    with pytest.raises(StatusError, match="statusListCredential must be an http"):
        on_chain(notary_world, {**entry, "statusListCredential": "urn:x"})


def test_two_genuine_registries_are_ambiguous(
    service: StatusService, notary_world: NotaryWorld
) -> None:
    (entry,) = service.allocate("urn:g")
    service.set_status("urn:g", "revocation", True)
    service.publish()
    # The notary itself (its own key) published the list in a second registry too.
    second = deploy_status_lists(notary_world.transactor)
    RegistryPublisher(notary_world.transactor, second).publish(
        anchor_list_id(entry["statusListCredential"]), compress_bits(Bitstring())
    )
    first = genuine(notary_world).address
    with pytest.raises(AmbiguousStatusRegistry, match="name the registry to trust") as info:
        on_chain(notary_world, entry)
    assert (info.value.code, info.value.status_code) == ("AMBIGUOUS_STATUS_REGISTRY", 409)
    assert first in str(info.value) and second.address in str(info.value)
    assert on_chain(notary_world, entry, registry=first).revoked
    assert on_chain(notary_world, entry, registry=second.address).valid


def test_the_chain_copy_must_hash_to_its_digest(
    service: StatusService, notary_world: NotaryWorld
) -> None:
    (entry,) = service.allocate("urn:d")
    service.publish()
    doc = served(service, entry)
    url = entry["statusListCredential"]
    bits = decode_list(doc["credentialSubject"]["encodedList"])
    registry, transactor = genuine(notary_world), notary_world.transactor

    # The issuer's key sends a version whose copy is not the digest's bitstring (not
    # something RegistryPublisher does): both ways of checking refuse it.
    other = Bitstring()
    other.set(int(entry["statusListIndex"]), True)
    registry.transact(
        transactor, "publish", anchor_list_id(url), bits_digest(bits), compress_bits(other)
    )
    with pytest.raises(StatusDigestMismatch, match="does not hash to its published digest"):
        on_chain(notary_world, entry)
    with pytest.raises(StatusDigestMismatch, match="does not hash"):
        with_list(notary_world, entry, doc)

    registry.transact(transactor, "publish", anchor_list_id(url), bits_digest(bits), b"junk")
    with pytest.raises(StatusDigestMismatch, match="is not a GZIP bitstring"):
        on_chain(notary_world, entry)
    bomb = gzip.compress(b"\0" * (17 * 1024 * 1024), mtime=0)
    assert len(bomb) <= MAX_ENCODED_LIST
    registry.transact(transactor, "publish", anchor_list_id(url), bits_digest(bits), bomb)
    with pytest.raises(StatusDigestMismatch, match="decompresses to more than"):
        on_chain(notary_world, entry)
    short = Bitstring(1024)
    registry.transact(
        transactor, "publish", anchor_list_id(url), bits_digest(short), compress_bits(short)
    )
    with pytest.raises(StatusListLengthError, match="fewer than the minimum 131072"):
        on_chain(notary_world, entry)


def test_a_dense_list_of_the_largest_size(notary_world: NotaryWorld) -> None:
    publisher = RegistryPublisher(notary_world.transactor, genuine(notary_world))
    random_bits = Bitstring.from_bytes(os.urandom(MAX_ENTRIES // 8))  # incompressible
    encoded = compress_bits(random_bits)
    assert MAX_ENTRIES // 8 < len(encoded) < MAX_ENCODED_LIST // 2 + 1024
    url = "http://127.0.0.1:8000/credentials/status/dense"
    published = publisher.publish(anchor_list_id(url), encoded)
    assert published.digest == bits_digest(random_bits)
    for index in (0, 1, 77_777, MAX_ENTRIES - 1):
        result = on_chain(notary_world, build_entry(url, "suspension", index))
        assert result.suspended is random_bits.get(index)
    with pytest.raises(StatusError, match="outside the 262144-bit"):
        on_chain(notary_world, build_entry(url, "suspension", MAX_ENTRIES))

    height = notary_world.chain.block_number()
    with pytest.raises(StatusError, match="1 to 65536 GZIP bytes on chain, not 65537"):
        publisher.publish(anchor_list_id(url), os.urandom(MAX_ENCODED_LIST + 1))
    with pytest.raises(StatusError, match="not a GZIP bitstring"):
        publisher.publish(anchor_list_id(url), b"\x1f\x8b not really")
    assert notary_world.chain.block_number() == height  # nothing sent


@pytest.fixture
def rpc_url(notary_world: NotaryWorld) -> Iterator[tuple[str, ServedApp]]:
    """The notary's chain served over JSON-RPC, as any node would; the hub is not there."""
    app = FastAPI()
    server = RpcServer(notary_world.chain)
    app.include_router(rpc_router(lambda: server))
    with serve_app(app) as served:
        yield f"{served.url}/rpc", served


def test_over_json_rpc_and_with_the_node_gone(
    service: StatusService, notary_world: NotaryWorld, rpc_url: tuple[str, ServedApp]
) -> None:
    (entry,) = service.allocate("urn:j")
    service.set_status("urn:j", "revocation", True)
    service.publish()
    url, node = rpc_url
    remote = JsonRpcChain.connect(url, expected_chain_id=1337, timeout=5, retries=0)
    try:
        result = check_status_on_chain(entry, chain=remote, issuer_did=notary_world.notary.did)
        assert result == on_chain(notary_world, entry)
        assert result.revoked
        node.stop()  # its socket is closed: the node is gone
        with pytest.raises(StatusRetrievalError, match="could not be read from chain 1337"):
            check_status_on_chain(entry, chain=remote, issuer_did=notary_world.notary.did)
    finally:
        remote.close()
    notary_world.chain.close()
    with pytest.raises(StatusRetrievalError) as info:
        on_chain(notary_world, entry)
    assert info.value.code == "STATUS_RETRIEVAL_ERROR"
