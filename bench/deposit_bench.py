"""Hash-only deposits over HTTP, from the first request to the last custody letter.

A script, not a test. Run from the repository root::

    .venv/bin/python bench/deposit_bench.py [--deposits 3000] [--clients 32]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
        [--setting NOTARY_HUB_...=VALUE ...] [--hub-command "CMD ARGS"]

For each backend (SQLite, the embedded default; with ``--postgres`` also a throwaway
PostgreSQL database created next to the one named and dropped afterwards) a fresh hub
is started as its own process with ``notary-hub serve`` on the embedded chain and TSA,
with the hub's default settings unless ``--setting`` says otherwise. One warm-up
deposit is taken to certified first (it creates and anchors the first status list).
Then ``C`` client threads, each with a keep-alive ``httpx.Client``, POST ``N``
JSON digest deposits (``/evidence/deposits``, ``Depositor`` header, Bearer token), and
the bench watches the hub's database until all ``N`` are certified.

Figures: accepted/s (first request sent to last 201 received), certified/s end to end
(first request sent to the last ``certified_at`` the pipeline recorded), when each stage
finished its last deposit, and CPU per deposit of the hub process (``/proc``, all its
threads) and of the client. A sample of letters is fetched over HTTP and checked with
``POST /evidence/verify``. The machine is shared and noisy: compare rows of one run.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info
from evidence.deposit.models import Deposit, DepositState, as_utc
from testkit.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
HUB_COMMAND = [str(ROOT / ".venv" / "bin" / "notary-hub"), "serve"]
DEPOSITOR = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
START_TIMEOUT = 180.0
CERTIFY_TIMEOUT = 150.0
SAMPLE_LETTERS = 3


@dataclass
class Hub:
    process: subprocess.Popen[bytes]
    url: str
    database_url: str
    token: str
    log: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Depositor": DEPOSITOR}

    def cpu_seconds(self) -> float:
        """utime + stime of the hub process (all its threads), from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_hub(
    data_dir: Path,
    database_url: str | None,
    command: list[str] = HUB_COMMAND,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Hub]:
    """``notary-hub serve`` in ``data_dir`` (PostgreSQL: migrated first), until it answers."""
    port = _free_port()
    env = {
        **os.environ,
        "NOTARY_HUB_DATA_DIR": str(data_dir),
        "NOTARY_HUB_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    if database_url is not None:
        env["NOTARY_HUB_DATABASE_URL"] = database_url
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "notary-hub"), "db", "upgrade"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    log = data_dir / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited: see {log}\n{log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, timeout=START_TIMEOUT, interval=0.2, message="the hub did not answer")
        token = (data_dir / "api-token").read_text().strip()
        db = database_url or f"sqlite:///{(data_dir / 'hub.sqlite3').resolve()}"
        yield Hub(process, url, db, token, log)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def throwaway_postgres(admin_url: str) -> Iterator[str]:
    """A new empty database next to ``admin_url``'s, dropped afterwards."""
    name = f"deposit_bench_{secrets.token_hex(4)}"
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def deposit_body(index: int) -> dict[str, Any]:
    return {"sha256": secrets.token_hex(32), "title": f"bench deposit {index}"}


def wait_certified(hub: Hub, expected: int, timeout: float) -> None:
    """Poll the hub's database (read only) until ``expected`` deposits are certified."""
    engine = create_engine(hub.database_url)
    try:

        def certified() -> int:
            with engine.connect() as conn:
                done = conn.scalar(
                    select(func.count())
                    .select_from(Deposit)
                    .where(Deposit.state == DepositState.CERTIFIED)
                )
            return done or 0

        wait_until(
            lambda: certified() >= expected,
            timeout=timeout,
            message=lambda: f"{certified()} of {expected} deposits certified",
        )
    finally:
        engine.dispose()


def stage_times(hub: Hub, since: datetime) -> dict[str, Any]:
    """When the last deposit received after ``since`` left each stage, and how many there are."""
    engine = create_engine(hub.database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(
                    func.count(),
                    func.max(Deposit.received_at),
                    func.max(Deposit.timestamped_at),
                    func.max(Deposit.certified_at),
                ).where(Deposit.received_at >= since)
            ).one()
    finally:
        engine.dispose()
    count, received, timestamped, certified = row
    assert received is not None and timestamped is not None and certified is not None, row
    return {
        "count": count,
        "received": as_utc(received),
        "timestamped": as_utc(timestamped),
        "certified": as_utc(certified),
    }


