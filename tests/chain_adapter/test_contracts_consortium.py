"""ConsortiumRegistry: membership, nodes and voting on a real in-process EVM."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

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
SIMPLE_MAJORITY = 5001
TWO_THIRDS = 6666  # 3 members: 2 * 10000 >= 6666 * 3
NOTARY = b32("notary")
EVIDENCE = keccak(b"CA chain of the applicant, checked off-chain")


class NodeType(IntEnum):
    NONE = 0
    PRODUCER = 1
    SERVICE = 2


class Kind(IntEnum):
    ADD_MEMBER = 0
    REMOVE_MEMBER = 1
    ADD_NODE = 2
    REMOVE_NODE = 3
    SET_THRESHOLD = 4


@pytest.fixture(scope="module")
def w3() -> Web3:
    return new_web3()


@pytest.fixture
def acct(w3: Web3) -> list[str]:
    """accounts[0] founder, [1] founder's service node, the rest free to use."""
    return list(w3.eth.accounts)


def deploy_consortium(w3: Web3, acct: list[str], threshold: int = SIMPLE_MAJORITY) -> Contract:
    contract, _ = deploy(
        w3, "ConsortiumRegistry", acct[0], "Founding Notary", NOTARY, acct[1], threshold
    )
    return contract


@pytest.fixture
def consortium(w3: Web3, acct: list[str]) -> Contract:
    return deploy_consortium(w3, acct)


def propose_member(w3: Web3, c: Contract, proposer: str, member: str, name: str = "Org") -> int:
    receipt = transact(w3, c.functions.proposeAddMember(member, name, NOTARY, EVIDENCE), proposer)
    (created,) = events(c, "ProposalCreated", receipt)
    return int(created["id"])


def vote(w3: Web3, c: Contract, voter: str, pid: int, support: bool = True) -> dict[str, Any]:
    """Vote and report what happened."""
    receipt = transact(w3, c.functions.vote(pid, support), voter)
    return {
        "executed": bool(events(c, "ProposalExecuted", receipt)),
        "rejected": bool(events(c, "ProposalRejected", receipt)),
        "receipt": receipt,
    }


def admit(w3: Web3, c: Contract, member: str, name: str = "Org") -> None:
    """Admit ``member``: current members vote yes until the proposal executes."""
    voters = list(c.functions.getMembers().call())
    pid = propose_member(w3, c, voters[0], member, name)
    for voter in voters:
        if vote(w3, c, voter, pid)["executed"]:
            break
    assert c.functions.isMember(member).call()


def proposal(c: Contract, pid: int) -> dict[str, Any]:
    fields = [
        "id",
        "kind",
        "target",
        "name",
        "role",
        "nodeType",
        "nodeOwner",
        "thresholdBps",
        "evidenceHash",
        "proposer",
        "yesVotes",
        "noVotes",
        "createdBlock",
        "executed",
        "rejected",
    ]
    return dict(zip(fields, c.functions.getProposal(pid).call(), strict=True))


# ----------------------------------------------------------- construction


