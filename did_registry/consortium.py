"""Consortium membership: organisations apply with a checked certificate, members vote on chain.

Issue 3 §8, on ``ConsortiumRegistry`` (chain_adapter/contracts/ConsortiumRegistry.sol),
which holds the members, their nodes and the proposals that change them.

1. :meth:`ConsortiumService.apply` checks the certificate chain first
   (:mod:`did_registry.x509_checks`; a refusal sends nothing), then the DID, the
   addresses and the node type, then what the contract would check (the hub is a
   member, the node is not yet one). It records the application and the hub
   proposes ``AddMember(organisation, O of the certificate, role, evidenceHash)``.
2. Members vote (:meth:`vote`). The contract admits a node only for a current
   member, so once the member proposal has executed, :meth:`advance` has the hub
   propose ``AddNode(node, organisation, type, evidenceHash)``; once that executes
   the node is admitted, and a Service node may anchor.

The organisation's member address is the identity of its did:ethr (on this
chain); a did:key names no Ethereum account, so it needs an explicit address.
``evidenceHash`` is SHA-256 of the validated certificate path (see
:func:`did_registry.x509_checks.evidence_hash`), stored with the application.

Every transaction is preceded by calls that check what the contract would check,
so a request that would revert raises before anything is signed (gas estimation
in the transactor is the last guard: a revert there sends nothing either). Votes
cast on chain by other members' hubs are noticed by :meth:`advance`, which the
hub runs after each vote and should also run periodically.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from eth_utils.address import is_address, to_checksum_address
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.contract import BoundContract
from chain_adapter.deploy import role_bytes32
from chain_adapter.errors import CallReverted, ChainError, TransactionReverted
from chain_adapter.protocol import Receipt
from chain_adapter.transactor import Transactor
from did_registry.consortium_models import (
    OPEN_STATES,
    Application,
    ApplicationState,
    ConsortiumApplication,
    Member,
    Node,
    NodeType,
    Proposal,
    ProposalKind,
    VoteOutcome,
    role_label,
)
from did_registry.errors import (
    ConsortiumError,
    ConsortiumMisconfigured,
    DidError,
    InvalidApplication,
    InvalidDid,
    NotAMember,
    NotFound,
    UnknownProposal,
)
from did_registry.ethr_did import Networks, parse_ethr_did
from did_registry.x509_checks import check_organisation_certificate, load_certificates, load_crl

log = logging.getLogger(__name__)

ZERO_ADDRESS = "0x" + "00" * 20
DEFAULT_ROLE = "member"
# A submission whose proposal is not on chain after this long was never sent.
STALE_SUBMISSION = timedelta(minutes=10)
# did:key with a base58btc multibase key (W3C did:key §3.1); the key itself is not needed here.
_DID_KEY = re.compile(r"did:key:z[1-9A-HJ-NP-Za-km-z]{32,128}", re.ASCII)

Crls = Sequence[x509.CertificateRevocationList]
_T = TypeVar("_T")


def checked_address(label: str, value: str) -> str:
    """``value`` checksummed and non-zero; mixed case must carry a valid EIP-55 checksum."""
    if not isinstance(value, str) or not is_address(value) or not value.startswith("0x"):
        raise InvalidApplication(f"the {label} {value!r} is not an Ethereum address (0x + 40 hex)")
    address = str(to_checksum_address(value))
    if address == to_checksum_address(ZERO_ADDRESS):
        raise InvalidApplication(f"the {label} must not be the zero address")
    return address


def _refused(exc: CallReverted | TransactionReverted, action: str) -> DidError:
    """A contract refusal as the error the hub's own pre-checks would have raised."""
    reason = exc.reason or exc.message
    message = f"{action}: the consortium contract refused ({reason})"
    if exc.reason == "not_member":
        return NotAMember(message)
    if exc.reason == "unknown_proposal":
        return UnknownProposal(message)
    return ConsortiumError(message)


