"""The HTTP application over a real hub (embedded chain), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from notary_hub.hub import Hub
from testkit.waiting import wait_until
from tests.fixtures.hub_app import AUTH


@pytest.fixture
def hub(hub_app: Hub) -> Hub:
    return hub_app


@pytest.fixture
def client(hub_client: TestClient) -> TestClient:
    return hub_client


def test_health_and_readiness(client: TestClient, hub: Hub) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["chain"]["chainId"] == hub.settings.chain.chain_id


def test_readiness_reports_an_unreachable_chain(client: TestClient, hub: Hub) -> None:
    hub.chain.close()  # the chain's store is gone: the hub must say so, not crash
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"] == "not_ready"
    assert "chain" in response.json()["reasons"]


def test_enqueue_needs_a_valid_token(client: TestClient) -> None:
    body = {"kind": "deposit", "items": ["0x01"]}
    assert client.post("/anchoring/items", json=body).status_code == 401
    response = client.post("/anchoring/items", json=body, headers={"authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"  # RFC 6750 §3.1


def anchored_item(client: TestClient, item_id: int) -> dict[str, Any]:
    def anchored() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/anchoring/items/{item_id}", headers=AUTH).json()
        return body if body["state"] == "anchored" else None

    return wait_until(anchored, timeout=10, message=f"item {item_id} not anchored")


def test_items_come_back_with_receipts_that_verify(client: TestClient) -> None:
    items = ["0x" + bytes([i]).hex() * 32 for i in range(5)]
    response = client.post(
        "/anchoring/items", json={"kind": "deposit", "items": items}, headers=AUTH
    )
    assert response.status_code == 202
    ids = response.json()["ids"]
    wait_until(
        lambda: not client.get("/anchoring/queue", headers=AUTH).json()["pending"],
        timeout=30,
        message="items still pending",
    )
    for item_id, item in zip(ids, items, strict=True):
        body = anchored_item(client, item_id)
        assert body["receipt"]["leaf"] == item
        verdict = client.post("/anchoring/receipts/verify", json=body["receipt"]).json()
        assert verdict["valid"], verdict
    tampered = dict(body["receipt"], leaf="0x" + "ff" * 32)
    verdict = client.post("/anchoring/receipts/verify", json=tampered).json()
    assert not verdict["valid"] and verdict["errors"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "deposit", "items": []}, 422, "invalid_request"),
        ({"kind": "deposit", "items": ["01"]}, 422, "invalid_anchor_item"),
        ({"kind": "deposit", "items": ["0xzz"]}, 422, "invalid_anchor_item"),
        ({"kind": "", "items": ["0x01"]}, 422, "invalid_request"),
        ({"items": ["0x01"]}, 422, "invalid_request"),
    ],
)
def test_bad_enqueue_requests(client: TestClient, body: object, status: int, code: str) -> None:
    response = client.post("/anchoring/items", json=body, headers=AUTH)
    assert response.status_code == status
    assert response.json()["error"] == code
    assert client.get("/anchoring/queue", headers=AUTH).json()["pending"] == 0


def test_malformed_receipt_is_a_422(client: TestClient) -> None:
    response = client.post("/anchoring/receipts/verify", json={"type": "nope"})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_receipt"


def test_deeply_nested_json_is_refused_without_crashing(client: TestClient) -> None:
    body = "[" * 200_000 + "]" * 200_000
    for path in ("/anchoring/receipts/verify", "/rpc"):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code in (200, 400)
        assert "too deep" in response.text or "nested" in response.text
    assert client.get("/healthz").status_code == 200


def test_unknown_item_is_a_404(client: TestClient) -> None:
    response = client.get("/anchoring/items/424242", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_anchor_item"


def test_embedded_rpc_is_mounted_and_read_only(client: TestClient, hub: Hub) -> None:
    answer = client.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}).json()
    assert int(answer["result"], 16) == hub.settings.chain.chain_id
    refused = client.post(
        "/rpc",
        json={"jsonrpc": "2.0", "id": 2, "method": "eth_sendRawTransaction", "params": ["0x00"]},
    ).json()
    assert refused["error"]["code"] == -32601


def test_a_consortium_application_must_be_signed(client: TestClient, hub: Hub) -> None:
    """Issue 9 item 10, on both databases: nothing reaches the chain for a forged application."""
    from eth_account import Account

    from tests.did_registry.application_support import make_application
    from tests.did_registry.consortium.test_x509_checks import make_pki

    organisation, node = Account.create(), Account.create()
    signed = make_application(
        make_pki().chain(),
        organisation="Acme Notaries",
        did=f"did:ethr:0x539:{organisation.address}",
        did_key=organisation,
        node_key=node,
        node_type="service",
        chain_id=hub.chain.chain_id,
        consortium=hub.deployment.consortium.address,
    ).to_json()
    elsewhere = {**signed, "application": {**signed["application"], "chainId": 1}}
    before = hub.consortium.proposals()
    for body, status, code in (
        ({**signed, "proofs": {}}, 400, "applicationUnsigned"),
        (elsewhere, 422, "applicationWrongDomain"),
    ):
        response = client.post("/consortium/applications", json=body, headers=AUTH)
        assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert hub.consortium.proposals() == before
    assert client.get("/consortium/applications", headers=AUTH).json() == {"applications": []}
