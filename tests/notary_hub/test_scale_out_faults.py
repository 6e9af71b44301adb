"""Issue 16, item 3: faults under a hub of several processes, each while deposits stream in.

Each test runs the topology (HTTP processes and pipeline workers on PostgreSQL and an
external node), breaks one thing mid-stream, mends it, and then finds every deposit the
hub accepted certified exactly once (``assert_each_certified_once``). The platform side
(``Feeder``) retries what failed under its ``Idempotency-Key``, as a platform would.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from testkit.tcp_proxy import TcpProxy
from testkit.waiting import wait_until
from tests.fixtures.anvil import AnvilNode
from tests.fixtures.cluster import (
    Cluster,
    Feeder,
    assert_each_certified_once,
    certified_count,
    start_cluster,
)
from tests.fixtures.database import create_postgres_database, drop_postgres_database
from tests.fixtures.hardhat import HardhatNode
from tests.fixtures.private_postgres import PrivatePostgres

pytestmark = [pytest.mark.hardhat, pytest.mark.slow]

DEPOSITS = 800


def run_through(c: Cluster, *faults: Callable[[], None], settle: float = 600) -> Feeder:
    """Feed deposits; apply each fault in turn once a further part is certified; wait for
    them all."""
    feeder = Feeder(c, [os.urandom(32) for _ in range(DEPOSITS)]).start()
    for number, fault in enumerate(faults, start=1):
        reached = _certified_at_least(c, feeder, DEPOSITS * number // (len(faults) + 2))
        wait_until(reached, timeout=600, interval=0.3, message=lambda: c.tail("worker-a"))
        fault()
    accepted = feeder.join()
    assert len(accepted) == DEPOSITS
    wait_until(
        lambda: certified_count(c) == DEPOSITS,
        timeout=settle,
        interval=1,
        message=lambda: f"certified {certified_count(c)} of {DEPOSITS}\n" + c.tail("worker-a"),
    )
    assert_each_certified_once(c, accepted)
    return feeder


def _certified_at_least(c: Cluster, feeder: Feeder, share: int) -> Callable[[], bool]:
    return lambda: certified_count(c) >= share or feeder.done()


def test_postgresql_restarted_then_the_node_cut_off_mid_stream(
    own_hardhat: HardhatNode, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    """Two faults on one cluster (each start of the topology costs a minute): PostgreSQL
    restarted, then the connection to the node cut through a proxy and restored."""
    proxy = TcpProxy("127.0.0.1", own_hardhat.port)
    c = start_cluster(
        own_hardhat, tmp_path, private_postgres.url, NOTARY_HUB_CHAIN_RPC_URL=proxy.url
    )
    try:
        c.serve(workers=2)
        c.worker("worker-a", "all")
        c.worker("worker-b", "all")

        def restart() -> None:
            private_postgres.stop("fast")  # every connection of every process is cut
            time.sleep(2)
            private_postgres.start()

        def cut() -> None:
            proxy.cut()
            time.sleep(5)
            proxy.restore()

        feeder = run_through(c, restart, cut)
        assert feeder.retries > 0, "the restart went unnoticed: no request failed"
        assert proxy.refused > 0, "nobody tried the node while it was cut off"
        # The hub's processes outlived both: none exited, and the hub is ready again.
        assert all(p.poll() is None for p in c.processes.values())
        wait_until(lambda: httpx.get(f"{c.url}/readyz").status_code == 200, timeout=60)
    finally:
        c.stop_all()
        proxy.close()


def test_chain_node_restarted_mid_stream(
    anvil_node: AnvilNode, postgres_admin: str, tmp_path: Path
) -> None:
    name, url = create_postgres_database(postgres_admin)
    c = start_cluster(anvil_node, tmp_path, url)
    try:
        c.serve(workers=2)
        c.worker("worker-a", "all")
        c.worker("worker-b", "all")
        head = int(anvil_node.rpc("eth_blockNumber"), 16)

        def restart() -> None:
            anvil_node.stop()  # anvil writes its state as it stops, and reads it back
            time.sleep(3)
            anvil_node.start()

        run_through(c, restart)
        # The node came back with its chain: the anchored batches are on it.
        assert int(anvil_node.rpc("eth_blockNumber"), 16) > head
    finally:
        c.stop_all()
        drop_postgres_database(postgres_admin, name)


def test_the_same_idempotency_key_at_the_same_instant_on_two_http_processes(
    cluster: Cluster,
) -> None:
    """Two ``serve`` processes on their own ports, each sent the same key at once."""
    c = cluster
    c.serve(workers=1)  # no pipeline needed: this is about acceptance
    second = Cluster(c.workdir, c.env, c.database_url)
    second.start("http-2", "serve", "--no-pipeline", "--port", str(second.port))
    wait_until(lambda: _ready(second.url), timeout=120, message=lambda: second.tail("http-2"))
    try:
        for round_ in range(40):
            key = f"same-instant-{round_}"
            body = {"sha256": os.urandom(32).hex()}
            answers = _at_once(
                [(c, key, body), (second, key, body)]
            )  # two processes, one key, one body
            assert {a.status_code for a in answers} <= {200, 201}, [a.text for a in answers]
            assert len({a.json()["id"] for a in answers}) == 1
            # The same key with another body at the same instant: one deposit, the other
            # request refused as a reused key (never a second deposit).
            key = f"same-instant-other-{round_}"
            answers = _at_once(
                [(c, key, {"sha256": os.urandom(32).hex()}),
                 (second, key, {"sha256": os.urandom(32).hex()})]
            )  # fmt: skip
            codes = sorted(a.status_code for a in answers)
            assert codes[0] in (200, 201) and codes[1] == 422, [a.text for a in answers]
        assert c.scalar("SELECT count(*) FROM evidence_deposits") == 80
    finally:
        second.stop_all()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _at_once(requests: list[tuple[Cluster, str, dict[str, str]]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | None] = [None] * len(requests)
    clients = [target.client() for target, _, _ in requests]
    for client in clients:  # connections open before the barrier: the POSTs race
        client.get("/healthz")

    def send(index: int) -> None:
        _, key, body = requests[index]
        barrier.wait()
        answers[index] = clients[index].post(
            "/evidence/deposits", json=body, headers={"Idempotency-Key": key}
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for client in clients:
        client.close()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]