def test_founding_state(w3: Web3, acct: list[str]) -> None:
    contract, receipt = deploy(
        w3, "ConsortiumRegistry", acct[0], "Founding Notary", NOTARY, acct[1], SIMPLE_MAJORITY
    )
    assert contract.functions.thresholdBps().call() == SIMPLE_MAJORITY
    assert contract.functions.memberCount().call() == 1
    assert contract.functions.getMembers().call() == [acct[0]]
    assert contract.functions.isMember(acct[0]).call()
    assert tuple(contract.functions.getMember(acct[0]).call()) == (
        acct[0],
        NOTARY,
        block_timestamp(w3, receipt),
        "Founding Notary",
    )
    assert contract.functions.isNode(acct[1]).call()
    assert contract.functions.isServiceNode(acct[1]).call()
    assert not contract.functions.isServiceNode(acct[0]).call()
    assert tuple(contract.functions.getNode(acct[1]).call()) == (
        acct[1],
        acct[0],
        NodeType.SERVICE,
        block_timestamp(w3, receipt),
    )
    assert contract.functions.getNodes().call() == [acct[1]]
    assert contract.functions.getMemberNodes(acct[0]).call() == [acct[1]]
    assert contract.functions.proposalCount().call() == 0
    assert events(contract, "MemberAdded", receipt) == [
        {"member": acct[0], "name": "Founding Notary", "role": NOTARY}
    ]
    assert events(contract, "NodeAdded", receipt) == [
        {"node": acct[1], "owner": acct[0], "nodeType": NodeType.SERVICE}
    ]
    # Absent records read as zeros.
    assert tuple(contract.functions.getMember(acct[5]).call()) == (ZERO, b"\0" * 32, 0, "")
    assert tuple(contract.functions.getNode(acct[5]).call()) == (ZERO, ZERO, 0, 0)


@pytest.mark.parametrize(
    ("founder", "node", "threshold", "reason"),
    [
        (ZERO, 1, SIMPLE_MAJORITY, "zero_address"),
        (0, ZERO, SIMPLE_MAJORITY, "zero_address"),
        (0, 1, 0, "bad_threshold"),
        (0, 1, 10001, "bad_threshold"),
    ],
)
def test_constructor_rejects(
    w3: Web3, acct: list[str], founder: Any, node: Any, threshold: int, reason: str
) -> None:
    founder = acct[founder] if isinstance(founder, int) else founder
    node = acct[node] if isinstance(node, int) else node
    with reverts(reason):
        deploy(w3, "ConsortiumRegistry", founder, "F", NOTARY, node, threshold)


# ---------------------------------------------------------------- voting


def test_founder_alone_admits_a_second_member(
    w3: Web3, consortium: Contract, acct: list[str]
) -> None:
    receipt = transact(
        w3, consortium.functions.proposeAddMember(acct[2], "Second", NOTARY, EVIDENCE), acct[0]
    )
    assert events(consortium, "ProposalCreated", receipt) == [
        {
            "id": 1,
            "kind": Kind.ADD_MEMBER,
            "target": acct[2],
            "proposer": acct[0],
            "evidenceHash": EVIDENCE,
        }
    ]
    p = proposal(consortium, 1)
    assert (p["name"], p["role"], p["evidenceHash"], p["createdBlock"]) == (
        "Second",
        NOTARY,
        EVIDENCE,
        receipt["blockNumber"],
    )
    assert (p["yesVotes"], p["noVotes"], p["executed"], p["rejected"]) == (0, 0, False, False)
    # Proposing is not voting.
    assert not consortium.functions.isMember(acct[2]).call()

    outcome = vote(w3, consortium, acct[0], 1)
    assert outcome["executed"]
    assert events(consortium, "VoteCast", outcome["receipt"]) == [
        {"id": 1, "voter": acct[0], "support": True, "yesVotes": 1, "noVotes": 0}
    ]
    assert events(consortium, "MemberAdded", outcome["receipt"]) == [
        {"member": acct[2], "name": "Second", "role": NOTARY}
    ]
    assert consortium.functions.isMember(acct[2]).call()
    assert consortium.functions.memberCount().call() == 2
    assert proposal(consortium, 1)["executed"]
    assert consortium.functions.hasVoted(1, acct[0]).call()


def test_admission_by_two_thirds_of_three_members(w3: Web3, acct: list[str]) -> None:
    c = deploy_consortium(w3, acct, TWO_THIRDS)
    admit(w3, c, acct[2], "B")  # 1 of 1
    admit(w3, c, acct[3], "C")  # needs 2 of 2 (10000 < 6666 * 2)
    assert c.functions.memberCount().call() == 3

    pid = propose_member(w3, c, acct[2], acct[4], "D")
    assert not vote(w3, c, acct[3], pid)["executed"]
    assert not c.functions.isMember(acct[4]).call()
    assert vote(w3, c, acct[0], pid)["executed"]  # 2 of 3 >= 2/3
    assert c.functions.isMember(acct[4]).call()
    assert c.functions.getMembers().call() == [acct[0], acct[2], acct[3], acct[4]]
    with reverts("proposal_closed"):
        c.functions.vote(pid, True).transact({"from": acct[2]})


