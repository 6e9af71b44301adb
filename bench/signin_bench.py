"""Wallet sign-ins per second, end to end over HTTP (issue 13 item 11).

A script, not a test. Run from the repository root::

    .venv/bin/python bench/signin_bench.py [--signins 200] [--clients 4]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

A fresh ``notary-hub serve`` (embedded chain; with ``--postgres`` on a throwaway
PostgreSQL database, else SQLite) with the sign-in rate limits lifted. Each of ``C``
client threads plays browser and wallet in turn (:mod:`testkit.signin`): the page
(``GET /signin``), the wallet's key set and request object (signature verified), a Data
Integrity presentation by a did:key holder (eddsa-rdfc-2022, bound to the nonce and the
hub's origin), the direct_post (verified by the hub), and the browser's poll that gets
the session cookie. Holders are 64 did:key identities in turn, so accounts are both
created and found. Figures: sign-ins/s from the first page to the last cookie, latency
percentiles of one sign-in, CPU seconds of the hub per sign-in. The machine is shared
and noisy: compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.deposit_bench import Hub, running_hub, throwaway_postgres
from bench.machine import machine_info
from testkit.holder import Holder, did_key_holder
from testkit.signin import (
    SESSION_COOKIE,
    open_page,
    poll,
    post_response,
    presentation_of,
    set_cookie,
    vp_token,
    wallet_fetch,
)

HUB_COMMAND = [str(Path(sys.executable).with_name("notary-hub")), "serve"]
UNLIMITED = {"NOTARY_HUB_SIGNIN_RATE": "1000", "NOTARY_HUB_SIGNIN_BURST": "10000"}
HOLDERS = [did_key_holder(f"bench-holder-{i}") for i in range(64)]


def sign_in(client: httpx.Client, holder: Holder) -> float:
    """One sign-in, browser and wallet; its duration in seconds."""
    started = time.perf_counter()
    page = open_page(client)
    request = wallet_fetch(page)
    answered = post_response(client, request, vp_token(request, presentation_of(holder, request)))
    if answered.status_code != 200:
        raise RuntimeError(f"the hub refused a sign-in: {answered.text}")
    status = poll(client, page)
    if set_cookie(status, SESSION_COOKIE) is None:
        raise RuntimeError(f"no session after the answer: {status.text}")
    return time.perf_counter() - started


def run(hub: Hub, signins: int, clients: int) -> dict[str, Any]:
    def worker(index: int) -> list[float]:
        with httpx.Client(base_url=hub.url, timeout=60) as client:
            return [
                sign_in(client, HOLDERS[n % len(HOLDERS)]) for n in range(index, signins, clients)
            ]

    with httpx.Client(base_url=hub.url, timeout=60) as warm:
        sign_in(warm, HOLDERS[0])  # contexts loaded, connections pooled, the account made
    cpu_before, began = hub.cpu_seconds(), time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        durations = [d for chunk in pool.map(worker, range(clients)) for d in chunk]
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(durations, n=20)
    return {
        "signins": len(durations),
        "clients": clients,
        "signinsPerSecond": round(len(durations) / elapsed, 1),
        "latencyMs": {"p50": round(cuts[9] * 1000), "p95": round(cuts[18] * 1000)},
        "hubCpuMsPerSignin": round((hub.cpu_seconds() - cpu_before) / len(durations) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signins", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (else SQLite)")
    options = parser.parse_args()
    database = throwaway_postgres(options.postgres) if options.postgres else nullcontext(None)
    with (
        tempfile.TemporaryDirectory() as data_dir,
        database as url,
        running_hub(Path(data_dir), url, HUB_COMMAND, UNLIMITED) as hub,
    ):
        figures = run(hub, options.signins, options.clients)
    backend = "postgresql" if options.postgres else "sqlite"
    print(json.dumps({"machine": machine_info(), "backend": backend, **figures}, indent=2))


if __name__ == "__main__":
    main()
