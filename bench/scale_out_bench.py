"""Issue 16: hash-only deposits per second as the hub scales out, side by side in one run.

    python bench/scale_out_bench.py [--seconds 15] [--concurrency 32] [--counts 1,2,4]

On a fresh Hardhat node and PostgreSQL database (the operator's flow: ``init``, ``db
upgrade``, fund, ``chain deploy``), each topology is started in turn and driven by
``bench/load.py`` for ``--seconds``; then the run waits until everything it deposited is
certified. Figures: deposits accepted per second, p50/p99 of a deposit request, and
deposits per second from the first request to the last certification.

- ``serve`` alone: today's topology, one process with the pipeline inside;
- ``serve --workers N --no-pipeline`` (N from ``--counts``) with one
  ``notary-hub worker --stage all``: the scaling curve of HTTP processes;
- with ``--batch``, the same at the largest N through ``POST /evidence/deposits:batch``.

The machine's cores are shared by the load generator, the hub's processes, PostgreSQL
and the node: compare the rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import Load, parse_mix, report, run
from bench.machine import machine_info
from tests.fixtures.cluster import Cluster, start_cluster
from tests.fixtures.database import (
    ADMIN_URL,
    create_postgres_database,
    drop_postgres_database,
)
from tests.fixtures.hardhat import HardhatNode, free_port

LOAD_ENV = {
    # One client address drives everything: the per-IP limits of the public routes are
    # for the internet, not for a benchmark.
    "NOTARY_HUB_EVIDENCE_PUBLIC_RATE": "100000",
    "NOTARY_HUB_EVIDENCE_PUBLIC_BURST": "100000",
    "NOTARY_HUB_LOG_LEVEL": "WARNING",
}


def certified_among(c: Cluster, ids: list[str]) -> int:
    engine = c.engine()
    try:
        with engine.connect() as connection:
            statement = text(
                "SELECT count(*) FROM evidence_deposits "
                "WHERE state = 'certified' AND id = ANY(:ids)"
            )
            return int(connection.scalar(statement, {"ids": ids}) or 0)
    finally:
        engine.dispose()


def wait_all_certified(c: Cluster, ids: list[str], timeout: float = 1800) -> float:
    """Seconds until every deposit in ``ids`` is certified (read from the database: one
    query a second, not a request per deposit)."""
    started = time.monotonic()
    while certified_among(c, ids) < len(ids):
        if time.monotonic() - started > timeout:
            raise SystemExit(f"not all of {len(ids)} deposits certified after {timeout:.0f} s")
        time.sleep(0.5)
    return time.monotonic() - started


def measure(
    c: Cluster, label: str, mix: str, args: argparse.Namespace, *, seconds: float, concurrency: int
) -> str:
    load = Load(c.url, c.token, parse_mix(mix), args.batch_size, None, None)
    tally, elapsed = asyncio.run(run(load, seconds, concurrency))
    for line in report(tally, elapsed):
        print(f"  {line}")
    settle = wait_all_certified(c, tally.deposit_ids)
    made = len(tally.deposit_ids)
    accepted, certified = made / elapsed, made / (elapsed + settle)
    key = "batch" if "batch" in mix else "deposit"
    latencies = tally.latencies[key]
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else float("nan")
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan")
    return f"| {label} | {made} | {accepted:,.0f} | {p50:.0f} / {p99:.0f} | {certified:,.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--counts", default="1,2,4")
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]
    print(machine_info())
    workdir = Path(tempfile.mkdtemp(prefix="scale-out-bench-"))
    node = HardhatNode(port=free_port(), log_path=workdir / "hardhat.log")
    node.start()
    name, url = create_postgres_database(ADMIN_URL)
    rows = []
    try:
        c = start_cluster(node, workdir, url, **LOAD_ENV)
        print("serve (one process, pipeline inside)")
        c.serve(1, timeout=180)  # one process, the pipeline inside
        singles = {"seconds": args.seconds, "concurrency": args.concurrency}
        rows.append(measure(c, "`serve`, one process", "deposit", args, **singles))
        c.stop("http")
        c.worker("worker", "all")
        for count in counts:
            print(f"serve --workers {count} --no-pipeline + 1 worker")
            c.serve(count, "--no-pipeline", timeout=180)
            label = f"`serve --workers {count}` + 1 worker"
            rows.append(measure(c, label, "deposit", args, **singles))
            if args.batch and count == counts[-1]:
                print(f"  batch of {args.batch_size}")
                label = f"`serve --workers {count}` + 1 worker, batch"
                # A few batches at a time for a few seconds: enough to fill the pipeline.
                rows.append(measure(c, label, "batch", args, seconds=5, concurrency=4))
            c.stop("http")
        c.stop_all()
    finally:
        node.stop()
        drop_postgres_database(ADMIN_URL, name)
    print()
    print("| topology | deposits | accepted/s | deposit p50 / p99 ms | HTTP to certified/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
