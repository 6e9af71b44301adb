"""Finding an identity's ERC-1056 registry with only a chain node (embedded EVM)."""

from __future__ import annotations

import pytest
from eth_account import Account

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import DID_REGISTRY
from did_registry.ethr.did import ethr_did_for
from did_registry.ethr.registry_discovery import AmbiguousRegistry, DiscoveringSource, registries_of
from did_registry.ethr.resolver import EthrResolver
from did_registry.registrar.operations import SetAttribute
from did_registry.registrar.service import Registrar
from tests.fixtures.notary_world import CHAIN_ID, NotaryWorld


def test_the_notary_registry_is_found_and_resolution_matches(notary_world: NotaryWorld) -> None:
    registry = notary_world.deployment.did_registry.address
    assert registries_of(notary_world.chain, notary_world.notary.address) == [registry]
    resolver = EthrResolver({CHAIN_ID: DiscoveringSource(notary_world.chain)})
    found = resolver.resolve(notary_world.notary.did).did_document
    expected = notary_world.resolver.resolve(notary_world.notary.did).did_document
    assert found == expected


def test_an_identity_without_changes_resolves_to_its_default_document(
    notary_world: NotaryWorld,
) -> None:
    stranger = Account.create().address
    assert registries_of(notary_world.chain, stranger) == []
    resolver = EthrResolver({CHAIN_ID: DiscoveringSource(notary_world.chain)})
    document = resolver.resolve(ethr_did_for(stranger, CHAIN_ID)).did_document
    assert document is not None
    assert [m["id"].split("#")[1] for m in document["verificationMethod"]] == ["controller"]


def test_a_second_genuine_registry_makes_discovery_ambiguous(notary_world: NotaryWorld) -> None:
    receipt = notary_world.transactor.deploy(load_artifact(DID_REGISTRY).bytecode)
    assert receipt.contract_address is not None
    second = BoundContract.attach(
        notary_world.chain, load_artifact(DID_REGISTRY).abi, receipt.contract_address
    )
    registrar = Registrar(notary_world.transactor, second)
    registrar.execute(
        notary_world.notary.address, SetAttribute("did/svc/Hub", b"https://x.example", 3600)
    )
    source = DiscoveringSource(notary_world.chain)
    with pytest.raises(AmbiguousRegistry, match="2 DID registries"):
        source.history(notary_world.notary.address)
    pinned = DiscoveringSource(notary_world.chain, registry=receipt.contract_address)
    assert len(pinned.history(notary_world.notary.address)) == 1
