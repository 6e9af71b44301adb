"""Issue 16 item 5 under the topology of several processes: ``serve --workers 2`` and a
``notary-hub worker`` on one host share a multiprocess directory, so ``/metrics``, from
whichever HTTP process answers, sums every process's counters; and one request id is
found in the HTTP processes' log and in the worker's.
"""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest

from testkit.waiting import wait_until
from tests.fixtures.cluster import DEPOSITOR, Cluster, certified_count
from tests.notary_hub.observability_support import samples, value

pytestmark = [pytest.mark.hardhat]
DEPOSITS = 24
ROUTE = "/evidence/deposits"


def test_http_workers_and_a_stage_worker_add_up_at_metrics(cluster: Cluster) -> None:
    c = cluster
    c.serve(workers=2)  # prepares DATA_DIR/prometheus and names it to its workers
    shared = c.workdir / ".notary-hub" / "prometheus"
    assert shared.is_dir()
    # A stage worker on this host writes there too when the operator names the directory.
    c.start("worker", "worker", "--stage", "all", env={"PROMETHEUS_MULTIPROC_DIR": str(shared)})
    headers = {"authorization": f"Bearer {c.token}", "Depositor": DEPOSITOR}
    request_ids = [f"cluster-trace-{n:04d}" for n in range(DEPOSITS)]
    for request_id in request_ids:  # a fresh connection each: both HTTP processes answer
        response = httpx.post(
            f"{c.url}{ROUTE}",
            headers={**headers, "X-Request-Id": request_id},
            json={"sha256": os.urandom(32).hex()},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        assert response.headers["x-request-id"] == request_id
    wait_until(lambda: certified_count(c) == DEPOSITS, timeout=300, interval=0.5,
               message=lambda: c.tail("worker"))  # fmt: skip

    def scrape() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        response = httpx.get(f"{c.url}/metrics", timeout=30)  # dev mode, no bearer: open
        assert response.status_code == 200, response.text
        return samples(response.text)

    wait_until(
        lambda: value(scrape(), "notary_hub_deposit_certified_seconds_count") == DEPOSITS,
        timeout=30,
        interval=0.5,
    )
    for _ in range(6):  # every answer, from either HTTP process, has every process's sums
        parsed = scrape()
        posted = value(
            parsed, "notary_hub_http_requests_total", route=ROUTE, method="POST", status="2xx"
        )
        assert posted == DEPOSITS
        assert value(parsed, "notary_hub_deposit_certified_seconds_count") == DEPOSITS
        assert value(parsed, "notary_hub_deposits_waiting", stage="timestamp") == 0
    writers = {path.name.rsplit("_", 1)[-1] for path in shared.glob("*.db")}
    assert len(writers) >= 3, sorted(writers)  # two HTTP processes and the worker

    time.sleep(0.5)  # the last lines flushed
    http_log, worker_log = c.log("http").read_text(), c.log("worker").read_text()
    for request_id in request_ids[:3]:
        received = _lines(http_log, request_id)
        moved = _lines(worker_log, request_id)
        assert [line["msg"] for line in received] == ["deposit received"], received
        assert ("deposit moved", "certified") in [(m["msg"], m.get("state")) for m in moved]


def _lines(log: str, request_id: str) -> list[dict[str, object]]:
    return [
        entry
        for line in log.splitlines()
        if line.startswith("{") and (entry := json.loads(line)).get("request_id") == request_id
    ]
