"""``POST /evidence/deposits:batch`` through a real hub (embedded chain and TSA) on SQLite and
PostgreSQL: every item certified with a letter of its own that verifies; the batch's
limits refused whole with a machine-readable error."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.testclient import TestClient

from evidence.deposit.batch import MAX_BATCH_BYTES, MAX_BATCH_ITEMS
from notary_hub.hub import Hub
from testkit.waiting import wait_until
from tests.fixtures.hub_app import AUTH

DEPOSITOR = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
HEADERS = {**AUTH, "Depositor": DEPOSITOR}
BATCH = "/evidence/deposits:batch"


def items(count: int) -> list[dict[str, Any]]:
    prefix = secrets.token_hex(4)
    return [
        {"sha256": secrets.token_hex(32), "title": f"bench {i}", "idempotencyKey": f"{prefix}-{i}"}
        for i in range(count)
    ]


def certified(client: TestClient, deposit_ids: list[str]) -> bool:
    return all(
        client.get(f"/evidence/deposits/{d}", headers=HEADERS).json()["state"] == "certified"
        for d in deposit_ids
    )


def test_a_batch_is_certified_letter_by_letter(hub_client: TestClient, hub_app: Hub) -> None:
    sent = items(40)
    sent.insert(7, {"sha256": "not hex", "idempotencyKey": "broken"})
    answer = hub_client.post(BATCH, json={"items": sent}, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["created"], body["replayed"], body["refused"]) == (40, 0, 1)
    assert body["items"][7]["status"] == 400 and body["items"][7]["error"]["error"] == (
        "invalid_deposit"
    )
    deposits = [entry["deposit"] for entry in body["items"] if "deposit" in entry]
    assert [entry["index"] for entry in body["items"]] == list(range(41))
    assert all(d["depositor"] == DEPOSITOR and d["state"] == "received" for d in deposits)
    deposit_ids = [d["id"] for d in deposits]
    wait_until(lambda: certified(hub_client, deposit_ids), timeout=60, interval=0.2)

    letters = {}
    for deposit in deposits:
        letter = hub_client.get(f"/evidence/deposits/{deposit['id']}/credential", headers=HEADERS)
        assert letter.status_code == 200
        letters[deposit["id"]] = letter.json()
        subject = letters[deposit["id"]]["credentialSubject"]
        assert deposit["digestMultibase"] in str(subject)  # each letter names its own digest
    assert len({letter["id"] for letter in letters.values()}) == 40
    for deposit_id in deposit_ids[:3] + deposit_ids[-2:]:
        verdict = hub_client.post("/evidence/verify", json={"letter": letters[deposit_id]})
        assert verdict.status_code == 200, verdict.json()
        assert {"proof", "timestamp", "anchor"} <= set(verdict.json()["checks"])

    again = hub_client.post(BATCH, json={"items": sent}, headers=HEADERS).json()
    assert (again["created"], again["replayed"], again["refused"]) == (0, 40, 1)
    assert [e["deposit"]["id"] for e in again["items"] if "deposit" in e] == deposit_ids
    assert all(e["deposit"]["state"] == "certified" for e in again["items"] if "deposit" in e)


def test_over_the_caps_is_refused_whole(hub_client: TestClient) -> None:
    too_many = hub_client.post(BATCH, json={"items": items(MAX_BATCH_ITEMS + 1)}, headers=HEADERS)
    assert too_many.status_code == 413
    assert too_many.json()["error"] == "batch_too_large" and "1000" in too_many.json()["message"]

    padding = "x" * 9_000
    heavy = [{**item, "description": padding} for item in items(MAX_BATCH_BYTES // 9_000 + 10)]
    too_big = hub_client.post(BATCH, json={"items": heavy[:MAX_BATCH_ITEMS]}, headers=HEADERS)
    assert too_big.status_code == 413 and too_big.json()["error"] == "batch_too_large"

    listed = hub_client.get("/evidence/deposits", headers=HEADERS).json()
    assert listed["items"] == []


def test_batch_level_mistakes_are_refused(hub_client: TestClient) -> None:
    keyed = hub_client.post(
        BATCH, json={"items": items(1)}, headers={**HEADERS, "Idempotency-Key": "k"}
    )
    assert keyed.status_code == 400 and keyed.json()["error"] == "invalid_batch"
    bodies: list[Any] = [{"items": []}, {"deposits": items(1)}, [items(1)]]
    for body in bodies:
        refused = hub_client.post(BATCH, json=body, headers=HEADERS)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_batch", body
    form = hub_client.post(BATCH, data={"sha256": "ab" * 32}, headers=HEADERS)
    assert form.status_code == 400 and form.json()["error"] == "invalid_batch"
    unauthenticated = hub_client.post(BATCH, json={"items": items(1)})
    assert unauthenticated.status_code == 401