def test_non_member_cannot_vote_or_propose(w3: Web3, consortium: Contract, acct: list[str]) -> None:
    pid = propose_member(w3, consortium, acct[0], acct[2])
    with reverts("not_member"):
        consortium.functions.vote(pid, True).transact({"from": acct[2]})
    # A node is not a member either.
    with reverts("not_member"):
        consortium.functions.vote(pid, True).transact({"from": acct[1]})
    with reverts("not_member"):
        consortium.functions.proposeAddMember(acct[5], "X", NOTARY, EVIDENCE).transact(
            {"from": acct[5]}
        )
    with reverts("not_member"):
        consortium.functions.proposeAddNode(acct[5], acct[0], NodeType.SERVICE, EVIDENCE).transact(
            {"from": acct[5]}
        )


def test_double_vote_rejected(w3: Web3, acct: list[str]) -> None:
    c = deploy_consortium(w3, acct, TWO_THIRDS)
    admit(w3, c, acct[2])
    pid = propose_member(w3, c, acct[0], acct[3])
    vote(w3, c, acct[0], pid)
    with reverts("already_voted"):
        c.functions.vote(pid, True).transact({"from": acct[0]})
    with reverts("already_voted"):
        c.functions.vote(pid, False).transact({"from": acct[0]})
    assert proposal(c, pid)["yesVotes"] == 1


def test_unknown_proposal(consortium: Contract, acct: list[str]) -> None:
    for pid in (0, 1, 99):
        with reverts("unknown_proposal"):
            consortium.functions.vote(pid, True).transact({"from": acct[0]})
    with reverts("unknown_proposal"):
        consortium.functions.getProposal(1).call()


def test_rejection_when_passing_becomes_impossible(w3: Web3, acct: list[str]) -> None:
    c = deploy_consortium(w3, acct, TWO_THIRDS)
    admit(w3, c, acct[2])
    admit(w3, c, acct[3])
    pid = propose_member(w3, c, acct[0], acct[4])
    # One no of three: the two others could still pass it (2 * 10000 >= 19998).
    assert not vote(w3, c, acct[0], pid, support=False)["rejected"]
    outcome = vote(w3, c, acct[2], pid, support=False)
    assert outcome["rejected"] and not outcome["executed"]
    p = proposal(c, pid)
    assert (p["noVotes"], p["rejected"], p["executed"]) == (2, True, False)
    with reverts("proposal_closed"):
        c.functions.vote(pid, True).transact({"from": acct[3]})
    assert not c.functions.isMember(acct[4]).call()


# ------------------------------------------------------- threshold math


def _decisive_votes(w3: Web3, acct: list[str], threshold: int, members: int) -> tuple[int, int]:
    """(yes votes that execute, no votes that reject) a fresh proposal."""
    c = deploy_consortium(w3, acct, threshold)
    for i in range(members - 1):
        admit(w3, c, acct[2 + i])
    voters = c.functions.getMembers().call()
    assert len(voters) == members

    yes_pid = propose_member(w3, c, voters[0], acct[8])
    no_pid = propose_member(w3, c, voters[0], acct[9])
    needed_yes = needed_no = 0
    # No votes first: executing the other proposal changes the member count.
    for n, voter in enumerate(voters, start=1):
        if vote(w3, c, voter, no_pid, support=False)["rejected"]:
            needed_no = n
            break
    for n, voter in enumerate(voters, start=1):
        if vote(w3, c, voter, yes_pid)["executed"]:
            needed_yes = n
            break
    return needed_yes, needed_no


