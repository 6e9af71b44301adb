"""Consortium membership: organisations apply with a checked certificate, members vote on chain.

Issue 3 §8, on ``ConsortiumRegistry`` (chain_adapter/contracts/ConsortiumRegistry.sol),
which holds the members, their nodes and the proposals that change them.

1. :meth:`ConsortiumService.apply` takes an application signed with the
   organisation's DID key and its node key (issue 9 item 10; the payload is in
   :mod:`did_registry.consortium.application`). It checks that both signatures are
   there, the DID, the addresses and the node type, that the signatures were made for
   this chain and registry and have not expired
   (:mod:`did_registry.consortium.verification`), the certificate chain
   (:mod:`did_registry.consortium.x509_checks`), that the signatures cover that chain and verify
   and that the certificate names the organisation, that the nonce is new, then what
   the contract would check (the hub is a member, the node is not yet one). Any
   refusal records and sends nothing. It records the application (with the signed
   document) and the hub proposes
   ``AddMember(organisation, O of the certificate, role, evidenceHash)``.
2. Members vote (:meth:`vote`). The contract admits a node only for a current
   member, so once the member proposal has executed, :meth:`advance` has the hub
   propose ``AddNode(node, organisation, type, evidenceHash)``; once that executes
   the node is admitted, and a Service node may anchor.

The organisation's member address is the identity of its did:ethr (on this
chain); a did:key names no Ethereum account, so it needs an explicit address.
``evidenceHash`` is SHA-256 of the validated certificate path (see
:func:`did_registry.consortium.certificates.evidence_hash`), stored with the application.

Every transaction is preceded by calls that check what the contract would check,
so a request that would revert raises before anything is signed (gas estimation
in the transactor is the last guard: a revert there sends nothing either). Votes
cast on chain by other members' hubs are noticed by :meth:`advance`, which the
hub runs after each vote and should also run periodically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.contract import BoundContract
from chain_adapter.deploy import role_bytes32
from chain_adapter.errors import ChainError
from chain_adapter.transactor import Transactor
from did_registry.consortium.application import SignedApplication, require_signatures
from did_registry.consortium.certificates import load_certificates, load_crl
from did_registry.consortium.chain import ConsortiumChain, checked_address
from did_registry.consortium.models import (
    Application,
    ApplicationState,
    ConsortiumApplication,
    Member,
    Node,
    NodeType,
    Proposal,
    ProposalKind,
    VoteOutcome,
)
from did_registry.consortium.records import ApplicationRecords
from did_registry.consortium.verification import ApplicationVerifier, member_address
from did_registry.consortium.x509_checks import CheckedOrganisation, check_organisation_certificate
from did_registry.errors import (
    ConsortiumError,
    ConsortiumMisconfigured,
    DidError,
    InvalidApplication,
)
from did_registry.ethr.did import Networks
from did_registry.resolution import DidResolver

__all__ = ["ConsortiumService", "checked_address", "service_from_files"]

log = logging.getLogger(__name__)

DEFAULT_ROLE = "member"
# A submission whose proposal is not on chain after this long was never sent.
STALE_SUBMISSION = timedelta(minutes=10)

Crls = Sequence[x509.CertificateRevocationList]
_T = TypeVar("_T")


class ConsortiumService:
    """Applications, proposals and votes of one hub on one ``ConsortiumRegistry``.

    ``transactor`` is the hub's member account (the founding node in ``deploy_all``);
    it proposes, and votes when no other voter is given. ``resolver`` is the hub's DID
    resolver: applicants' DID keys are looked up through it. ``crls`` may be a
    callable, so that refreshed CRL files are used without a restart. ``networks`` are
    the did:ethr network names the resolver serves; those of this chain are accepted in
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
        resolver: DidResolver,
        role: str = DEFAULT_ROLE,
        networks: Networks | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._chain = ConsortiumChain(consortium, transactor)
        self._consortium = consortium
        self._transactor = transactor
        self._records = ApplicationRecords(sessions, consortium.address)
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
        self._verifier = ApplicationVerifier(resolver, self._chain_id, consortium.address, clock)
        # One proposer at a time: advance() must not propose the same node twice.
        self._lock = threading.RLock()

    @property
    def hub_address(self) -> str:
        return self._transactor.address

    # -- applying ---------------------------------------------------------------------

    def apply(self, application: SignedApplication) -> Application:
        """Check, record and propose a signed application; see the module docstring."""
        organisation, node, kind, checked = self._check_application(application)
        content = application.content
        evidence = checked.evidence_hash
        with self._lock:
            is_member = self._require_admissible(organisation, node, checked.organisation)
            nonce = "0x" + content.nonce.hex()
            self._records.require_new_nonce(nonce)
            self._records.require_no_open_application(node)
            row = ConsortiumApplication(
                chain_id=self._chain_id,
                consortium_address=self._consortium.address,
                organisation_name=checked.organisation,
                organisation_address=organisation,
                common_name=checked.common_name,
                did=content.did,
                node_address=node,
                node_type=int(kind),
                certificate_chain_pem=checked.path_pem,
                fingerprint=checked.fingerprint_sha256,
                evidence_hash="0x" + evidence.hex(),
                nonce=nonce,
                signed_application=json.dumps(application.to_json(), sort_keys=True),
                state=ApplicationState.SUBMITTED,
            )
            # Recorded before sending: a crash after the send leaves a row advance() reconciles.
            self._records.add(row)
            try:
                if is_member:
                    pid = self._chain.propose(
                        "proposeAddNode", node, organisation, int(kind), evidence
                    )
                    changes = {"node_proposal_id": pid, "state": ApplicationState.NODE_PROPOSED}
                else:
                    pid = self._chain.propose(
                        "proposeAddMember", organisation, checked.organisation, self._role, evidence
                    )
                    changes = {"member_proposal_id": pid, "state": ApplicationState.MEMBER_PROPOSED}
            except (DidError, ChainError) as exc:
                self._update(row.id, state=ApplicationState.FAILED, last_error=str(exc)[:500])
                raise
            return self._update(row.id, **changes)

    def _check_application(
        self, application: SignedApplication
    ) -> tuple[str, str, NodeType, CheckedOrganisation]:
        """Member address, node address, node type and certificate, all checked off chain."""
        did_proof, node_signature = require_signatures(application)
        content = application.content
        organisation = member_address(content.did, content.organisation_address, self._networks)
        node = checked_address("node address", content.node_address)
        kind = NodeType.parse(content.node_type)
        self._verifier.check_target(application)
        checked = check_organisation_certificate(
            application.certificate_chain.encode("utf-8"),
            self._roots,
            at=self._clock(),
            crls=self._crls(),
        )
        self._verifier.check_claims(
            application,
            checked,
            organisation_address=organisation,
            node_address=node,
            did_proof=did_proof,
            node_signature=node_signature,
        )
        return organisation, node, kind, checked

    def _require_admissible(self, organisation: str, node: str, name: str) -> bool:
        """What the contract would check, and a member's registered ``name``; True if a member."""
        self._chain.require_member(self.hub_address, "the hub's account")
        if self._call("isNode", node):
            raise ConsortiumError(f"{node} is already a consortium node")
        is_member = bool(self._call("isMember", organisation))
        if is_member:
            registered = self._call("getMember", organisation)[3]
            if registered != name:
                raise InvalidApplication(
                    f"{organisation} is the member {registered!r}, but the certificate "
                    f"names {name!r}"
                )
        return is_member

    # -- voting and removal -------------------------------------------------------------

    def vote(self, proposal_id: int, support: bool, voter: Transactor | None = None) -> VoteOutcome:
        """Vote as ``voter`` (default: the hub); a non-member is refused before anything is sent."""
        voter = voter or self._transactor
        self._chain.require_member(voter.address, "the voter")
        proposal = self.proposal(proposal_id)
        if proposal.state != "open":
            raise ConsortiumError(f"proposal {proposal_id} is closed ({proposal.state})")
        if self._call("hasVoted", proposal_id, voter.address):
            raise ConsortiumError(f"{voter.address} has already voted on proposal {proposal_id}")
        receipt = self._chain.send(
            voter, f"vote on proposal {proposal_id}", "vote", proposal_id, support
        )
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
            self._chain.require_member(self.hub_address, "the hub's account")
            if not self._call("isMember", address):
                raise ConsortiumError(f"{address} is not a consortium member")
            if int(self._call("memberCount")) <= 1:
                raise ConsortiumError("the last member cannot be removed")
            evidence = hashlib.sha256(reason.encode()).digest() if reason else bytes(32)
            pid = self._chain.propose("proposeRemoveMember", address, evidence)
        return self.proposal(pid)

    # -- following the votes ------------------------------------------------------------

    def advance(self) -> list[Application]:
        """Move open applications on after votes (here or elsewhere); returns those that moved."""
        moved = []
        with self._lock:
            for row in self._records.open_rows():
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
            pid = self._chain.propose(
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
        return self._chain.proposal(proposal_id)

    def proposals(self, *, open_only: bool = False) -> list[Proposal]:
        return self._chain.proposals(open_only=open_only)

    def members(self) -> list[Member]:
        return self._chain.members()

    def nodes(self) -> list[Node]:
        return self._chain.nodes()

    def is_member(self, address: str) -> bool:
        return bool(self._call("isMember", checked_address("address", address)))

    def applications(self) -> list[Application]:
        return self._records.all()

    def application(self, application_id: int) -> Application:
        return self._records.get(application_id)

    # -- internals ----------------------------------------------------------------------

    def _call(self, fn_name: str, *args: Any) -> Any:
        return self._chain.call(fn_name, *args)

    def _update(self, application_id: int, **changes: Any) -> Application:
        return self._records.update(application_id, **changes)


def service_from_files(
    consortium: BoundContract,
    transactor: Transactor,
    sessions: sessionmaker[Session],
    trusted_ca_file: Path | None,
    crl_files: Sequence[Path] = (),
    *,
    resolver: DidResolver,
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

    return ConsortiumService(
        consortium, transactor, sessions, roots, crls, resolver=resolver, networks=networks
    )


def _read(path: Path, parse: Callable[[bytes], _T], what: str) -> _T:
    try:
        return parse(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConsortiumMisconfigured(f"the {what} {path} cannot be used: {exc}") from None
