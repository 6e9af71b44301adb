"""Deposits name the token's identity, and reads follow it (issue 13 §8), on a real hub.

A person's token deposits as the DID linked to the person's account, a client-credentials
token as the platform's registered DID; owner-only reads follow the token, never a header.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from notary_hub.app import create_app
from notary_hub.hub import Hub
from tests.evidence.deposit_support import new_did_key
from tests.fixtures.hub_app import AUTH
from tests.notary_hub.access_tokens import AccessTokens, Accounts

PLATFORM_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
BOTH = "evidence:deposit evidence:read"


@dataclass
class World:
    client: TestClient
    tokens: AccessTokens
    accounts: Accounts

    def person(
        self, did: str, *, client_id: str = "partner", scopes: str = BOTH, first_party: bool = False
    ) -> str:
        account = self.accounts.account_for_did(did)
        return self.tokens.issue(
            scopes, client_id=client_id, account=account, first_party=first_party
        )

    def platform(self, *, did: str | None = PLATFORM_DID, client_id: str = "partner") -> str:
        return self.tokens.issue(BOTH, client_id=client_id, platform_did=did)

    def deposit(self, token: str, content: bytes, **headers: str) -> httpx.Response:
        answer: httpx.Response = self.client.post(
            "/evidence/deposits",
            json={"sha256": hashlib.sha256(content).hexdigest()},
            headers={"authorization": f"Bearer {token}", **headers},
        )
        return answer

    def read(self, token: str, path: str = "") -> httpx.Response:
        answer: httpx.Response = self.client.get(
            f"/evidence/deposits{path}", headers={"authorization": f"Bearer {token}"}
        )
        return answer


@pytest.fixture
def world(hub_app: Hub) -> Iterator[World]:
    tokens, accounts = AccessTokens(), Accounts()
    app = create_app(hub_app, run_background=False, token_validator=tokens, accounts=accounts)
    with TestClient(app) as client:
        yield World(client, tokens, accounts)


def test_a_persons_token_deposits_as_the_persons_did(world: World) -> None:
    alice = new_did_key()
    token = world.person(alice)
    made = world.deposit(token, b"alice's contract")
    assert made.status_code == 201, made.text
    assert made.json()["depositor"] == alice
    own = world.read(token, f"/{made.json()['id']}")
    assert own.status_code == 200 and own.json()["depositor"] == alice
    assert [d["id"] for d in world.read(token).json()["items"]] == [made.json()["id"]]


def test_a_client_credentials_token_deposits_as_the_platforms_did(world: World) -> None:
    token = world.platform()
    made = world.deposit(token, b"the platform's own record")
    assert made.status_code == 201, made.text
    assert made.json()["depositor"] == PLATFORM_DID
    assert world.read(token, f"/{made.json()['id']}").status_code == 200


def test_owner_only_reads_follow_the_token(world: World) -> None:
    alice, bob = new_did_key(), new_did_key()
    made = world.deposit(world.person(alice), b"alice's will").json()
    path = f"/{made['id']}"
    strangers = {
        "another person, same platform": world.person(bob),
        "the platform itself": world.platform(),
        "alice through another platform": world.person(alice, client_id="elsewhere"),
    }
    for who, token in strangers.items():
        answer = world.read(token, path)
        assert answer.status_code == 403, who
        assert answer.json()["error"] == "forbidden", who
        assert world.read(token).json()["items"] == [], who
    # The dev bootstrap naming alice in the header is another platform too.
    bootstrap = world.client.get(f"/evidence/deposits{path}", headers={**AUTH, "Depositor": alice})
    assert bootstrap.status_code == 403


def test_the_persons_own_wallet_reads_every_platforms_deposits_for_them(world: World) -> None:
    """The hub's first-party wallet client sees all of the person's deposits; a partner
    sees only those made through it, so partners cannot correlate the person."""
    alice, bob = new_did_key(), new_did_key()
    by_partner = world.deposit(world.person(alice), b"through the partner").json()
    by_other = world.deposit(world.person(alice, client_id="elsewhere"), b"elsewhere").json()
    bootstrap = world.client.post(
        "/evidence/deposits", json={"sha256": "cd" * 32}, headers={**AUTH, "Depositor": alice}
    ).json()
    world.deposit(world.person(bob), b"bob's")
    wallet = world.person(alice, client_id="notary-hub-wallet", first_party=True)
    listed = [d["id"] for d in world.read(wallet).json()["items"]]
    assert sorted(listed) == sorted([by_partner["id"], by_other["id"], bootstrap["id"]])
    for made in (by_partner, by_other, bootstrap):
        assert world.read(wallet, f"/{made['id']}").status_code == 200
    partner = world.person(alice)
    assert [d["id"] for d in world.read(partner).json()["items"]] == [by_partner["id"]]
    assert world.read(partner, f"/{by_other['id']}").status_code == 403
    # Bob's own wallet reads none of alice's deposits.
    bobs_wallet = world.person(bob, client_id="notary-hub-wallet", first_party=True)
    assert world.read(bobs_wallet, f"/{by_other['id']}").status_code == 403


def test_a_depositor_header_with_an_oauth_token_is_refused(world: World) -> None:
    mallory = new_did_key()
    for token in (world.person(new_did_key()), world.platform()):
        answer = world.deposit(token, b"for someone else", Depositor=mallory)
        assert answer.status_code == 400
        assert answer.json()["error"] == "depositor_header_refused"
        reading = world.client.get(
            "/evidence/deposits", headers={"authorization": f"Bearer {token}", "Depositor": mallory}
        )
        assert reading.json()["error"] == "depositor_header_refused"


def test_tokens_with_no_did_or_no_deposit_scope_cannot_deposit(world: World) -> None:
    unlinked = world.tokens.issue(BOTH, account="no-such-account")
    answer = world.deposit(unlinked, b"x")
    assert (answer.status_code, answer.json()["error"]) == (403, "no_depositor_did")
    no_did = world.deposit(world.platform(did=None), b"x")
    assert (no_did.status_code, no_did.json()["error"]) == (403, "no_depositor_did")
    read_only = world.person(new_did_key(), scopes="evidence:read")
    refused = world.deposit(read_only, b"x")
    assert (refused.status_code, refused.json()["error"]) == (403, "insufficient_scope")
    deposit_only = world.person(new_did_key(), scopes="evidence:deposit")
    assert world.deposit(deposit_only, b"y").status_code == 201
    assert world.read(deposit_only).json()["error"] == "insufficient_scope"


def test_the_dev_bootstrap_still_names_the_depositor_in_the_header(world: World) -> None:
    did = new_did_key()
    made = world.client.post(
        "/evidence/deposits", json={"sha256": "ab" * 32}, headers={**AUTH, "Depositor": did}
    )
    assert made.status_code == 201 and made.json()["depositor"] == did
    missing = world.client.post("/evidence/deposits", json={"sha256": "ab" * 32}, headers=AUTH)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_depositor")