@pytest.mark.parametrize(
    ("threshold", "members", "yes", "no"),
    [
        (SIMPLE_MAJORITY, 1, 1, 1),
        (SIMPLE_MAJORITY, 2, 2, 1),
        (5000, 2, 1, 2),  # exactly half passes at 50.00%
        (SIMPLE_MAJORITY, 3, 2, 2),
        (TWO_THIRDS, 3, 2, 2),
        (6667, 3, 3, 1),  # one bp more than 2/3 of 3 needs everyone
        (10000, 3, 3, 1),  # unanimity: a single no kills it
        (1, 3, 1, 3),  # any yes passes; only a unanimous no rejects
    ],
)
def test_threshold_edges(
    w3: Web3, acct: list[str], threshold: int, members: int, yes: int, no: int
) -> None:
    # Check the table against the contract's documented formula first.
    assert yes == next(y for y in range(1, members + 1) if y * 10000 >= threshold * members)
    assert no == next(
        n for n in range(1, members + 1) if (members - n) * 10000 < threshold * members
    )
    assert _decisive_votes(w3, acct, threshold, members) == (yes, no)


def test_set_threshold_by_proposal(w3: Web3, consortium: Contract, acct: list[str]) -> None:
    with reverts("bad_threshold"):
        consortium.functions.proposeSetThreshold(0, EVIDENCE).transact({"from": acct[0]})
    with reverts("bad_threshold"):
        consortium.functions.proposeSetThreshold(10001, EVIDENCE).transact({"from": acct[0]})
    receipt = transact(w3, consortium.functions.proposeSetThreshold(7500, EVIDENCE), acct[0])
    (created,) = events(consortium, "ProposalCreated", receipt)
    assert (created["kind"], created["target"]) == (Kind.SET_THRESHOLD, ZERO)
    outcome = vote(w3, consortium, acct[0], created["id"])
    assert events(consortium, "ThresholdChanged", outcome["receipt"]) == [
        {"previousBps": SIMPLE_MAJORITY, "newBps": 7500}
    ]
    assert consortium.functions.thresholdBps().call() == 7500


# ------------------------------------------------------ members and nodes


def test_member_removal_by_vote_removes_its_nodes(w3: Web3, acct: list[str]) -> None:
    c = deploy_consortium(w3, acct, TWO_THIRDS)
    admit(w3, c, acct[2], "B")
    admit(w3, c, acct[3], "C")
    # B runs a service node and a producer node.
    for node, kind in ((acct[5], NodeType.SERVICE), (acct[6], NodeType.PRODUCER)):
        receipt = transact(w3, c.functions.proposeAddNode(node, acct[2], kind, EVIDENCE), acct[2])
        pid = events(c, "ProposalCreated", receipt)[0]["id"]
        vote(w3, c, acct[2], pid)
        vote(w3, c, acct[3], pid)
    assert c.functions.getMemberNodes(acct[2]).call() == [acct[5], acct[6]]
    assert c.functions.isServiceNode(acct[5]).call()
    assert not c.functions.isServiceNode(acct[6]).call()
    assert c.functions.isNode(acct[6]).call()

    receipt = transact(w3, c.functions.proposeRemoveMember(acct[2], EVIDENCE), acct[0])
    pid = events(c, "ProposalCreated", receipt)[0]["id"]
    vote(w3, c, acct[0], pid)
    outcome = vote(w3, c, acct[3], pid)
    assert outcome["executed"]
    assert events(c, "MemberRemoved", outcome["receipt"]) == [{"member": acct[2]}]
    assert sorted(e["node"] for e in events(c, "NodeRemoved", outcome["receipt"])) == sorted(
        [acct[5], acct[6]]
    )
    assert not c.functions.isMember(acct[2]).call()
    assert c.functions.memberCount().call() == 2
    assert c.functions.getMembers().call() == [acct[0], acct[3]]  # swap-and-pop
    for node in (acct[5], acct[6]):
        assert not c.functions.isNode(node).call()
        assert tuple(c.functions.getNode(node).call()) == (ZERO, ZERO, 0, 0)
    assert not c.functions.isServiceNode(acct[5]).call()
    assert c.functions.getMemberNodes(acct[2]).call() == []
    assert c.functions.getNodes().call() == [acct[1]]
    assert not c.functions.getMember(acct[2]).call()[2]  # joinedAt zeroed
    # The removed member can no longer vote.
    with reverts("not_member"):
        c.functions.proposeSetThreshold(5001, EVIDENCE).transact({"from": acct[2]})


