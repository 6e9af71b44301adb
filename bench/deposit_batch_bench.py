"""Batch digest deposits next to single ones, over HTTP, from the first request to certified.

A script, not a test. Run from the repository root::

    .venv/bin/python bench/deposit_batch_bench.py [--singles 2000] [--batches 5]
        [--batch-size 1000] [--clients 32] [--batch-clients 2]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--no-sqlite]
        [--setting NOTARY_HUB_...=VALUE ...] [--hub-command "CMD ARGS"]

For each backend one fresh ``notary-hub serve`` (embedded chain and TSA, the hub's
defaults unless ``--setting`` says otherwise; :mod:`bench.deposit_bench` starts it) takes
a warm-up deposit to certified, then, in turn and each waited for until certified:

- ``singles``: ``--singles`` JSON digest deposits, one per ``POST /evidence/deposits``,
  from ``--clients`` keep-alive client threads (as ``bench/deposit_bench.py``);
- ``batches``: ``--batches`` requests of ``--batch-size`` items to
  ``POST /evidence/deposits:batch``, each item with its own ``idempotencyKey``, from
  ``--batch-clients`` threads.

Figures per row: accepted/s (first request sent to last answer), certified/s end to end
(first request sent to the last ``certified_at``), when the timestamp stage finished,
hub and client CPU per deposit, and a sample of letters checked by ``POST /evidence/verify``.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.deposit_bench import (
    CERTIFY_TIMEOUT,
    HUB_COMMAND,
    SAMPLE_LETTERS,
    Hub,
    check_letters,
    fire,
    running_hub,
    stage_times,
    throwaway_postgres,
    wait_certified,
    warm_up,
)
from bench.machine import machine_info


def batch_body(size: int, prefix: str) -> dict[str, Any]:
    return {
        "items": [
            {
                "sha256": secrets.token_hex(32),
                "title": f"bench batch deposit {i}",
                "idempotencyKey": f"{prefix}-{i}",
            }
            for i in range(size)
        ]
    }


def fire_batches(
    hub: Hub, batches: int, size: int, clients: int
) -> tuple[float, float, list[str], int]:
    """POST ``batches`` batches of ``size``: (t0, t_last_answer, deposit ids, refused items)."""
    local = threading.local()
    bodies = [batch_body(size, f"{secrets.token_hex(6)}-{b}") for b in range(batches)]

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=hub.url, headers=hub.headers, timeout=120)
        return local.client  # type: ignore[no-any-return]

    def post(body: dict[str, Any]) -> dict[str, Any]:
        answer = client().post("/evidence/deposits:batch", json=body)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    ids: list[str] = []
    refused = 0
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: client().get("/healthz"), range(clients * 4)))
        start = time.time()
        for result in pool.map(post, bodies):
            ids += [item["deposit"]["id"] for item in result["items"] if "deposit" in item]
            refused += result["refused"]
        accepted = time.time()
    return start, accepted, ids, refused


def measure(hub: Hub, name: str, send: Any, expected_total: int) -> dict[str, Any]:
    """Run ``send()`` and wait until ``expected_total`` deposits are certified in all."""
    since = datetime.now(UTC)
    cpu_before = hub.cpu_seconds()
    client_before = time.process_time()
    start, accepted, ids, errors = send()
    client_cpu = time.process_time() - client_before
    wait_certified(hub, expected_total, CERTIFY_TIMEOUT)
    cpu = hub.cpu_seconds() - cpu_before
    stages = stage_times(hub, since)
    verified = check_letters(hub, ids)
    t0 = datetime.fromtimestamp(start, UTC)
    certified = (stages["certified"] - t0).total_seconds()
    done = max(len(ids), 1)
    return {
        "mode": name,
        "deposits": len(ids),
        "errors": errors,
        "accepted_per_s": len(ids) / (accepted - start),
        "timestamped_s": (stages["timestamped"] - t0).total_seconds(),
        "certified_s": certified,
        "certified_per_s": len(ids) / certified,
        "cpu_ms": cpu * 1000 / done,
        "client_cpu_ms": client_cpu * 1000 / done,
        "verified": verified,
    }


def run_backend(backend: str, database_url: str | None, args: argparse.Namespace) -> list[Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="deposit-batch-bench-"))
    env = dict(setting.split("=", 1) for setting in args.setting)
    rows = []
    try:
        with running_hub(data_dir, database_url, args.hub_command.split(), env) as hub:
            warm_up(hub)
            total = 1
            if args.singles:
                total += args.singles
                row = measure(hub, "singles", lambda: fire(hub, args.singles, args.clients), total)
                rows.append({"backend": backend, **row})
            if args.batches:
                total += args.batches * args.batch_size
                row = measure(
                    hub,
                    f"batches of {args.batch_size}",
                    lambda: fire_batches(hub, args.batches, args.batch_size, args.batch_clients),
                    total,
                )
                rows.append({"backend": backend, **row})
            if hub.process.poll() is not None:
                raise RuntimeError(f"the hub died: see {hub.log}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--singles", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-clients", type=int, default=2)
    parser.add_argument("--postgres", default=None, help="admin URL of a PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--hub-command", default=" ".join(HUB_COMMAND))
    args = parser.parse_args()
    print(machine_info())
    print(
        f"singles: {args.singles} from {args.clients} clients; batches: {args.batches} x "
        f"{args.batch_size} from {args.batch_clients} clients; hub settings: "
        f"{' '.join(args.setting) or 'defaults'}"
    )
    print(
        f"{'backend':<11}{'mode':<18}{'deposits':>9}{'errors':>7}{'accepted/s':>12}"
        f"{'timestamped by':>16}{'certified by':>14}{'certified/s':>13}"
        f"{'CPU/dep hub':>13}{'client':>10}{'letters ok':>12}",
        flush=True,
    )
    if not args.no_sqlite:
        print_rows(run_backend("sqlite", None, args))
    if args.postgres:
        with throwaway_postgres(args.postgres) as url:
            print_rows(run_backend("postgresql", url, args))


def print_rows(rows: list[Any]) -> None:
    """Each backend's rows as soon as it is done (a later backend failing loses nothing)."""
    for r in rows:
        print(
            f"{r['backend']:<11}{r['mode']:<18}{r['deposits']:>9}{r['errors']:>7}"
            f"{r['accepted_per_s']:>12,.0f}{r['timestamped_s']:>14.2f} s{r['certified_s']:>12.2f} s"
            f"{r['certified_per_s']:>13,.0f}{r['cpu_ms']:>10.2f} ms{r['client_cpu_ms']:>7.2f} ms"
            f"{r['verified']:>8}/{SAMPLE_LETTERS}",
            flush=True,
        )


if __name__ == "__main__":
    main()
