"""Issue 16: the hub as several processes on PostgreSQL and a Hardhat node.

Two HTTP processes (``serve --workers 2``) take deposits while two ``notary-hub worker``
processes run the pipeline; one worker is killed with ``kill -9`` mid-stream. Every
accepted deposit ends certified exactly once: one anchor item each, one letter each
that names its own digest, every batch anchored once on chain.
"""

from __future__ import annotations

import os
import time

import pytest

from testkit.waiting import wait_until
from tests.fixtures.cluster import Cluster, Feeder, assert_each_certified_once, certified_count

pytestmark = [pytest.mark.hardhat, pytest.mark.slow]

DEPOSITS = int(os.environ.get("SCALE_OUT_DEPOSITS", "20000"))
CLIENTS = 8


def test_two_http_and_two_workers_certify_every_deposit_once_across_a_killed_worker(
    cluster: Cluster,
) -> None:
    c = cluster
    c.serve(workers=2)
    c.worker("worker-a", "all")
    c.worker("worker-b", "all")
    digests = [os.urandom(32) for _ in range(DEPOSITS)]
    started = time.monotonic()
    feeder = Feeder(c, digests, clients=4, batch=250).start()
    # Kill a worker once the pipeline is well under way, mid-stream.
    wait_until(
        lambda: certified_count(c) >= DEPOSITS // 10 or feeder.done(),
        timeout=600,
        interval=0.5,
        message=lambda: c.tail("worker-a") + c.tail("worker-b"),
    )
    c.kill("worker-a")
    accepted = feeder.join()
    assert len(accepted) == DEPOSITS
    wait_until(
        lambda: certified_count(c) == DEPOSITS,
        timeout=900,
        interval=1,
        message=lambda: f"certified {certified_count(c)} of {DEPOSITS}\n" + c.tail("worker-b"),
    )
    elapsed = time.monotonic() - started
    print(f"{DEPOSITS} deposits certified in {elapsed:.1f} s ({DEPOSITS / elapsed:.0f}/s)")
    assert_each_certified_once(c, accepted)