def test_removed_members_nodes_lose_anchoring_rights(w3: Web3, acct: list[str]) -> None:
    c = deploy_consortium(w3, acct)
    anchors, _ = deploy(w3, "AnchorRegistry", c.address)
    admit(w3, c, acct[2])
    receipt = transact(
        w3, c.functions.proposeAddNode(acct[5], acct[2], NodeType.SERVICE, EVIDENCE), acct[2]
    )
    pid = events(c, "ProposalCreated", receipt)[0]["id"]
    vote(w3, c, acct[0], pid)
    vote(w3, c, acct[2], pid)
    transact(w3, anchors.functions.anchor(keccak(b"batch 1"), 3, b32("evidence")), acct[5])

    receipt = transact(w3, c.functions.proposeRemoveMember(acct[2], EVIDENCE), acct[0])
    pid = events(c, "ProposalCreated", receipt)[0]["id"]
    vote(w3, c, acct[0], pid)
    assert vote(w3, c, acct[2], pid)["executed"]  # a member may vote for its own removal
    with reverts("not_service_node"):
        anchors.functions.anchor(keccak(b"batch 2"), 3, b32("evidence")).transact({"from": acct[5]})
    # The first anchoring stays on record.
    assert anchors.functions.lookup(keccak(b"batch 1")).call()[4] == acct[5]
    # The founder's service node still anchors.
    transact(w3, anchors.functions.anchor(keccak(b"batch 2"), 3, b32("evidence")), acct[1])


def test_last_member_cannot_be_removed(w3: Web3, acct: list[str]) -> None:
    c = deploy_consortium(w3, acct)
    with reverts("last_member"):
        c.functions.proposeRemoveMember(acct[0], EVIDENCE).transact({"from": acct[0]})
    # Nor by a proposal that went stale: two members each propose removing the other.
    admit(w3, c, acct[2])
    transact(w3, c.functions.proposeSetThreshold(10000, EVIDENCE), acct[0])
    vote(w3, c, acct[0], 2)  # 1 of 2 under 5001 is not enough...
    vote(w3, c, acct[2], 2)  # ... unanimity now required
    first = transact(w3, c.functions.proposeRemoveMember(acct[2], EVIDENCE), acct[0])
    second = transact(w3, c.functions.proposeRemoveMember(acct[0], EVIDENCE), acct[2])
    pid1 = events(c, "ProposalCreated", first)[0]["id"]
    pid2 = events(c, "ProposalCreated", second)[0]["id"]
    vote(w3, c, acct[0], pid1)
    vote(w3, c, acct[2], pid2)
    vote(w3, c, acct[0], pid2)
    assert c.functions.getMembers().call() == [acct[2]]
    # acct[0] is gone, so pid1 can no longer be voted by it; the survivor alone
    # would now pass pid1 (1 of 1), but it would leave the consortium empty.
    with reverts("last_member"):
        c.functions.vote(pid1, True).transact({"from": acct[2]})
    assert c.functions.memberCount().call() == 1


