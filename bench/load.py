"""Drive a running hub (one process or a cluster) with a mix of work; print throughput and
latency percentiles per operation.

    python bench/load.py --url http://127.0.0.1:8000 --token TOKEN \\
        --seconds 20 --concurrency 32 --mix deposit=8,verify=1,resolve=1

Operations:

- ``deposit``: ``POST /evidence/deposits`` with a fresh random SHA-256 (hash only);
- ``batch``: ``POST /evidence/deposits:batch`` with ``--batch-size`` fresh digests;
- ``verify``: ``POST /evidence/verify`` of a custody letter the hub certified (one is made
  and awaited first);
- ``resolve``: ``GET /1.0/identifiers/{did}`` of the notary's DID.

Each of ``--concurrency`` asyncio tasks picks operations by the mix's weights and sends
them back to back; a request's latency is from sending to the whole answer. Answers
other than 2xx are counted as errors (by status) and left out of the percentiles. A
deposit accepted here is counted once; ``--wait-certified`` then waits until every
deposit this run made is certified and reports the rate from first request to last
certification. The public routes' per-IP rate limits apply: a load test from one address
needs them raised (``NOTARY_HUB_EVIDENCE_PUBLIC_RATE``/``_BURST``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

DEPOSITOR = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"  # any valid DID


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    deposit_ids: list[str] = field(default_factory=list)
    items: Counter[str] = field(default_factory=Counter)  # deposits made per operation


@dataclass(frozen=True)
class Load:
    url: str
    token: str
    mix: dict[str, int]
    batch_size: int
    letter: dict[str, Any] | None
    notary_did: str | None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def one(client: httpx.AsyncClient, load: Load, op: str, tally: Tally) -> None:
    started = time.perf_counter()
    if op == "deposit":
        response = await client.post("/evidence/deposits", json={"sha256": os.urandom(32).hex()})
    elif op == "batch":
        digests = [os.urandom(32).hex() for _ in range(load.batch_size)]
        items = [{"sha256": d, "idempotencyKey": d[:40]} for d in digests]
        response = await client.post("/evidence/deposits:batch", json={"items": items})
    elif op == "verify":
        response = await client.post("/evidence/verify", json={"letter": load.letter})
    else:
        response = await client.get(f"/1.0/identifiers/{load.notary_did}")
    elapsed = time.perf_counter() - started
    if response.status_code >= 300:
        tally.errors[f"{op} {response.status_code}"] += 1
        return
    tally.latencies[op].append(elapsed)
    if op == "deposit":
        tally.deposit_ids.append(response.json()["id"])
        tally.items[op] += 1
    elif op == "batch":
        made = [r["deposit"]["id"] for r in response.json()["items"] if "deposit" in r]
        tally.deposit_ids.extend(made)
        tally.items[op] += len(made)


async def run(load: Load, seconds: float, concurrency: int) -> tuple[Tally, float]:
    tally = Tally()
    ops, weights = list(load.mix), list(load.mix.values())
    headers = {"authorization": f"Bearer {load.token}", "Depositor": DEPOSITOR}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=load.url, headers=headers, timeout=120, limits=limits
    ) as client:
        deadline = time.monotonic() + seconds

        async def task() -> None:
            while time.monotonic() < deadline:
                try:
                    await one(client, load, random.choices(ops, weights)[0], tally)
                except httpx.HTTPError as exc:
                    tally.errors[type(exc).__name__] += 1

        started = time.monotonic()
        await asyncio.gather(*(task() for _ in range(concurrency)))
        return tally, time.monotonic() - started


def prepare(url: str, token: str, mix: dict[str, int]) -> tuple[dict[str, Any] | None, str | None]:
    """A certified letter to verify, and its issuer (the notary's DID) to resolve."""
    if not (mix.get("verify") or mix.get("resolve")):
        return None, None
    headers = {"authorization": f"Bearer {token}", "Depositor": DEPOSITOR}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        made = client.post("/evidence/deposits", json={"sha256": os.urandom(32).hex()}).json()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if client.get(f"/evidence/deposits/{made['id']}").json()["state"] == "certified":
                letter = client.get(f"/evidence/deposits/{made['id']}/credential").json()
                issuer = letter["issuer"]
                return letter, issuer["id"] if isinstance(issuer, dict) else issuer
            time.sleep(0.2)
    raise SystemExit("no deposit was certified within 120 s: is a pipeline running?")


def wait_certified(url: str, token: str, ids: list[str], timeout: float) -> float:
    """Seconds until every deposit in ``ids`` is certified, asked through the API in the
    order they were made: the pipeline takes the oldest first, so each deposit is asked
    about until it is certified and then never again."""
    headers = {"authorization": f"Bearer {token}", "Depositor": DEPOSITOR}
    started = time.monotonic()
    next_id = 0
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        while next_id < len(ids):
            if time.monotonic() - started > timeout:
                left = len(ids) - next_id
                raise SystemExit(f"{left} deposits not certified after {timeout:.0f} s")
            state = client.get(f"/evidence/deposits/{ids[next_id]}").json()["state"]
            if state == "certified":
                next_id += 1
            else:
                time.sleep(0.5)
    return time.monotonic() - started


def report(tally: Tally, elapsed: float) -> list[str]:
    lines = [f"{'operation':<10}{'count':>8}{'per s':>10}{'p50 ms':>10}{'p99 ms':>10}"]
    for op, values in sorted(tally.latencies.items()):
        lines.append(
            f"{op:<10}{len(values):>8}{len(values) / elapsed:>10.1f}"
            f"{percentile(values, 0.5) * 1000:>10.1f}{percentile(values, 0.99) * 1000:>10.1f}"
        )
    made = sum(tally.items.values())
    lines.append(f"deposits made {made} ({made / elapsed:.1f}/s accepted)")
    if tally.errors:
        lines.append("errors " + ", ".join(f"{k}: {v}" for k, v in sorted(tally.errors.items())))
    return lines


def parse_mix(text: str) -> dict[str, int]:
    mix: dict[str, int] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name not in ("deposit", "batch", "verify", "resolve"):
            raise SystemExit(f"unknown operation {name!r} in --mix")
        mix[name] = int(weight or "1")
    return mix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True, help="A bearer token (dev: DATA_DIR/api-token).")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--mix", default="deposit=8,verify=1,resolve=1")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--wait-certified", action="store_true")
    args = parser.parse_args()
    mix = parse_mix(args.mix)
    letter, notary_did = prepare(args.url, args.token, mix)
    load = Load(args.url, args.token, mix, args.batch_size, letter, notary_did)
    tally, elapsed = asyncio.run(run(load, args.seconds, args.concurrency))
    for line in report(tally, elapsed):
        print(line)
    if args.wait_certified and tally.deposit_ids:
        settle = wait_certified(args.url, args.token, tally.deposit_ids, timeout=1800)
        total = elapsed + settle
        print(
            f"certified {len(tally.deposit_ids)} in {total:.1f} s from the first request "
            f"({len(tally.deposit_ids) / total:.1f}/s HTTP to certified)"
        )


if __name__ == "__main__":
    main()
