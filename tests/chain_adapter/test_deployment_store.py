"""The deployment store: the hub's contracts per chain, recorded, replaced and read back."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.deployment_store import DeployedContract, DeploymentStore

REGISTRY = "0x" + "11" * 20
ANCHORS = "0x" + "22" * 20
MOVED = "0x" + "33" * 20


def test_records_and_finds_contracts_of_one_chain(sessions: sessionmaker[Session]) -> None:
    store = DeploymentStore(sessions, 1337)
    assert store.chain_id == 1337
    assert store.all() == [] and store.find("EthereumDIDRegistry") is None
    store.record_all(
        [
            DeployedContract("EthereumDIDRegistry", REGISTRY, 7),
            DeployedContract("AnchorRegistry", ANCHORS),
        ]
    )
    assert store.find("EthereumDIDRegistry") == DeployedContract("EthereumDIDRegistry", REGISTRY, 7)
    assert store.all() == [
        DeployedContract("AnchorRegistry", ANCHORS, None),
        DeployedContract("EthereumDIDRegistry", REGISTRY, 7),
    ]
    # Another chain's records are its own.
    other = DeploymentStore(sessions, 31337)
    assert other.all() == []
    other.record("AnchorRegistry", MOVED, 1)
    assert store.find("AnchorRegistry") == DeployedContract("AnchorRegistry", ANCHORS, None)


def test_recording_again_replaces(sessions: sessionmaker[Session]) -> None:
    store = DeploymentStore(sessions, 1337)
    store.record("EthereumDIDRegistry", REGISTRY, 7)
    store.record("EthereumDIDRegistry", MOVED)
    assert store.all() == [DeployedContract("EthereumDIDRegistry", MOVED, None)]
