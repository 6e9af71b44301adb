"""AnchorRegistry: Merkle-root anchoring by consortium service nodes, on a real EVM."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract

from tests.chain_adapter.contracts_conftest_helpers import (
    b32,
    block_timestamp,
    deploy,
    events,
    new_web3,
    reverts,
    transact,
)

ZERO = "0x0000000000000000000000000000000000000000"
EVIDENCE = b32("evidence-batch")
ROOT = keccak(b"merkle root of batch 1")
PRODUCER = 1

# A ceiling that catches accidental gas regressions of the hot path.
MAX_ANCHOR_GAS = 120_000


@pytest.fixture(scope="module")
def w3() -> Web3:
    return new_web3()


@pytest.fixture
def acct(w3: Web3) -> list[str]:
    """[0] founding member, [1] its service node, [2] a producer node, rest outsiders."""
    return list(w3.eth.accounts)


@pytest.fixture
def consortium(w3: Web3, acct: list[str]) -> Contract:
    contract, _ = deploy(
        w3, "ConsortiumRegistry", acct[0], "Founding Notary", b32("notary"), acct[1], 5001
    )
    receipt = transact(
        w3, contract.functions.proposeAddNode(acct[2], acct[0], PRODUCER, b"\0" * 32), acct[0]
    )
    pid = events(contract, "ProposalCreated", receipt)[0]["id"]
    transact(w3, contract.functions.vote(pid, True), acct[0])
    return contract


@pytest.fixture
def anchors(w3: Web3, consortium: Contract) -> Contract:
    contract, _ = deploy(w3, "AnchorRegistry", consortium.address)
    return contract


def test_points_at_the_consortium(anchors: Contract, consortium: Contract) -> None:
    assert anchors.functions.consortium().call() == consortium.address


def test_constructor_rejects_zero_consortium(w3: Web3) -> None:
    with reverts("zero_address"):
        deploy(w3, "AnchorRegistry", ZERO)


def test_service_node_anchors_a_root(w3: Web3, anchors: Contract, acct: list[str]) -> None:
    assert tuple(anchors.functions.lookup(ROOT).call()) == (0, 0, 0, b"\0" * 32, ZERO)
    assert not anchors.functions.isAnchored(ROOT).call()

    receipt = transact(w3, anchors.functions.anchor(ROOT, 1000, EVIDENCE), acct[1])
    assert receipt["gasUsed"] <= MAX_ANCHOR_GAS
    assert events(anchors, "RootAnchored", receipt) == [
        {"root": ROOT, "kind": EVIDENCE, "anchorer": acct[1], "leafCount": 1000}
    ]
    (log,) = anchors.events.RootAnchored().get_logs(
        from_block=receipt["blockNumber"], argument_filters={"root": ROOT}
    )
    assert log["blockNumber"] == receipt["blockNumber"]
    assert tuple(anchors.functions.lookup(ROOT).call()) == (
        receipt["blockNumber"],
        block_timestamp(w3, receipt),
        1000,
        EVIDENCE,
        acct[1],
    )
    assert anchors.functions.isAnchored(ROOT).call()


def test_root_anchored_only_once(w3: Web3, anchors: Contract, acct: list[str]) -> None:
    first = transact(w3, anchors.functions.anchor(ROOT, 7, EVIDENCE), acct[1])
    before = anchors.functions.lookup(ROOT).call()
    # Re-sending the same batch (a retry) is refused and changes nothing.
    with reverts("root_exists"):
        anchors.functions.anchor(ROOT, 7, EVIDENCE).transact({"from": acct[1]})
    # So is the same root under another count or kind.
    with reverts("root_exists"):
        anchors.functions.anchor(ROOT, 8, b32("other")).transact({"from": acct[1]})
    assert anchors.functions.lookup(ROOT).call() == before
    assert before[0] == first["blockNumber"]


def test_only_service_nodes_anchor(w3: Web3, anchors: Contract, acct: list[str]) -> None:
    for sender in (acct[0], acct[2], acct[5]):  # member itself, producer node, outsider
        with reverts("not_service_node"):
            anchors.functions.anchor(ROOT, 1, EVIDENCE).transact({"from": sender})
    assert not anchors.functions.isAnchored(ROOT).call()


def test_zero_root_and_zero_leaf_count_rejected(anchors: Contract, acct: list[str]) -> None:
    with reverts("zero_root"):
        anchors.functions.anchor(b"\0" * 32, 1, EVIDENCE).transact({"from": acct[1]})
    with reverts("zero_leaf_count"):
        anchors.functions.anchor(ROOT, 0, EVIDENCE).transact({"from": acct[1]})


def test_removed_node_loses_anchoring_rights(
    w3: Web3, anchors: Contract, consortium: Contract, acct: list[str]
) -> None:
    transact(w3, anchors.functions.anchor(ROOT, 2, EVIDENCE), acct[1])
    receipt = transact(w3, consortium.functions.proposeRemoveNode(acct[1], b"\0" * 32), acct[0])
    pid = events(consortium, "ProposalCreated", receipt)[0]["id"]
    transact(w3, consortium.functions.vote(pid, True), acct[0])
    with reverts("not_service_node"):
        anchors.functions.anchor(keccak(b"next"), 2, EVIDENCE).transact({"from": acct[1]})
    assert anchors.functions.lookup(ROOT).call()[4] == acct[1]


def test_many_roots_with_kinds(w3: Web3, anchors: Contract, acct: list[str]) -> None:
    roots = [keccak(i.to_bytes(4, "big")) for i in range(5)]
    for i, root in enumerate(roots):
        transact(w3, anchors.functions.anchor(root, i + 1, b32(f"kind-{i % 2}")), acct[1])
    logs = anchors.events.RootAnchored().get_logs(
        from_block=0, argument_filters={"kind": b32("kind-1")}
    )
    assert [log["args"]["root"] for log in logs] == [roots[1], roots[3]]
    assert [anchors.functions.lookup(r).call()[2] for r in roots] == [1, 2, 3, 4, 5]
