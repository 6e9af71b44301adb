"""The consortium HTTP routes over a real service: embedded chain, deployed contracts, SQLite.

Applications are signed documents (issue 9 item 10): the organisation's did:ethr key
and its node key sign; the service resolves the DID through a chain-walking resolver.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chain_adapter.deploy import deploy_all
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.transactor import Transactor
from did_registry.consortium.router import consortium_router
from did_registry.consortium.service import ConsortiumService
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.resolver import EthrResolver
from notary_hub import migrate
from notary_hub.db import create_db_engine, session_factory
from notary_hub.errors import install_error_handlers
from notary_hub.identity import API_SCOPES, CONSORTIUM_VOTE, Authenticator
from notary_hub.static_tokens import StaticTokens
from tests.did_registry.application_support import make_application
from tests.did_registry.consortium.test_x509_checks import NOW, Pki, make_pki

TOKEN = "c" * 40
# The hub's dependency for the consortium's routes, with TOKEN as the dev bootstrap token.
vote_scope = Authenticator(None, StaticTokens([TOKEN], API_SCOPES)).require_scope(CONSORTIUM_VOTE)
AUTH = {"authorization": f"Bearer {TOKEN}"}


@dataclass
class Api:
    client: TestClient
    chain: EmbeddedChain
    pki: Pki
    hub: LocalAccount
    org: LocalAccount
    node: LocalAccount
    consortium: str

    def body(self, chain_pem: bytes | None = None, **changes: object) -> dict[str, object]:
        """A signed application; ``changes`` replace application fields (or add members)
        after signing, as a tampering client would."""
        signed = make_application(
            chain_pem or self.pki.chain(),
            organisation="Acme Notaries",
            did=f"did:ethr:0x539:{self.org.address}",
            did_key=self.org,
            node_key=self.node,
            node_type="service",
            chain_id=0x539,
            consortium=self.consortium,
        ).to_json()
        fields = {name: value for name, value in changes.items() if name != "unexpected"}
        signed["application"] = {**signed["application"], **fields}
        if "unexpected" in changes:
            signed["unexpected"] = changes["unexpected"]
        return signed


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    migrate.upgrade(engine)
    hub, org, node = Account.create(), Account.create(), Account.create()
    chain = EmbeddedChain.open(tmp_path / "chain", chain_id=0x539, prefund={hub.address: 10**24})
    transactor = Transactor(chain, hub, receipt_timeout=30, poll_interval=0.02)
    deployment = deploy_all(transactor, organisation_name="Founding Notary")
    pki = make_pki()
    walker = ChainWalkerSource(chain, deployment.did_registry.address)
    resolver = DispatchingResolver({"ethr": EthrResolver({0x539: walker}), "key": DidKeyResolver()})
    service = ConsortiumService(
        deployment.consortium, transactor, session_factory(engine), pki.roots, resolver=resolver
    )
    app = FastAPI()
    install_error_handlers(app)  # maps DidError, like every HubError
    app.include_router(consortium_router(service, vote_scope))
    try:
        with TestClient(app) as client:
            yield Api(client, chain, pki, hub, org, node, deployment.consortium.address)
    finally:
        chain.close()
        engine.dispose()


def test_every_route_needs_a_token(api: Api) -> None:
    for method, path in [
        ("post", "/consortium/applications"),
        ("get", "/consortium/applications"),
        ("get", "/consortium/proposals"),
        ("post", "/consortium/proposals/1/votes"),
        ("get", "/consortium/members"),
        ("get", "/consortium/nodes"),
        ("post", f"/consortium/members/{api.hub.address}/removal"),
    ]:
        assert api.client.request(method, path).status_code == 401, path


def test_apply_vote_admit_and_remove(api: Api) -> None:
    client = api.client
    response = client.post("/consortium/applications", json=api.body(), headers=AUTH)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["proposalIds"] == [1]
    application = created["application"]
    assert application["organisationName"] == "Acme Notaries"
    assert application["organisationAddress"] == api.org.address
    assert (application["state"], application["nodeType"]) == ("member_proposed", "service")
    assert application["certificateChainPem"].count("BEGIN CERTIFICATE") == 3

    proposals = client.get("/consortium/proposals", headers=AUTH).json()["proposals"]
    assert [(p["id"], p["kind"], p["state"]) for p in proposals] == [(1, "add_member", "open")]
    assert proposals[0]["evidenceHash"] == application["evidenceHash"]

    vote = client.post("/consortium/proposals/1/votes", json={"support": True}, headers=AUTH)
    assert vote.status_code == 201, vote.text
    assert vote.json()["executed"] is True
    assert vote.json()["voter"] == api.hub.address
    (listed,) = client.get("/consortium/applications", headers=AUTH).json()["applications"]
    assert (listed["state"], listed["nodeProposalId"]) == ("node_proposed", 2)
    open_ids = [p["id"] for p in client.get("/consortium/proposals?open=true", headers=AUTH)
                .json()["proposals"]]  # fmt: skip
    assert open_ids == [2]

    # Two members now: the hub's vote alone does not pass the node.
    vote = client.post("/consortium/proposals/2/votes", json={"support": True}, headers=AUTH)
    assert vote.json()["executed"] is False
    members = client.get("/consortium/members", headers=AUTH).json()["members"]
    assert [m["name"] for m in members] == ["Founding Notary", "Acme Notaries"]
    nodes = client.get("/consortium/nodes", headers=AUTH).json()["nodes"]
    assert [n["address"] for n in nodes] == [api.hub.address]

    response = client.post(
        f"/consortium/members/{api.org.address}/removal", json={"reason": "test"}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    assert response.json()["proposal"]["kind"] == "remove_member"
    assert response.json()["proposal"]["target"] == api.org.address


def test_certificate_refusals_are_422_with_the_reason(api: Api) -> None:
    pki = api.pki
    expired = pki.leaf_for("old", "Acme", not_before=NOW - timedelta(days=9), not_after=NOW)
    height = api.chain.block_number()
    response = api.client.post(
        "/consortium/applications", json=api.body(pki.chain(expired, pki.inter)), headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["error"] == "certificateExpired"
    assert "CN=old" in response.json()["message"]
    assert "expired at" in response.json()["message"]
    other = make_pki(root_name="Elsewhere Root")
    response = api.client.post(
        "/consortium/applications", json=api.body(other.chain()), headers=AUTH
    )
    assert (response.status_code, response.json()["error"]) == (422, "certificateUntrusted")
    assert api.chain.block_number() == height


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"did": "did:ethr:0x539:0xZZ"}, 400, "invalidDid"),
        ({"did": "did:ethr:0x2a:0x" + "11" * 20}, 501, "unknownNetwork"),
        ({"nodeAddress": "0x" + "00" * 20}, 422, "invalidApplication"),
        ({"nodeType": "validator"}, 422, "invalid_request"),
        ({"unexpected": 1}, 422, "invalid_request"),
    ],
)
def test_bad_applications(api: Api, changes: dict[str, object], status: int, error: str) -> None:
    response = api.client.post(
        "/consortium/applications", json=api.body(None, **changes), headers=AUTH
    )
    assert (response.status_code, response.json()["error"]) == (status, error), response.text


def test_vote_and_removal_errors(api: Api) -> None:
    client = api.client
    response = client.post("/consortium/proposals/9/votes", json={"support": True}, headers=AUTH)
    assert (response.status_code, response.json()["error"]) == (404, "unknownProposal")
    response = client.post("/consortium/proposals/9/votes", json={"support": "yes"}, headers=AUTH)
    assert response.status_code == 422  # a vote is a JSON boolean, nothing else
    response = client.post(f"/consortium/members/{api.org.address}/removal", headers=AUTH)
    assert (response.status_code, response.json()["error"]) == (409, "consortiumConflict")
    assert "not a consortium member" in response.json()["message"]
    response = client.post("/consortium/members/0x1234/removal", headers=AUTH)
    assert response.status_code == 422


def test_what_an_application_must_prove_is_checked_before_anything_is_sent(api: Api) -> None:
    height = api.chain.block_number()
    signed = api.body()
    unsigned = {**signed, "proofs": {"node": signed["proofs"]["node"]}}  # type: ignore[index]
    cases: list[tuple[dict[str, object], int, str]] = [
        ({key: value for key, value in signed.items() if key != "proofs"}, 400,
         "applicationUnsigned"),
        (unsigned, 400, "applicationUnsigned"),
        (api.body(nodeType="producer"), 422, "applicationSignatureInvalid"),  # altered
        (api.body(expires=int(time.time()) - 1), 422, "applicationExpired"),
        (api.body(chainId=1), 422, "applicationWrongDomain"),
        (api.body(organisation="Evil Corp"), 422, "organisationMismatch"),
        (api.body(nonce="0x" + "AB" * 32), 400, "applicationMalformed"),
    ]  # fmt: skip
    for body, status, error in cases:
        response = api.client.post("/consortium/applications", json=body, headers=AUTH)
        assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert api.client.get("/consortium/proposals", headers=AUTH).json() == {"proposals": []}
    assert api.client.get("/consortium/applications", headers=AUTH).json() == {"applications": []}
    assert api.chain.block_number() == height

    # Accepted once; the same document again is a replay.
    assert api.client.post("/consortium/applications", json=signed, headers=AUTH).status_code == 201
    response = api.client.post("/consortium/applications", json=signed, headers=AUTH)
    assert (response.status_code, response.json()["error"]) == (409, "applicationReplayed")
    proposals = api.client.get("/consortium/proposals", headers=AUTH).json()["proposals"]
    assert len(proposals) == 1
