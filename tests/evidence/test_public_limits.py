"""The public evidence checks under a flood from one address (SQLite and PostgreSQL):
``POST /evidence/verify`` and a letter's QR status share one bucket per IP, answer 429
with ``Retry-After`` once it is spent, before doing any work, and serve again later."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from notary_hub.app import create_app
from notary_hub.hub import open_hub
from notary_hub.settings import (
    AnchoringSettings,
    DatabaseSettings,
    EvidenceSettings,
    ServerSettings,
    Settings,
)
from tests.fixtures.hub_app import HUB_TOKEN

BURST = 3
RATE = 2.0  # a token every half second


@pytest.fixture
def limited_client(tmp_path: Path, db_url: str, engine: Engine) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=db_url),
        server=ServerSettings(api_tokens=[SecretStr(HUB_TOKEN)]),
        anchoring=AnchoringSettings(batch_interval_seconds=0.05),
        evidence=EvidenceSettings(poll_seconds=0.05, public_rate=RATE, public_burst=BURST),
    )
    hub = open_hub(settings)
    try:
        with TestClient(create_app(hub)) as client:
            yield client
    finally:
        hub.close()


def test_a_flood_of_public_checks_is_refused_with_retry_after(
    limited_client: TestClient,
) -> None:
    bogus = {"letter": {"type": ["VerifiableCredential"]}}
    answers = [limited_client.post("/evidence/verify", json=bogus) for _ in range(BURST)]
    assert all(a.status_code != 429 for a in answers), [a.text for a in answers]
    # The same bucket holds the QR status route: the burst is spent for both.
    for refused in (
        limited_client.post("/evidence/verify", json=bogus),
        limited_client.get("/evidence/letters/deposits/no-such-deposit"),
    ):
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
    time.sleep(1.0 / RATE + 0.1)  # one token back
    again = limited_client.get("/evidence/letters/deposits/no-such-deposit")
    assert again.status_code == 404, again.text


def test_the_limit_does_not_touch_authenticated_routes(limited_client: TestClient) -> None:
    for _ in range(BURST + 2):
        limited_client.post("/evidence/verify", json={"letter": {}})
    listing = limited_client.get(
        "/evidence/deposits", headers={"authorization": f"Bearer {HUB_TOKEN}"}
    )
    assert listing.status_code != 429, listing.text
