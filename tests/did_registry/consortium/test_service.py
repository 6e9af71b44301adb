"""Consortium membership end to end: the embedded chain, the deployed contracts, a real database.

The hub's node account founds the consortium (``deploy_all``); organisations B and
C apply with certificates from a CA made in ``test_x509_checks``, each application
signed by the organisation's DID key and its node key (B a did:ethr, C an Ed25519
did:key) and checked through a real DID resolver walking the chain; members vote
from their own accounts; an admitted Service node anchors, and stops being able
to once its member is voted out. Every refusal is checked to have sent nothing:
the senders' nonces and the block height do not move.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.deploy import Deployment, deploy_all
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.errors import CallReverted
from chain_adapter.transactor import Transactor
from did_registry import errors
from did_registry.consortium.application import SignedApplication
from did_registry.consortium.models import (
    ApplicationState,
    ConsortiumApplication,
    NodeType,
    ProposalKind,
    to_json,
)
from did_registry.consortium.service import ConsortiumService, service_from_files
from did_registry.consortium.signing import DidSigningKey
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.resolver import EthrResolver
from tests.did_registry.application_support import ed25519_did, make_application
from tests.did_registry.consortium.test_x509_checks import NOW, Pki, issue, make_crl, make_pki

CHAIN_ID = 0x539
FUNDS = 10**24
DID_KEY, DID_KEY_SECRET = ed25519_did(bytes(range(7, 39)))  # organisation C's


@dataclass
class World:
    chain: EmbeddedChain
    deployment: Deployment
    service: ConsortiumService
    sessions: sessionmaker[Session]
    pki: Pki
    accounts: dict[str, LocalAccount]
    resolver: DispatchingResolver

    def transactor(self, name: str) -> Transactor:
        return Transactor(self.chain, self.accounts[name], receipt_timeout=30, poll_interval=0.02)

    def address(self, name: str) -> str:
        return str(self.accounts[name].address)

    def chain_for(self, organisation: str, common_name: str = "node.example") -> bytes:
        return self.pki.chain(self.pki.leaf_for(common_name, organisation), self.pki.inter)

    def did(self, name: str) -> str:
        return f"did:ethr:{hex(CHAIN_ID)}:{self.address(name)}"

    def application(
        self,
        organisation: str,
        did: str,
        node: str,
        node_type: str | int | NodeType,
        organisation_address: str | None = None,
        *,
        chain_pem: bytes | None = None,
        signer: DidSigningKey | None = None,
        node_address: str | None = None,
        **fields: object,
    ) -> SignedApplication:
        """``organisation``'s application for node account ``node``, signed by the DID's
        key (``did`` an account name: its did:ethr; DID_KEY: C's key) and the node's."""
        if not did.startswith("did:"):
            signer = signer or self.accounts[did]
            did = self.did(did)
        return make_application(
            chain_pem if chain_pem is not None else self.chain_for(organisation),
            organisation=organisation,
            did=did,
            did_key=signer or (DID_KEY_SECRET if did == DID_KEY else self.accounts["b"]),
            node_key=self.accounts[node],
            node_type=node_type,
            organisation_address=organisation_address,
            node_address=node_address,
            **{"chain_id": CHAIN_ID, "consortium": self.deployment.consortium.address, **fields},  # type: ignore[arg-type]
        )

    def activity(self) -> tuple[int, ...]:
        """Block height and every account's nonce: unchanged means nothing was sent."""
        nonces = (self.chain.get_transaction_count(a.address) for a in self.accounts.values())
        return (self.chain.block_number(), *nonces)

    def anchor(self, node: str, label: bytes) -> None:
        root = hashlib.sha256(label).digest()
        self.deployment.anchor_registry.transact(
            self.transactor(node), "anchor", root, 3, b"evidence".ljust(32, b"\0")
        )


@pytest.fixture
def world(tmp_path: Path, sessions: sessionmaker[Session]) -> Iterator[World]:
    names = ("hub", "b", "c", "node_b", "node_c", "outsider")
    accounts: dict[str, LocalAccount] = {name: Account.create() for name in names}
    chain = EmbeddedChain.open(
        tmp_path / "chain",
        chain_id=CHAIN_ID,
        prefund={a.address: FUNDS for a in accounts.values() if a is not accounts["outsider"]},
    )
    hub = Transactor(chain, accounts["hub"], receipt_timeout=30, poll_interval=0.02)
    deployment = deploy_all(hub, organisation_name="Founding Notary")
    pki = make_pki()
    walker = ChainWalkerSource(chain, deployment.did_registry.address)
    ethr = EthrResolver({CHAIN_ID: walker}, names={"notary": CHAIN_ID})
    resolver = DispatchingResolver({"ethr": ethr, "key": DidKeyResolver()})
    service = ConsortiumService(deployment.consortium, hub, sessions, pki.roots, resolver=resolver)
    try:
        yield World(chain, deployment, service, sessions, pki, accounts, resolver)
    finally:
        chain.close()


def test_admission_by_vote_from_one_to_three_members(world: World) -> None:
    service, hub = world.service, world.address("hub")
    assert [m.address for m in service.members()] == [hub]

    # B applies; the hub proposes B as a member, with the certificate path as evidence.
    app = service.apply(world.application("Org B", "b", "node_b", "service"))
    assert (app.state, app.member_proposal_id, app.node_proposal_id) == (
        ApplicationState.MEMBER_PROPOSED,
        1,
        None,
    )
    assert (app.organisation_name, app.organisation_address) == ("Org B", world.address("b"))
    member_vote = service.proposal(1)
    assert (member_vote.kind, member_vote.target, member_vote.name, member_vote.proposer) == (
        ProposalKind.ADD_MEMBER,
        world.address("b"),
        "Org B",
        hub,
    )
    assert member_vote.evidence_hash == app.evidence_hash

    # One member: the hub's yes executes, and the node proposal follows at once.
    outcome = service.vote(1, True)
    assert outcome.executed and (outcome.yes_votes, outcome.no_votes) == (1, 0)
    app = service.application(app.id)
    assert (app.state, app.node_proposal_id) == (ApplicationState.NODE_PROPOSED, 2)
    node_vote = service.proposal(2)
    assert (node_vote.kind, node_vote.target, node_vote.node_owner, node_vote.node_type) == (
        ProposalKind.ADD_NODE,
        world.address("node_b"),
        world.address("b"),
        NodeType.SERVICE,
    )
    assert node_vote.evidence_hash == app.evidence_hash
    with pytest.raises(CallReverted, match="not_service_node"):
        world.anchor("node_b", b"too early")

    # Two members under 50.01 %: both must say yes.
    assert not service.vote(2, True).executed
    assert service.vote(2, True, world.transactor("b")).executed
    assert service.application(app.id).state is ApplicationState.ADMITTED
    assert {n.address: (n.owner, n.node_type) for n in service.nodes()} == {
        hub: (hub, NodeType.SERVICE),
        world.address("node_b"): (world.address("b"), NodeType.SERVICE),
    }
    world.anchor("node_b", b"batch 1")  # an admitted Service node may anchor

    # C applies with a did:key (so with an explicit address) for a Producer node.
    c_app = service.apply(
        world.application("Org C", DID_KEY, "node_c", "producer", world.address("c"))
    )
    assert not service.vote(c_app.member_proposal_id or 0, True).executed  # 1 of 2
    assert service.vote(c_app.member_proposal_id or 0, True, world.transactor("b")).executed
    c_app = service.application(c_app.id)
    assert c_app.node_proposal_id is not None
    # Three members: two yes votes pass (2 * 10000 >= 5001 * 3).
    service.vote(c_app.node_proposal_id, True)
    assert service.vote(c_app.node_proposal_id, True, world.transactor("c")).executed
    assert service.application(c_app.id).state is ApplicationState.ADMITTED
    members = {m.address: m for m in service.members()}
    assert set(members) == {hub, world.address("b"), world.address("c")}
    assert (members[world.address("c")].name, members[world.address("c")].role) == (
        "Org C",
        "member",
    )
    assert members[world.address("c")].nodes == (world.address("node_c"),)
    with pytest.raises(CallReverted, match="not_service_node"):
        world.anchor("node_c", b"producers do not anchor")

    # Votes from a non-member (and from a node, which is not a member) send nothing.
    removal = service.propose_removal(world.address("b"), reason="left the consortium")
    assert removal.kind is ProposalKind.REMOVE_MEMBER
    assert removal.evidence_hash == "0x" + hashlib.sha256(b"left the consortium").hexdigest()
    before = world.activity()
    for name in ("outsider", "node_b"):
        with pytest.raises(errors.NotAMember, match="not a consortium member"):
            service.vote(removal.id, True, world.transactor(name))
    assert world.activity() == before

    # B is voted out: its node loses the right to anchor at once.
    service.vote(removal.id, True)
    assert service.vote(removal.id, True, world.transactor("c")).executed
    assert {m.address for m in service.members()} == {hub, world.address("c")}
    assert world.address("node_b") not in {n.address for n in service.nodes()}
    with pytest.raises(CallReverted, match="not_service_node"):
        world.anchor("node_b", b"batch 2")
    world.anchor("hub", b"batch 2")  # the founder's service node still anchors
    with pytest.raises(errors.NotAMember):
        service.vote(removal.id, False, world.transactor("b"))

    proposals = service.proposals()
    assert [p.id for p in proposals] == [1, 2, 3, 4, 5]
    assert all(p.state == "executed" for p in proposals)
    assert service.proposals(open_only=True) == []
    assert to_json(proposals[0])["kind"] == "add_member"


def test_evidence_hash_is_the_stored_path(world: World) -> None:
    app = world.service.apply(world.application("Org B", "b", "node_b", NodeType.PRODUCER))
    from did_registry.consortium.certificates import evidence_hash, load_certificates

    path = load_certificates(app.certificate_chain_pem.encode())
    assert path[-1] == world.pki.root.cert
    assert "0x" + evidence_hash(path).hex() == app.evidence_hash
    assert to_json(app)["nodeType"] == "producer"
    assert to_json(app)["state"] == "member_proposed"


def test_rejected_application(world: World) -> None:
    app = world.service.apply(world.application("Org B", "b", "node_b", "service"))
    outcome = world.service.vote(app.member_proposal_id or 0, False)
    assert outcome.rejected and not outcome.executed
    assert world.service.application(app.id).state is ApplicationState.REJECTED
    before = world.activity()
    with pytest.raises(errors.ConsortiumError, match="closed"):
        world.service.vote(app.member_proposal_id or 0, True)
    assert world.activity() == before


def test_bad_certificates_send_nothing(world: World) -> None:
    pki = world.pki
    expired = pki.leaf_for("old", "Org B", not_before=NOW - timedelta(days=9), not_after=NOW)
    other = make_pki(root_name="Unknown Root")
    cases: list[tuple[bytes, type[errors.CertificateRejected]]] = [
        (pki.chain(expired, pki.inter), errors.CertificateExpired),
        (issue("myself", None, org="Org B").pem, errors.SelfSignedCertificate),
        (other.chain(), errors.UntrustedCertificate),
        (pki.chain(pki.leaf_for("x", "Org B", usage=None), pki.inter), errors.WrongKeyUsage),
        (
            b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
            errors.MalformedCertificate,
        ),
    ]
    before = world.activity()
    for chain_pem, error in cases:
        application = world.application("Org B", "b", "node_b", "service", chain_pem=chain_pem)
        with pytest.raises(error) as info:
            world.service.apply(application)
        assert info.value.status_code == 422
    assert world.activity() == before
    assert world.service.applications() == []


@pytest.mark.parametrize(
    ("did", "node", "node_type", "organisation", "error", "match"),
    [
        ("did:ethr:0x539:0x12", "node_b", "service", None, errors.InvalidDid, "hex digits"),
        ("did:ethr:0x1:{b}", "node_b", "service", None, errors.UnknownNetwork, "chain id 1"),
        ("did:web:example.com", "node_b", "service", None, errors.InvalidDid, "did:ethr"),
        ("did:key:zBAD0", "node_b", "service", "c", errors.InvalidDid, "did:key"),
        (DID_KEY, "node_b", "service", None, errors.InvalidApplication, "organisation address"),
        ("{did_b}", "node_b", "service", "c", errors.InvalidApplication, "is not the identity"),
        ("{did_b}", "0x1234", "service", None, errors.InvalidApplication, "not an Ethereum"),
        ("{did_b}", "zero", "service", None, errors.InvalidApplication, "zero address"),
        ("{did_b}", "node_b", "validator", None, errors.InvalidApplication, "node type"),
        ("{did_b}", "hub", "service", None, errors.ConsortiumError, "already a consortium node"),
        ("{did_hub}", "node_b", "service", None, errors.InvalidApplication, "Founding Notary"),
    ],
)
def test_bad_applications_send_nothing(
    world: World,
    did: str,
    node: str,
    node_type: str,
    organisation: str | None,
    error: type[errors.DidError],
    match: str,
) -> None:
    did = did.format(b=world.address("b"), did_b=world.did("b"), did_hub=world.did("hub"))
    node_address = {"zero": "0x" + "00" * 20, "0x1234": "0x1234"}.get(node) or world.address(node)
    org_address = world.address(organisation) if organisation else None
    signer = world.accounts["hub"] if did == world.did("hub") else None
    application = world.application(
        "Org B",
        did,
        "node_b" if node in ("zero", "0x1234") else node,
        node_type,
        org_address,
        signer=signer,
        node_address=node_address,
    )
    before = world.activity()
    with pytest.raises(error, match=match):
        world.service.apply(application)
    assert world.activity() == before
    assert world.service.applications() == []


def test_existing_member_adds_a_node_directly(world: World) -> None:
    app = world.service.apply(world.application("Founding Notary", "hub", "node_b", "producer"))
    assert (app.state, app.member_proposal_id) == (ApplicationState.NODE_PROPOSED, None)
    assert world.service.vote(app.node_proposal_id or 0, True).executed
    assert world.service.application(app.id).state is ApplicationState.ADMITTED


def test_one_open_application_per_node_and_no_double_votes(world: World) -> None:
    service = world.service
    app = service.apply(world.application("Org B", "b", "node_b", "service"))
    before = world.activity()
    with pytest.raises(errors.ConsortiumError, match=f"application {app.id} .* still open"):
        service.apply(world.application("Org C", "c", "node_b", "service"))
    with pytest.raises(errors.UnknownProposal):
        service.vote(99, True)
    assert world.activity() == before
    service.vote(1, True)  # executes B's membership; node proposal 2 follows
    service.vote(2, True)
    before = world.activity()
    with pytest.raises(errors.ConsortiumError, match="already voted"):
        service.vote(2, False)
    with pytest.raises(errors.ConsortiumError, match="is not a consortium member"):
        service.propose_removal(world.address("c"))
    assert world.activity() == before


def test_a_submission_interrupted_by_a_crash_is_reconciled(world: World) -> None:
    """The row is written before the proposal is sent; advance() adopts the proposal."""
    app = world.service.apply(world.application("Org B", "b", "node_b", "service"))
    with world.sessions() as session, session.begin():
        row = session.get(ConsortiumApplication, app.id)
        assert row is not None
        row.state, row.member_proposal_id = ApplicationState.SUBMITTED, None
    (moved,) = world.service.advance()
    assert (moved.state, moved.member_proposal_id) == (ApplicationState.MEMBER_PROPOSED, 1)

    # One whose proposal never reached the chain fails once it is stale.
    late = ConsortiumService(
        world.deployment.consortium,
        world.transactor("hub"),
        world.sessions,
        world.pki.roots,
        resolver=world.resolver,
        clock=lambda: datetime.now(UTC) + timedelta(hours=1),
    )
    with world.sessions() as session, session.begin():
        row = session.get(ConsortiumApplication, app.id)
        assert row is not None
        row.state, row.member_proposal_id = ApplicationState.SUBMITTED, None
        row.evidence_hash = "0x" + "00" * 32
    (failed,) = late.advance()
    assert failed.state is ApplicationState.FAILED
    with world.sessions() as session:
        states = session.scalars(select(ConsortiumApplication.state)).all()
    assert states == [ApplicationState.FAILED]


def test_named_networks_of_this_chain_only(world: World) -> None:
    named = ConsortiumService(
        world.deployment.consortium,
        world.transactor("hub"),
        world.sessions,
        world.pki.roots,
        resolver=world.resolver,
        networks={"notary": CHAIN_ID, "mainnet": 1},
    )
    b_key = world.accounts["b"]
    before = world.activity()
    with pytest.raises(errors.UnknownNetwork, match="mainnet"):
        named.apply(world.application("Org B", f"did:ethr:{world.address('b')}", "node_b",
                                      "service", signer=b_key))  # fmt: skip
    assert world.activity() == before
    app = named.apply(
        world.application(
            "Org B", f"did:ethr:notary:{world.address('b')}", "node_b", 2, signer=b_key
        )
    )
    assert app.organisation_address == world.address("b")


def test_service_from_files_rereads_crls(world: World, tmp_path: Path) -> None:
    roots, crl = tmp_path / "roots.pem", tmp_path / "inter.crl"
    roots.write_bytes(world.pki.root.pem)
    leaf = world.pki.leaf_for("node.b.example", "Org B")
    crl.write_bytes(make_crl(world.pki.inter, [leaf.cert]).public_bytes(Encoding.PEM))
    service = service_from_files(
        world.deployment.consortium,
        world.transactor("hub"),
        world.sessions,
        roots,
        [crl],
        resolver=world.resolver,
    )
    chain_pem = world.pki.chain(leaf, world.pki.inter)
    application = world.application("Org B", "b", "node_b", "service", chain_pem=chain_pem)
    with pytest.raises(errors.CertificateRevoked):
        service.apply(application)
    crl.write_bytes(make_crl(world.pki.inter).public_bytes(Encoding.DER))  # the CA un-revoked it
    app = service.apply(application)  # a refused application used no nonce
    assert app.state is ApplicationState.MEMBER_PROPOSED


def test_unreadable_configuration_is_a_clear_error(world: World, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not PEM")
    with pytest.raises(errors.ConsortiumMisconfigured, match="trusted CA bundle"):
        service_from_files(
            world.deployment.consortium,
            world.transactor("hub"),
            world.sessions,
            garbage,
            resolver=world.resolver,
        )
    roots = tmp_path / "roots.pem"
    roots.write_bytes(world.pki.root.pem)
    service = service_from_files(
        world.deployment.consortium,
        world.transactor("hub"),
        world.sessions,
        roots,
        [tmp_path / "missing.crl"],
        resolver=world.resolver,
    )
    before = world.activity()
    with pytest.raises(errors.ConsortiumMisconfigured, match="CRL") as info:
        service.apply(world.application("Org B", "b", "node_b", "service"))
    assert info.value.status_code == 503
    assert world.activity() == before
