"""The draw service as the hub opens it from its settings: drand quicknet by default, the
draw registry deployed with the hub's contracts, the organiser's scope, the public page."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from evidence.draw.drand import QUICKNET
from tests.evidence.deposit_support import new_did_key
from tests.fixtures.hub_app import AUTH


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_hub_serves_draws(hub_client: TestClient) -> None:
    round_ = int((time.time() + 3600 - QUICKNET.genesis) // QUICKNET.period) + 1
    config = {
        "title": "School places",
        "rules": "Siblings first (a category each).",
        "tiers": [{"name": "place", "count": 30}],
        "entryDeadline": "2026-12-31T12:00:00Z",
        "beacon": {"round": round_},
    }
    organiser = {**AUTH, "Depositor": new_did_key()}
    created = hub_client.post("/draws", json=config, headers=organiser)
    assert created.status_code == 201, created.text
    draw = created.json()
    assert draw["beacon"]["network"] == "drand-quicknet"
    assert draw["config"]["beacon"]["publicKey"] == QUICKNET.public_key.hex()
    page = hub_client.get(f"/draws/{draw['id']}/page")
    assert page.status_code == 200 and "School places" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    refused = hub_client.post("/draws", json=config)
    assert refused.status_code == 401