def fire(hub: Hub, deposits: int, clients: int) -> tuple[float, float, list[str], int]:
    """POST ``deposits`` digest deposits from ``clients`` threads: (t0, t_last_201, ids, errors)."""
    local = threading.local()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=hub.url, headers=hub.headers, limits=limits)
        return local.client  # type: ignore[no-any-return]

    errors = 0
    ids: list[str] = []
    bodies = [deposit_body(i) for i in range(deposits)]
    # One connection per thread, opened before the clock starts.
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: client().get("/healthz"), range(clients * 4)))
        start = time.time()

        def post(body: dict[str, Any]) -> tuple[int, str | None]:
            answer = client().post("/evidence/deposits", json=body, timeout=60)
            if answer.status_code != 201:
                return answer.status_code, None
            return answer.status_code, answer.json().get("id")

        for status, deposit_id in pool.map(post, bodies):
            if status == 201 and deposit_id is not None:
                ids.append(deposit_id)
            else:
                errors += 1
        accepted = time.time()
    return start, accepted, ids, errors


def check_letters(hub: Hub, ids: list[str]) -> int:
    """Fetch a sample of letters over HTTP and verify them with the hub: how many passed."""
    passed = 0
    with httpx.Client(base_url=hub.url, headers=hub.headers, timeout=60) as client:
        for deposit_id in random.sample(ids, min(SAMPLE_LETTERS, len(ids))):
            letter = client.get(f"/evidence/deposits/{deposit_id}/credential")
            letter.raise_for_status()
            verdict = client.post("/evidence/verify", json={"letter": letter.json()})
            passed += verdict.status_code == 200 and not verdict.json().get("errors")
    return passed


def warm_up(hub: Hub) -> None:
    with httpx.Client(base_url=hub.url, headers=hub.headers, timeout=60) as client:
        client.post("/evidence/deposits", json=deposit_body(-1)).raise_for_status()
    wait_certified(hub, 1, START_TIMEOUT)


@dataclass(frozen=True)
class Options:
    deposits: int
    clients: int
    command: list[str]
    env: dict[str, str]


def run_backend(name: str, database_url: str | None, options: Options) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="deposit-bench-"))
    try:
        with running_hub(data_dir, database_url, options.command, options.env) as hub:
            warm_up(hub)
            since = datetime.now(UTC)
            cpu_before = hub.cpu_seconds()
            client_before = time.process_time()
            start, accepted, ids, errors = fire(hub, options.deposits, options.clients)
            client_cpu = time.process_time() - client_before
            wait_certified(hub, options.deposits + 1, CERTIFY_TIMEOUT)
            cpu = hub.cpu_seconds() - cpu_before
            stages = stage_times(hub, since)
            verified = check_letters(hub, ids)
            if hub.process.poll() is not None:
                raise RuntimeError(f"the hub died: see {hub.log}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    t0 = datetime.fromtimestamp(start, UTC)
    timestamped = (stages["timestamped"] - t0).total_seconds()
    certified = (stages["certified"] - t0).total_seconds()
    done = max(len(ids), 1)
    return {
        "backend": name,
        "deposits": len(ids),
        "errors": errors,
        "accepted_per_s": len(ids) / (accepted - start),
        "timestamped_s": timestamped,
        "certified_s": certified,
        "certified_per_s": len(ids) / certified,
        "cpu_ms": cpu * 1000 / done,
        "client_cpu_ms": client_cpu * 1000 / done,
        "verified": verified,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deposits", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--postgres", default=None, help="admin URL of a PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a hub setting for the run, e.g. NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS=1",
    )
    parser.add_argument(
        "--hub-command",
        default=" ".join(HUB_COMMAND),
        help="the command serving the hub, given --port PORT (default: notary-hub serve)",
    )
    args = parser.parse_args()
    env = dict(setting.split("=", 1) for setting in args.setting)
    options = Options(args.deposits, args.clients, args.hub_command.split(), env)
    print(machine_info())
    print(
        f"{args.deposits} hash-only deposits over HTTP from {args.clients} client threads; "
        f"hub settings: {' '.join(args.setting) or 'defaults'}"
    )
    results = []
    if not args.no_sqlite:
        results.append(run_backend("sqlite", None, options))
    if args.postgres:
        with throwaway_postgres(args.postgres) as url:
            results.append(run_backend("postgresql", url, options))
    print(
        f"{'backend':<11}{'deposits':>9}{'errors':>7}{'accepted/s':>12}"
        f"{'timestamped by':>16}{'certified by':>14}{'certified/s':>13}"
        f"{'CPU/dep hub':>13}{'client':>10}{'letters ok':>12}"
    )
    for r in results:
        print(
            f"{r['backend']:<11}{r['deposits']:>9}{r['errors']:>7}{r['accepted_per_s']:>12,.0f}"
            f"{r['timestamped_s']:>14.2f} s{r['certified_s']:>12.2f} s"
            f"{r['certified_per_s']:>13,.0f}{r['cpu_ms']:>10.2f} ms{r['client_cpu_ms']:>7.2f} ms"
            f"{r['verified']:>8}/{SAMPLE_LETTERS}"
        )


if __name__ == "__main__":
    main()
