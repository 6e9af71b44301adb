"""Issue 16: the hub as several processes on PostgreSQL and a Hardhat node.

Two HTTP processes (``serve --workers 2``) take deposits while two ``notary-hub worker``
processes run the pipeline; one worker is killed with ``kill -9`` mid-stream. Every
accepted deposit ends certified exactly once: one anchor item each, one letter each
that names its own digest, every batch anchored once on chain.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from evidence.digests import SHA256, digest_multibase
from testkit.waiting import wait_until
from tests.fixtures.cluster import Cluster, cluster  # noqa: F401 - a fixture

pytestmark = [pytest.mark.hardhat, pytest.mark.slow]

DEPOSITS = int(os.environ.get("SCALE_OUT_DEPOSITS", "20000"))
CLIENTS = 8


def deposit_all(c: Cluster, digests: list[bytes], accepted: dict[str, str]) -> None:
    """POST each digest as a deposit of its own, ``CLIENTS`` at a time; keep the ids."""
    lock = threading.Lock()

    def send(chunk: list[bytes]) -> None:
        with c.client() as http:
            for digest in chunk:
                response = http.post("/evidence/deposits", json={"sha256": digest.hex()})
                assert response.status_code == 201, response.text
                with lock:
                    accepted[response.json()["id"]] = digest.hex()

    chunks = [digests[i::CLIENTS] for i in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(send, chunk) for chunk in chunks]:
            future.result()


def certified_count(c: Cluster) -> int:
    return int(c.scalar("SELECT count(*) FROM evidence_deposits WHERE state = 'certified'"))


def test_two_http_and_two_workers_certify_every_deposit_once_across_a_killed_worker(
    cluster: Cluster,  # noqa: F811
) -> None:
    c = cluster
    c.serve(workers=2)
    c.worker("worker-a", "all")
    c.worker("worker-b", "all")
    digests = [os.urandom(32) for _ in range(DEPOSITS)]
    accepted: dict[str, str] = {}
    failures: list[BaseException] = []

    def feed() -> None:
        try:
            deposit_all(c, digests, accepted)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    feeding = threading.Thread(target=feed)
    started = time.monotonic()
    feeding.start()
    # Kill a worker once the pipeline is well under way, mid-stream.
    wait_until(lambda: certified_count(c) >= DEPOSITS // 10 or not feeding.is_alive(), timeout=600, interval=0.5,
               message=lambda: c.tail("worker-a") + c.tail("worker-b"))  # fmt: skip
    c.kill("worker-a")
    feeding.join()
    assert not failures, failures
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


def assert_each_certified_once(c: Cluster, accepted: dict[str, str]) -> None:
    # One deposit per accepted id, each with its own anchor item, all certified.
    assert c.scalar("SELECT count(*) FROM evidence_deposits") == len(accepted)
    assert c.scalar("SELECT count(DISTINCT anchor_item_id) FROM evidence_deposits") == len(
        accepted
    )
    assert c.scalar("SELECT count(*) FROM anchor_items WHERE kind = 'deposit'") == len(accepted)
    # Every batch anchored, each on chain once: distinct transactions, distinct roots.
    assert c.scalar("SELECT count(*) FROM anchor_batches WHERE state <> 'anchored'") == 0
    batches = c.scalar("SELECT count(*) FROM anchor_batches")
    assert c.scalar("SELECT count(DISTINCT tx_hash) FROM anchor_batches") == batches
    assert c.scalar("SELECT count(DISTINCT root) FROM anchor_batches") == batches
    # One letter each, for its own deposit: the digest each letter certifies is the one
    # that deposit was accepted with, and no two letters share a status entry.
    with c.client() as http:
        sample = list(accepted.items())[:: max(1, len(accepted) // 200)]
        for deposit_id, digest in sample:
            letter = http.get(f"/evidence/deposits/{deposit_id}/credential").json()
            subject = letter["credentialSubject"]
            assert subject["depositId"] == deposit_id
            assert subject["digestMultibase"] == digest_multibase(SHA256, bytes.fromhex(digest))
    letters = c.scalar("SELECT count(DISTINCT letter::jsonb ->> 'id') FROM evidence_deposits")
    assert letters == len(accepted)
    entries = c.scalar(
        "SELECT count(DISTINCT (letter::jsonb -> 'credentialStatus') ->> 'id') "
        "FROM evidence_deposits"
    )
    assert entries == len(accepted)
