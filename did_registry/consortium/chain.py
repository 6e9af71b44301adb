"""The hub's side of ``ConsortiumRegistry`` (chain_adapter/contracts/ConsortiumRegistry.sol).

Issue 3 §8. Calls that read the contract's state (members, nodes, proposals) and the
transactions that change it (proposals, votes), with the contract's refusals turned
into the errors the hub's own pre-checks raise. :mod:`did_registry.consortium.service`
decides what to send; this module only knows how.
"""

from __future__ import annotations

from typing import Any

from eth_utils.address import is_address, to_checksum_address

from chain_adapter.contract import BoundContract
from chain_adapter.errors import CallReverted, TransactionReverted
from chain_adapter.protocol import Receipt
from chain_adapter.transactor import Transactor
from did_registry.consortium.models import Member, Node, NodeType, Proposal, role_label
from did_registry.errors import (
    ConsortiumError,
    DidError,
    InvalidApplication,
    NotAMember,
    UnknownProposal,
)

ZERO_ADDRESS = "0x" + "00" * 20


def checked_address(label: str, value: str) -> str:
    """``value`` checksummed and non-zero; mixed case must carry a valid EIP-55 checksum."""
    if not isinstance(value, str) or not is_address(value) or not value.startswith("0x"):
        raise InvalidApplication(f"the {label} {value!r} is not an Ethereum address (0x + 40 hex)")
    address = str(to_checksum_address(value))
    if address == to_checksum_address(ZERO_ADDRESS):
        raise InvalidApplication(f"the {label} must not be the zero address")
    return address


def refused(exc: CallReverted | TransactionReverted, action: str) -> DidError:
    """A contract refusal as the error the hub's own pre-checks would have raised."""
    reason = exc.reason or exc.message
    message = f"{action}: the consortium contract refused ({reason})"
    if exc.reason == "not_member":
        return NotAMember(message)
    if exc.reason == "unknown_proposal":
        return UnknownProposal(message)
    return ConsortiumError(message)


class ConsortiumChain:
    """``consortium`` as seen by the hub's member account ``transactor``."""

    def __init__(self, consortium: BoundContract, transactor: Transactor) -> None:
        self.contract = consortium
        self.transactor = transactor

    @property
    def address(self) -> str:
        return self.contract.address

    def call(self, fn_name: str, *args: Any) -> Any:
        return self.contract.call(fn_name, *args)

    def require_member(self, address: str, who: str) -> None:
        if not self.call("isMember", address):
            raise NotAMember(
                f"{who} {address} is not a consortium member: only members propose and vote"
            )

    def send(self, transactor: Transactor, action: str, fn_name: str, *args: Any) -> Receipt:
        try:
            return self.contract.transact(transactor, fn_name, *args)
        except (CallReverted, TransactionReverted) as exc:
            raise refused(exc, action) from None

    def propose(self, fn_name: str, *args: Any) -> int:
        """Send a proposal as the hub's account; its id."""
        receipt = self.send(self.transactor, fn_name, fn_name, *args)
        (created,) = self.contract.decode_logs(receipt, "ProposalCreated")
        return int(created.args["id"])

    # -- reading ------------------------------------------------------------------------

    def proposal_count(self) -> int:
        return int(self.call("proposalCount"))

    def proposal(self, proposal_id: int) -> Proposal:
        if not 1 <= proposal_id <= self.proposal_count():
            raise UnknownProposal(f"there is no proposal {proposal_id}")
        return Proposal.from_chain(self.call("getProposal", proposal_id))

    def proposals(self, *, open_only: bool = False) -> list[Proposal]:
        found = [self.proposal(i) for i in range(1, self.proposal_count() + 1)]
        return [p for p in found if p.state == "open"] if open_only else found

    def members(self) -> list[Member]:
        result = []
        for address in self.call("getMembers"):
            account, role, joined_at, name = self.call("getMember", address)
            nodes = tuple(self.call("getMemberNodes", address))
            result.append(Member(account, name, role_label(role), int(joined_at), nodes))
        return result

    def nodes(self) -> list[Node]:
        result = []
        for address in self.call("getNodes"):
            node, owner, node_type, added_at = self.call("getNode", address)
            result.append(Node(node, owner, NodeType(node_type), int(added_at)))
        return result