class ConsortiumService:
    """Applications, proposals and votes of one hub on one ``ConsortiumRegistry``.

    ``transactor`` is the hub's member account (the founding node in ``deploy_all``);
    it proposes, and votes when no other voter is given. ``crls`` may be a callable,
    so that refreshed CRL files are used without a restart. ``networks`` are the
    did:ethr network names the resolver serves; those of this chain are accepted in
    applicants' DIDs besides its hex chain id. Thread-safe.
    """

    def __init__(
        self,
        consortium: BoundContract,
        transactor: Transactor,
        sessions: sessionmaker[Session],
        trusted_roots: Sequence[x509.Certificate],
        crls: Crls | Callable[[], Crls] = (),
        *,
        role: str = DEFAULT_ROLE,
        networks: Networks | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._consortium = consortium
        self._transactor = transactor
        self._sessions = sessions
        self._roots = list(trusted_roots)
        self._crls = crls if callable(crls) else (lambda: crls)
        self._role = role_bytes32(role)
        self._clock = clock
        self._chain_id = transactor.chain.chain_id
        # Only names of this chain count: a member's DID must be an identity on it.
        self._networks = {
            label: chain_id
            for label, chain_id in (networks or {}).items()
            if chain_id == self._chain_id
        } | {self._chain_id: self._chain_id}
        # One proposer at a time: advance() must not propose the same node twice.
        self._lock = threading.RLock()

    @property
    def hub_address(self) -> str:
        return self._transactor.address

    # -- applying ---------------------------------------------------------------------

    def apply(
        self,
        chain_pem: bytes,
        did: str,
        node_address: str,
        node_type: NodeType | int | str,
        organisation_address: str | None = None,
    ) -> Application:
        """Check, record and propose an organisation's application; see the module docstring."""
        checked = check_organisation_certificate(
            chain_pem, self._roots, at=self._clock(), crls=self._crls()
        )
        organisation = self._organisation_address(did, organisation_address)
        node = checked_address("node address", node_address)
        kind = NodeType.parse(node_type)
        evidence = checked.evidence_hash
        with self._lock:
            self._require_member(self.hub_address, "the hub's account")
            if self._call("isNode", node):
                raise ConsortiumError(f"{node} is already a consortium node")
            is_member = bool(self._call("isMember", organisation))
            if is_member:
                registered = self._call("getMember", organisation)[3]
                if registered != checked.organisation:
                    raise InvalidApplication(
                        f"{organisation} is the member {registered!r}, but the certificate "
                        f"names {checked.organisation!r}"
                    )
            self._require_no_open_application(node)
            row = ConsortiumApplication(
                chain_id=self._chain_id,
                consortium_address=self._consortium.address,
                organisation_name=checked.organisation,
                organisation_address=organisation,
                common_name=checked.common_name,
                did=did,
                node_address=node,
                node_type=int(kind),
                certificate_chain_pem=checked.path_pem,
                fingerprint=checked.fingerprint_sha256,
                evidence_hash="0x" + evidence.hex(),
                state=ApplicationState.SUBMITTED,
            )
            # Recorded before sending: a crash after the send leaves a row advance() reconciles.
            with self._sessions() as session, session.begin():
                session.add(row)
            try:
                if is_member:
                    pid = self._propose("proposeAddNode", node, organisation, int(kind), evidence)
                    changes = {"node_proposal_id": pid, "state": ApplicationState.NODE_PROPOSED}
                else:
                    pid = self._propose(
                        "proposeAddMember", organisation, checked.organisation, self._role, evidence
                    )
                    changes = {"member_proposal_id": pid, "state": ApplicationState.MEMBER_PROPOSED}
            except (DidError, ChainError) as exc:
                self._update(row.id, state=ApplicationState.FAILED, last_error=str(exc)[:500])
                raise
            return self._update(row.id, **changes)

    def _organisation_address(self, did: str, explicit: str | None) -> str:
        if not isinstance(did, str) or len(did) > 256:
            raise InvalidDid("a DID is a string of at most 256 characters")
        if did.startswith("did:key:"):
            if not _DID_KEY.fullmatch(did):
                raise InvalidDid(f"{did!r} is not a did:key with a base58btc (z...) key")
            if explicit is None:
                raise InvalidApplication(
                    "a did:key names no Ethereum account: give the organisation address"
                )
            return checked_address("organisation address", explicit)
        if not did.startswith("did:ethr:"):
            raise InvalidDid(f"{did[:32]!r} is neither a did:ethr nor a did:key")
        parsed = parse_ethr_did(did, networks=self._networks)
        if explicit is not None and checked_address("organisation address", explicit) != (
            parsed.address
        ):
            raise InvalidApplication(
                f"the organisation address {explicit} is not the identity {parsed.address} of {did}"
            )
        return parsed.address

    def _require_no_open_application(self, node: str) -> None:
        with self._sessions() as session:
            open_one = session.scalars(
                select(ConsortiumApplication).where(
                    ConsortiumApplication.node_address == node,
                    ConsortiumApplication.consortium_address == self._consortium.address,
                    ConsortiumApplication.state.in_(OPEN_STATES),
                )
            ).first()
        if open_one is not None:
            raise ConsortiumError(
                f"application {open_one.id} for node {node} is still open ({open_one.state.value})"
            )

    # -- voting and removal -------------------------------------------------------------

    def vote(self, proposal_id: int, support: bool, voter: Transactor | None = None) -> VoteOutcome:
        """Vote as ``voter`` (default: the hub); a non-member is refused before anything is sent."""
        voter = voter or self._transactor
        self._require_member(voter.address, "the voter")
        proposal = self.proposal(proposal_id)
        if proposal.state != "open":
            raise ConsortiumError(f"proposal {proposal_id} is closed ({proposal.state})")
        if self._call("hasVoted", proposal_id, voter.address):
            raise ConsortiumError(f"{voter.address} has already voted on proposal {proposal_id}")
        receipt = self._send(voter, f"vote on proposal {proposal_id}", "vote", proposal_id, support)
        (cast,) = self._consortium.decode_logs(receipt, "VoteCast")
        outcome = VoteOutcome(
            proposal_id=proposal_id,
            voter=voter.address,
            support=support,
            yes_votes=int(cast.args["yesVotes"]),
            no_votes=int(cast.args["noVotes"]),
            executed=bool(self._consortium.decode_logs(receipt, "ProposalExecuted")),
            rejected=bool(self._consortium.decode_logs(receipt, "ProposalRejected")),
            transaction_hash=receipt.transaction_hash,
        )
        if outcome.executed or outcome.rejected:
            self.advance()
        return outcome

    def propose_removal(self, member: str, reason: str | None = None) -> Proposal:
        """Propose removing ``member`` and all its nodes; ``evidenceHash`` = SHA-256(reason)."""
        address = checked_address("member address", member)
        with self._lock:
            self._require_member(self.hub_address, "the hub's account")
            if not self._call("isMember", address):
                raise ConsortiumError(f"{address} is not a consortium member")
            if int(self._call("memberCount")) <= 1:
                raise ConsortiumError("the last member cannot be removed")
            evidence = hashlib.sha256(reason.encode()).digest() if reason else bytes(32)
            pid = self._propose("proposeRemoveMember", address, evidence)
        return self.proposal(pid)

    # -- following the votes ------------------------------------------------------------

    def advance(self) -> list[Application]:
        """Move open applications on after votes (here or elsewhere); returns those that moved."""
        moved = []
        with self._lock:
            with self._sessions() as session:
                rows = session.scalars(
                    select(ConsortiumApplication)
                    .where(
                        ConsortiumApplication.consortium_address == self._consortium.address,
                        ConsortiumApplication.state.in_(OPEN_STATES),
                    )
                    .order_by(ConsortiumApplication.id)
                ).all()
            for row in rows:
                try:
                    changed = self._advance_one(row)
                except ChainError as exc:  # the chain is away: try again next time
                    log.warning("consortium application %s not advanced: %s", row.id, exc.message)
                    continue
                if changed is not None:
                    moved.append(changed)
        return moved

    def _advance_one(self, row: ConsortiumApplication) -> Application | None:
        if row.state is ApplicationState.SUBMITTED:
            return self._reconcile(row)
        if row.state is ApplicationState.NODE_PROPOSED:
            assert row.node_proposal_id is not None
            node_vote = self.proposal(row.node_proposal_id)
            if node_vote.state == "open":
                return None
            done = ApplicationState.ADMITTED if node_vote.executed else ApplicationState.REJECTED
            return self._update(row.id, state=done)
        assert row.member_proposal_id is not None
        member_vote = self.proposal(row.member_proposal_id)
        if member_vote.rejected:
            return self._update(row.id, state=ApplicationState.REJECTED)
        if not member_vote.executed:
            return None
        try:
            pid = self._propose(
                "proposeAddNode",
                row.node_address,
                row.organisation_address,
                row.node_type,
                bytes.fromhex(row.evidence_hash[2:]),
            )
        except DidError as exc:
            return self._update(row.id, state=ApplicationState.FAILED, last_error=exc.message)
        return self._update(row.id, node_proposal_id=pid, state=ApplicationState.NODE_PROPOSED)

    def _reconcile(self, row: ConsortiumApplication) -> Application | None:
        """A row left SUBMITTED by a crash: adopt its proposal if the chain has it."""
        created = self._consortium.events(
            "ProposalCreated",
            from_block=0,
            argument_filters={"target": [row.organisation_address, row.node_address]},
        )
        for event in created:
            if "0x" + bytes(event.args["evidenceHash"]).hex() != row.evidence_hash:
                continue
            pid = int(event.args["id"])
            if event.args["kind"] == ProposalKind.ADD_MEMBER:
                return self._update(
                    row.id, member_proposal_id=pid, state=ApplicationState.MEMBER_PROPOSED
                )
            return self._update(row.id, node_proposal_id=pid, state=ApplicationState.NODE_PROPOSED)
        created_at = row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC)
        if self._clock() - created_at > STALE_SUBMISSION:
            note = "no proposal reached the chain; apply again"
            return self._update(row.id, state=ApplicationState.FAILED, last_error=note)
        return None

    # -- reading ------------------------------------------------------------------------

    def proposal(self, proposal_id: int) -> Proposal:
        if not 1 <= proposal_id <= int(self._call("proposalCount")):
            raise UnknownProposal(f"there is no proposal {proposal_id}")
        return Proposal.from_chain(self._call("getProposal", proposal_id))

    def proposals(self, *, open_only: bool = False) -> list[Proposal]:
        found = [self.proposal(i) for i in range(1, int(self._call("proposalCount")) + 1)]
        return [p for p in found if p.state == "open"] if open_only else found

    def members(self) -> list[Member]:
        result = []
        for address in self._call("getMembers"):
            account, role, joined_at, name = self._call("getMember", address)
            nodes = tuple(self._call("getMemberNodes", address))
            result.append(Member(account, name, role_label(role), int(joined_at), nodes))
        return result

    def nodes(self) -> list[Node]:
        result = []
        for address in self._call("getNodes"):
            node, owner, node_type, added_at = self._call("getNode", address)
            result.append(Node(node, owner, NodeType(node_type), int(added_at)))
        return result

    def is_member(self, address: str) -> bool:
        return bool(self._call("isMember", checked_address("address", address)))

    def applications(self) -> list[Application]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ConsortiumApplication)
                .where(ConsortiumApplication.consortium_address == self._consortium.address)
                .order_by(ConsortiumApplication.id)
            ).all()
        return [Application.from_row(row) for row in rows]

    def application(self, application_id: int) -> Application:
        with self._sessions() as session:
            row = session.get(ConsortiumApplication, application_id)
        if row is None or row.consortium_address != self._consortium.address:
            raise NotFound(f"there is no consortium application {application_id}")
        return Application.from_row(row)

    # -- internals ----------------------------------------------------------------------

    def _call(self, fn_name: str, *args: Any) -> Any:
        return self._consortium.call(fn_name, *args)

    def _require_member(self, address: str, who: str) -> None:
        if not self._call("isMember", address):
            raise NotAMember(
                f"{who} {address} is not a consortium member: only members propose and vote"
            )

    def _send(self, transactor: Transactor, action: str, fn_name: str, *args: Any) -> Receipt:
        try:
            return self._consortium.transact(transactor, fn_name, *args)
        except (CallReverted, TransactionReverted) as exc:
            raise _refused(exc, action) from None

    def _propose(self, fn_name: str, *args: Any) -> int:
        receipt = self._send(self._transactor, fn_name, fn_name, *args)
        (created,) = self._consortium.decode_logs(receipt, "ProposalCreated")
        return int(created.args["id"])

    def _update(self, application_id: int, **changes: Any) -> Application:
        with self._sessions() as session, session.begin():
            row = session.get(ConsortiumApplication, application_id)
            assert row is not None
            for name, value in changes.items():
                setattr(row, name, value)
        return Application.from_row(row)


def service_from_files(
    consortium: BoundContract,
    transactor: Transactor,
    sessions: sessionmaker[Session],
    trusted_ca_file: Path | None,
    crl_files: Sequence[Path] = (),
    *,
    networks: Networks | None = None,
) -> ConsortiumService:
    """The service with its roots read from a PEM bundle now and its CRLs on every check.

    CRL files are re-read per application so that a refreshed CRL takes effect
    without a restart (a stale one refuses applications, see ``x509_checks``). A file
    that cannot be read or parsed raises :class:`ConsortiumMisconfigured`.
    """
    roots = (
        _read(trusted_ca_file, load_certificates, "trusted CA bundle") if trusted_ca_file else []
    )
    paths = list(crl_files)

    def crls() -> list[x509.CertificateRevocationList]:
        return [_read(path, load_crl, "CRL") for path in paths]

    return ConsortiumService(consortium, transactor, sessions, roots, crls, networks=networks)


def _read(path: Path, parse: Callable[[bytes], _T], what: str) -> _T:
    try:
        return parse(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConsortiumMisconfigured(f"the {what} {path} cannot be used: {exc}") from None
