"""``GET /readyz`` dependency by dependency (issue 16 item 5), each broken for real.

The chain's store closed, the blob store's directory gone, a timestamp authority that
refuses connections, the DID indexer left behind the chain: each is named with its
status and reason, 503 only when a required one is not ok, and only it in ``reasons``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from notary_hub.app import create_app
from notary_hub.hub import Hub, open_hub
from notary_hub.settings import EvidenceSettings, TimestampSettings
from notary_hub.settings_metrics import MetricsSettings
from tests.fixtures.hub_process import free_port
from tests.notary_hub.observability_support import (
    DEPOSITING,
    SCRAPING,
    fresh_digest,
    hub_settings,
    observed_hub,
    samples,
    value,
)

__all__ = ["observed_hub"]
DEPENDENCIES = {
    "database",
    "chain",
    "anchoring",
    "timestampAuthority",
    "blobStore",
    "evidence",
    "didIndex",
}


def ready_body(client: TestClient, status: int) -> dict[str, Any]:
    response = client.get("/readyz")
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= DEPENDENCIES, body
    for name in DEPENDENCIES:
        assert body[name]["status"] in {"ok", "failing", "degraded", "unknown"}, body[name]
        assert isinstance(body[name]["required"], bool)
        assert (body[name]["status"] == "ok") == ("reason" not in body[name]), body[name]
    return body


def test_every_dependency_is_reported_and_a_closed_chain_alone_is_the_reason(
    observed_hub: Hub,
) -> None:
    with TestClient(create_app(observed_hub, run_background=False)) as client:
        body = ready_body(client, 200)
        assert body["status"] == "ready" and "reasons" not in body
        assert body["database"] == {"status": "ok", "required": True}
        assert body["chain"]["chainId"] == observed_hub.settings.chain.chain_id
        assert body["blobStore"]["status"] == "ok"
        assert body["timestampAuthority"]["required"] is False
        assert set(body["evidence"]["stages"]) == {"timestamp", "anchor", "certify"}

        observed_hub.chain.close()
        body = ready_body(client, 503)
        assert body["error"] == "not_ready"
        assert set(body["reasons"]) == {"chain"}
        assert body["chain"]["status"] == "failing" and body["reasons"]["chain"]
        assert body["didIndex"]["status"] == "unknown"  # its head is the chain's
        assert body["database"]["status"] == "ok"


def test_a_blob_store_without_its_directory_is_not_ready(observed_hub: Hub) -> None:
    blobs = observed_hub.evidence.blobs
    objects: Path = blobs.objects_dir  # type: ignore[attr-defined]
    with TestClient(create_app(observed_hub, run_background=False)) as client:
        moved = objects.rename(objects.with_name("elsewhere"))
        try:
            body = ready_body(client, 503)
            assert set(body["reasons"]) == {"blobStore"}
            assert "keyed directory missing" in body["blobStore"]["reason"]
        finally:
            moved.rename(objects)
        ready_body(client, 200)


def test_a_refusing_timestamp_authority_is_named_and_the_stage_makes_the_hub_unready(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    refusing = f"http://127.0.0.1:{free_port()}/tsa"  # nobody listens there
    settings = hub_settings(
        tmp_path / "data",
        db_url,
        timestamps=TimestampSettings(urls=[refusing], embedded=False, retries=0),
        evidence=EvidenceSettings(poll_seconds=0.05, unready_after_failures=2),
    )
    hub = open_hub(settings)
    try:
        with TestClient(create_app(hub)) as client:
            response = client.post(
                "/evidence/deposits", headers=DEPOSITING, json={"sha256": fresh_digest()}
            )
            assert response.status_code == 201, response.text
            deadline = time.monotonic() + 60
            while client.get("/readyz").status_code == 200:
                assert time.monotonic() < deadline, client.get("/readyz").json()
                time.sleep(0.1)
            body = ready_body(client, 503)
            assert set(body["reasons"]) == {"evidence"}, body["reasons"]
            assert body["reasons"]["evidence"].startswith("timestamp stage failing repeatedly")
            assert body["evidence"]["stages"]["timestamp"]["status"] == "failing"
            assert body["evidence"]["stages"]["certify"] == {"status": "ok"}
            tsa = body["timestampAuthority"]
            assert tsa["status"] == "failing" and tsa["required"] is False
            assert tsa["authorities"][refusing]["error"].startswith("unavailable: "), tsa
            for name in ("database", "chain", "blobStore"):
                assert body[name]["status"] == "ok", body[name]
            metrics = samples(client.get("/metrics", headers=SCRAPING).text)
            errors = "notary_hub_tsa_errors_total"
            assert value(metrics, errors, authority=refusing, kind="unavailable") >= 1
    finally:
        hub.close()


def test_an_indexer_behind_the_chain_is_not_ready_until_it_catches_up(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    settings = hub_settings(
        tmp_path / "data", db_url, metrics=MetricsSettings(index_unready_blocks=2, cache_seconds=0)
    )
    hub = open_hub(settings)
    try:
        with TestClient(create_app(hub, run_background=False)) as client:
            hub.indexer.catch_up()
            assert ready_body(client, 200)["didIndex"]["behind"] == 0
            for _ in range(2):  # two anchored batches: two blocks the indexer has not seen
                hub.queue.enqueue(bytes.fromhex(fresh_digest()), "deposit")
                hub.batcher.run_once()
            body = ready_body(client, 503)
            assert set(body["reasons"]) == {"didIndex"}
            assert body["didIndex"]["behind"] >= 2
            assert "blocks behind the chain (limit 2)" in body["reasons"]["didIndex"]
            lag = samples(client.get("/metrics").text)  # dev mode, no bearer set: open
            assert value(lag, "notary_hub_did_index_lag_blocks") >= 2
            hub.indexer.catch_up()
            assert ready_body(client, 200)["didIndex"]["behind"] == 0
    finally:
        hub.close()