def test_add_and_remove_node(w3: Web3, consortium: Contract, acct: list[str]) -> None:
    c = consortium
    with reverts("node_exists"):
        c.functions.proposeAddNode(acct[1], acct[0], NodeType.SERVICE, EVIDENCE).transact(
            {"from": acct[0]}
        )
    with reverts("unknown_member"):
        c.functions.proposeAddNode(acct[5], acct[4], NodeType.SERVICE, EVIDENCE).transact(
            {"from": acct[0]}
        )
    with reverts("bad_node_type"):
        c.functions.proposeAddNode(acct[5], acct[0], NodeType.NONE, EVIDENCE).transact(
            {"from": acct[0]}
        )
    with reverts("zero_address"):
        c.functions.proposeAddNode(ZERO, acct[0], NodeType.SERVICE, EVIDENCE).transact(
            {"from": acct[0]}
        )
    receipt = transact(
        w3, c.functions.proposeAddNode(acct[5], acct[0], NodeType.PRODUCER, EVIDENCE), acct[0]
    )
    pid = events(c, "ProposalCreated", receipt)[0]["id"]
    p = proposal(c, pid)
    assert (p["kind"], p["target"], p["nodeOwner"], p["nodeType"]) == (
        Kind.ADD_NODE,
        acct[5],
        acct[0],
        NodeType.PRODUCER,
    )
    outcome = vote(w3, c, acct[0], pid)
    assert events(c, "NodeAdded", outcome["receipt"]) == [
        {"node": acct[5], "owner": acct[0], "nodeType": NodeType.PRODUCER}
    ]
    assert c.functions.getNodes().call() == [acct[1], acct[5]]
    assert c.functions.isNode(acct[5]).call() and not c.functions.isServiceNode(acct[5]).call()

    with reverts("unknown_node"):
        c.functions.proposeRemoveNode(acct[6], EVIDENCE).transact({"from": acct[0]})
    receipt = transact(w3, c.functions.proposeRemoveNode(acct[1], EVIDENCE), acct[0])
    pid = events(c, "ProposalCreated", receipt)[0]["id"]
    outcome = vote(w3, c, acct[0], pid)
    assert events(c, "NodeRemoved", outcome["receipt"]) == [{"node": acct[1], "owner": acct[0]}]
    assert c.functions.getNodes().call() == [acct[5]]  # swap-and-pop
    assert c.functions.getMemberNodes(acct[0]).call() == [acct[5]]
    assert not c.functions.isServiceNode(acct[1]).call()


def test_propose_add_member_preconditions(consortium: Contract, acct: list[str]) -> None:
    with reverts("member_exists"):
        consortium.functions.proposeAddMember(acct[0], "again", NOTARY, EVIDENCE).transact(
            {"from": acct[0]}
        )
    with reverts("zero_address"):
        consortium.functions.proposeAddMember(ZERO, "nobody", NOTARY, EVIDENCE).transact(
            {"from": acct[0]}
        )
    with reverts("unknown_member"):
        consortium.functions.proposeRemoveMember(acct[4], EVIDENCE).transact({"from": acct[0]})


def test_stale_proposal_cannot_execute(w3: Web3, acct: list[str]) -> None:
    c = deploy_consortium(w3, acct, 10000)
    admit(w3, c, acct[2])
    first = propose_member(w3, c, acct[0], acct[3])
    second = propose_member(w3, c, acct[2], acct[3])
    vote(w3, c, acct[0], first)
    vote(w3, c, acct[0], second)
    assert vote(w3, c, acct[2], first)["executed"]
    assert not vote(w3, c, acct[2], second)["executed"]  # 2 of now 3 members
    with reverts("member_exists"):
        c.functions.vote(second, True).transact({"from": acct[3]})
    # It can still be voted down and closed.
    assert vote(w3, c, acct[3], second, support=False)["rejected"]


def test_proposal_ids_and_count(w3: Web3, consortium: Contract, acct: list[str]) -> None:
    ids = [propose_member(w3, consortium, acct[0], acct[i]) for i in (4, 5, 6)]
    assert ids == [1, 2, 3]
    assert consortium.functions.proposalCount().call() == 3
    assert proposal(consortium, 2)["target"] == acct[5]
    assert proposal(consortium, 2)["proposer"] == acct[0]
