"""Issue 11 item 6 over the deposit routes: Idempotency-Key fingerprints, SM3-only digests,
digest format errors, ``Retry-After`` on ``not_certified``, and listing one's deposits.

On SQLite and PostgreSQL (the ``sessions`` fixture), through the hub's error mapping.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from evidence.deposit.models import Deposit
from evidence.deposit.service import DepositService
from evidence.digests import SHA256, SM3, digest_multibase
from tests.evidence.deposit.test_router import headers, make_app, post_form
from tests.evidence.deposit_support import blobs, deposit_count, new_did_key, service

__all__ = ["blobs", "service"]  # fixtures, used by name below

SHA = hashlib.sha256(b"elsewhere").hexdigest()


@pytest.fixture
def client(service: DepositService) -> Iterator[TestClient]:
    with TestClient(make_app(service)) as test_client:
        yield test_client


def deposit(
    client: TestClient, did: str, body: object, **more: str
) -> tuple[int, dict[str, object]]:
    response = client.post("/evidence/deposits", json=body, headers=headers(did, **more))
    return response.status_code, response.json()


def test_an_idempotency_key_reused_for_another_request_is_422(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    alice, bob = new_did_key(), new_did_key()
    key = {"Idempotency-Key": "k-1"}
    status, first = deposit(client, alice, {"sha256": SHA, "title": "T"}, **key)
    assert status == 201
    # A true retry (same request, members in another order) gets the first deposit.
    assert deposit(client, alice, {"title": "T", "sha256": SHA.upper()}, **key) == (201, first)
    count = deposit_count(sessions)
    for other in (
        (alice, {"sha256": SHA, "title": "other title"}),
        (alice, {"sha256": SHA}),
        (alice, {"sha256": SHA, "title": "T", "sm3": "00" * 32}),
        (alice, {"sha256": hashlib.sha256(b"other").hexdigest(), "title": "T"}),
        (bob, {"sha256": SHA, "title": "T"}),
    ):
        status, body = deposit(client, other[0], other[1], **key)
        assert (status, body["error"]) == (422, "idempotency_key_reused"), other
        assert "already used for a different request payload" in str(body["message"])
    assert deposit_count(sessions) == count


def test_an_upload_retried_with_other_metadata_is_422(client: TestClient, blobs: object) -> None:
    alice = new_did_key()
    upload = os.urandom(500)
    key = {"Idempotency-Key": "up-1"}
    one = post_form(client, alice, {"title": "a"}, ("x.bin", upload, "x/y"), **key)
    two = post_form(client, alice, {"title": "a"}, ("x.bin", upload, "x/y"), **key)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    renamed = post_form(client, alice, {"title": "a"}, ("y.bin", upload, "x/y"), **key)
    other = post_form(client, alice, {"title": "a"}, ("x.bin", os.urandom(500), "x/y"), **key)
    for response in (renamed, other):
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "idempotency_key_reused"


def test_an_sm3_only_digest_deposit_is_refused_with_422(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """The timestamp and the anchor are over SHA-256: SM3 accompanies it, never replaces it."""
    alice = new_did_key()
    sm3 = bytes(range(32))  # any 32 bytes: only the form of the request matters here
    for body in (
        {"sm3": sm3.hex()},
        {"digests": {"sm3": sm3.hex()}},
        {"digestMultibase": digest_multibase(SM3, sm3)},
    ):
        status, answer = deposit(client, alice, body)
        assert (status, answer["error"]) == (422, "sha256_required"), body
        assert "SHA-256" in str(answer["message"])
    assert deposit_count(sessions) == 0
    status, both = deposit(client, alice, {"sha256": SHA, "sm3": sm3.hex()})
    assert status == 201 and both["sm3"] == sm3.hex() and both["sha256"] == SHA


def test_a_digest_that_is_neither_hex_nor_multibase_says_so(client: TestClient) -> None:
    alice = new_did_key()
    for field, value, expected in (
        (
            "sha256",
            "not-a-digest!",
            "sha256 must be 64 hex digits or a multibase (u/z) SHA-256 multihash",
        ),
        ("sha256", "abc", "sha256 must be 64 hex digits or a multibase (u/z) SHA-256 multihash"),
        ("sha256", "zz", "sha256 must be 64 hex digits or a multibase (u/z) SHA-256 multihash"),
        ("sm3", "xyz", "sm3 must be 64 hex digits or a multibase (u/z) SM3 multihash"),
    ):
        body = {field: value} if field == "sha256" else {"sha256": SHA, field: value}
        status, answer = deposit(client, alice, body)
        assert (status, answer["error"]) == (400, "invalid_deposit"), (field, value)
        assert str(answer["message"]).startswith(expected), answer
    status, ok = deposit(client, alice, {"sha256": digest_multibase(SHA256, bytes.fromhex(SHA))})
    assert status == 201 and ok["sha256"] == SHA


def test_not_certified_carries_retry_after(client: TestClient, service: DepositService) -> None:
    alice = new_did_key()
    status, created = deposit(client, alice, {"sha256": SHA})
    assert status == 201
    for poll, expected in ((0.5, "1"), (2.2, "3")):
        service.poll_seconds = poll
        answer = client.get(
            f"/evidence/deposits/{created['id']}/credential", headers=headers(alice)
        )
        assert answer.status_code == 409 and answer.json()["error"] == "not_certified"
        assert answer.headers["Retry-After"] == expected


def _received_at(sessions: sessionmaker[Session], deposit_id: object, at: datetime) -> None:
    with sessions() as session, session.begin():
        session.execute(update(Deposit).where(Deposit.id == deposit_id).values(received_at=at))


def test_listing_ones_deposits_newest_first_paged_and_filtered(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    alice, bob = new_did_key(), new_did_key()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    for n in range(5):
        status, body = deposit(client, alice, {"sha256": hashlib.sha256(bytes([n])).hexdigest()})
        assert status == 201
        _received_at(sessions, body["id"], start + timedelta(hours=n))
        ids.append(body["id"])
    deposit(client, bob, {"sha256": SHA})
    newest_first = list(reversed(ids))

    seen: list[object] = []
    url: str | None = "/evidence/deposits?limit=2"
    while url is not None:
        page = client.get(url, headers=headers(alice))
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        assert len(page.json()["items"]) <= 2
        url = page.json()["links"].get("next")
    assert seen == newest_first  # bob's deposit is not alice's to see

    window = client.get(
        "/evidence/deposits",
        params={
            "receivedAfter": "2026-01-01T00:30:00Z",
            "receivedBefore": "2026-01-01T03:00:00+00:00",
        },
        headers=headers(alice),
    ).json()
    assert [item["id"] for item in window["items"]] == [ids[2], ids[1]]
    assert "next" not in window["links"]
    received = client.get("/evidence/deposits?state=received", headers=headers(alice)).json()
    assert len(received["items"]) == 5
    certified = client.get("/evidence/deposits?state=certified", headers=headers(alice)).json()
    assert certified["items"] == []
    assert (
        client.get("/evidence/deposits", headers=headers(bob)).json()["items"][0]["sha256"] == SHA
    )


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("state=sealed", "state"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("receivedAfter=yesterday", "receivedAfter"),
        ("receivedBefore=2026-01-01T00:00:00", "receivedBefore"),  # no offset
        ("receivedAfter=2026-02-01T00:00:00Z&receivedBefore=2026-01-01T00:00:00Z", "receivedAfter"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
    ],
)
def test_bad_listing_parameters_are_422_naming_them(
    client: TestClient, query: str, names: str
) -> None:
    response = client.get(f"/evidence/deposits?{query}", headers=headers(new_did_key()))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_query" and names in response.json()["message"]


def test_listing_needs_a_caller(client: TestClient) -> None:
    assert client.get("/evidence/deposits").status_code == 401
