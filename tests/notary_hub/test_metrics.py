"""``GET /metrics`` (issue 16 item 5): real deposits counted, queue depths at scrape time,
route templates as labels, the scraper's bearer, the cache, and several processes summed.

The deposits move stage by stage by hand (no background workers), so each scrape between
two passes has exact figures to show.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from evidence.metrics import without_userinfo
from notary_hub.app import create_app
from notary_hub.hub import Hub
from notary_hub.metrics import MULTIPROC_ENV, exposition, metrics_router, prepare_multiprocess
from notary_hub.metrics_hub import HubCollector, HubFigures
from notary_hub.settings import KeySettings, Settings
from notary_hub.settings_metrics import MetricsSettings
from tests.notary_hub.observability_support import (
    DEPOSITING,
    SCRAPER,
    SCRAPING,
    fresh_digest,
    observed_hub,
    samples,
    value,
)

__all__ = ["observed_hub"]  # the fixture, used by name
DEPOSITS = 3
ROUTE = "/evidence/deposits"
ONE = "/evidence/deposits/{deposit_id}"


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers=SCRAPING)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


def test_real_deposits_are_counted_and_their_queues_measured(observed_hub: Hub) -> None:
    hub = observed_hub
    pipeline = hub.evidence.pipeline
    with TestClient(create_app(hub, run_background=False)) as client:
        before = scrape(client)
        posted = value(
            before, "notary_hub_http_requests_total", route=ROUTE, method="POST", status="2xx"
        )
        certified = value(before, "notary_hub_deposit_certified_seconds_count")
        ids = []
        for _ in range(DEPOSITS):
            response = client.post(ROUTE, headers=DEPOSITING, json={"sha256": fresh_digest()})
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        for deposit_id in ids:  # raw paths never become labels: one template for all
            assert client.get(f"{ROUTE}/{deposit_id}", headers=DEPOSITING).status_code == 200
        assert client.get("/no/such/path/" + fresh_digest()).status_code == 404

        after = scrape(client)
        assert (
            value(after, "notary_hub_http_requests_total", route=ROUTE, method="POST", status="2xx")
            == posted + DEPOSITS
        )
        assert (
            value(after, "notary_hub_http_requests_total", route=ONE, method="GET", status="2xx")
            >= DEPOSITS
        )
        assert (
            value(
                after,
                "notary_hub_http_requests_total",
                route="unmatched",
                method="GET",
                status="4xx",
            )
            >= 1
        )
        assert not any(deposit_id in str(key) for key in after for deposit_id in ids)
        assert (
            value(
                after, "notary_hub_http_request_duration_seconds_count", route=ROUTE, method="POST"
            )
            >= DEPOSITS
        )
        assert value(after, "notary_hub_deposits_waiting", stage="timestamp") == DEPOSITS
        assert value(after, "notary_hub_deposits_oldest_waiting_seconds", stage="timestamp") >= 0
        assert value(after, "notary_hub_scrape_source_up", source="database") == 1
        assert ("notary_hub_captures_unfinished", frozenset({("state", "live")})) in after

        assert pipeline.timestamp_pass() == DEPOSITS
        middle = scrape(client)
        assert value(middle, "notary_hub_deposits_waiting", stage="timestamp") == 0
        assert value(middle, "notary_hub_deposits_waiting", stage="anchor") == DEPOSITS

        assert pipeline.anchor_pass() == 0  # enqueued, not yet on chain
        queued = scrape(client)
        assert value(queued, "notary_hub_anchor_items_pending") == DEPOSITS
        hub.batcher.run_once()
        assert value(scrape(client), "notary_hub_anchor_items_pending") == 0

        assert pipeline.anchor_pass() == DEPOSITS
        assert value(scrape(client), "notary_hub_deposits_waiting", stage="certify") == DEPOSITS
        assert pipeline.certify_pass() == DEPOSITS
        done = scrape(client)
        assert {
            value(done, "notary_hub_deposits_waiting", stage=s)
            for s in ("timestamp", "anchor", "certify")
        } == {0}
        assert value(done, "notary_hub_deposit_certified_seconds_count") == certified + DEPOSITS
        assert (
            value(done, "notary_hub_deposit_certified_seconds_bucket", le="+Inf")
            == certified + DEPOSITS
        )
        hub.indexer.catch_up()
        assert value(done, "notary_hub_scrape_source_up", source="chain") == 1
        assert value(scrape(client), "notary_hub_did_index_lag_blocks") == 0


def test_the_scrapers_bearer_is_required_unless_explicitly_public() -> None:
    figures = HubCollector(lambda: HubFigures(up={"database": True}), 0)

    def client(settings: MetricsSettings, *, dev: bool) -> TestClient:
        app = FastAPI()
        app.include_router(metrics_router(settings, figures, dev=dev))
        from notary_hub.errors import install_error_handlers

        install_error_handlers(app)
        return TestClient(app)

    guarded = client(MetricsSettings(token=SecretStr(SCRAPER)), dev=False)
    missing = guarded.get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for wrong in (
        f"Bearer {SCRAPER[:-1]}",
        f"Bearer {SCRAPER}x",
        f"Basic {SCRAPER}",
        SCRAPER,
        "Bearer ",
    ):
        assert guarded.get("/metrics", headers={"authorization": wrong}).status_code == 401, wrong
    assert guarded.get("/metrics", headers=SCRAPING).status_code == 200
    # Production with neither a bearer nor "public": nobody reads it, whatever they send.
    closed = client(MetricsSettings(), dev=False)
    assert closed.get("/metrics").status_code == 401
    assert closed.get("/metrics", headers={"authorization": "Bearer "}).status_code == 401
    assert closed.get("/metrics", headers=SCRAPING).status_code == 401
    # Said in so many words: public. Dev mode without a bearer: open, for the quickstart.
    assert client(MetricsSettings(public=True), dev=False).get("/metrics").status_code == 200
    assert client(MetricsSettings(), dev=True).get("/metrics").status_code == 200
    assert (
        client(MetricsSettings(token=SecretStr(SCRAPER)), dev=True).get("/metrics").status_code
        == 401
    )


def test_production_refuses_a_short_metrics_bearer(tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    key.write_bytes(b"k" * 32)
    with pytest.raises(ValueError, match="/metrics bearer"):
        production(key, "short")
    assert production(key, SCRAPER).metrics.token is not None


def production(key: Path, token: str) -> Settings:
    return Settings(
        mode="production",
        keys=KeySettings(master_key_file=key),
        metrics=MetricsSettings(token=SecretStr(token)),
    )


def test_scrapes_in_a_burst_read_the_database_once() -> None:
    now = [0.0]
    collector = HubCollector(lambda: HubFigures(anchor_pending=7), 5.0, clock=lambda: now[0])
    for _ in range(50):
        assert (
            value(samples(exposition(collector).decode()), "notary_hub_anchor_items_pending") == 7
        )
    assert collector.reads == 1
    now[0] = 5.0
    exposition(collector)
    assert collector.reads == 2


WRITER = textwrap.dedent(
    """
    import sys
    from notary_hub.metrics_http import HTTP_REQUESTS
    from evidence.metrics import DEPOSIT_CERTIFIED_SECONDS, count_tsa_error
    from chain_adapter.metrics import count_chain_error
    times = int(sys.argv[1])
    for _ in range(times):
        HTTP_REQUESTS.labels("/evidence/deposits", "POST", "2xx").inc()
        DEPOSIT_CERTIFIED_SECONDS.observe(3.0)
    count_tsa_error("http://tsa.example", "unavailable")
    count_chain_error("batcher", "chain_unavailable")
    """
)


def test_two_processes_add_up_in_one_multiprocess_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "prometheus"
    # Recorded as it was (unset), so the variable prepare_multiprocess sets is undone after:
    # later tests in this process read their own in-memory figures.
    monkeypatch.setenv(MULTIPROC_ENV, "")
    prepare_multiprocess(directory)
    assert os.environ[MULTIPROC_ENV] == str(directory.resolve())
    for times in (2, 5):  # two processes, each its own pid's files in the one directory
        subprocess.run([sys.executable, "-c", WRITER, str(times)], check=True, env=dict(os.environ))
    assert len(list(directory.glob("*.db"))) >= 2

    collector = HubCollector(lambda: HubFigures(), 0)
    parsed = samples(exposition(collector).decode())
    assert (
        value(parsed, "notary_hub_http_requests_total", route=ROUTE, method="POST", status="2xx")
        == 7
    )
    assert value(parsed, "notary_hub_deposit_certified_seconds_count") == 7
    assert value(parsed, "notary_hub_deposit_certified_seconds_sum") == 21.0
    assert (
        value(
            parsed,
            "notary_hub_tsa_errors_total",
            authority="http://tsa.example",
            kind="unavailable",
        )
        == 2
    )
    assert (
        value(parsed, "notary_hub_chain_errors_total", source="batcher", code="chain_unavailable")
        == 2
    )

    # A new run starts from nothing: the last run's samples are gone, other files stay.
    (directory / "keep.txt").write_text("not prometheus-client's")
    prepare_multiprocess(directory)
    parsed = samples(exposition(collector).decode())
    assert (
        value(parsed, "notary_hub_http_requests_total", route=ROUTE, method="POST", status="2xx")
        == 0
    )
    assert (directory / "keep.txt").exists()


def test_no_multiprocess_directory_leaks_out_of_the_test_above() -> None:
    assert not os.environ.get(MULTIPROC_ENV)


def test_a_tsa_urls_credentials_never_become_a_label() -> None:
    assert without_userinfo("https://user:secret@tsa.example/tsr") == "https://tsa.example/tsr"
    assert without_userinfo("https://tsa.example:8443/tsr") == "https://tsa.example:8443/tsr"
