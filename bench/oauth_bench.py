"""OAuth token endpoint: client-credentials tokens and introspections per second, on PostgreSQL.

Issue 13 §11 (partial: the oidc-provider comparison, code exchange and refresh come
later). Run from the repository root::

    .venv/bin/python bench/oauth_bench.py [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
        [--seconds S] [--concurrency N]

A throwaway PostgreSQL database is migrated; a server process serves only the
authorisation server (:func:`testkit.oauth.oauth_app` over
:func:`oauth_server.parts.open_oauth_server`, keys in a file key store) with uvicorn,
one worker, as ``notary-hub serve`` runs it; this process drives it over HTTP with
``--concurrency`` keep-alive connections, each in its own thread. **client credentials**:
``POST /oauth/token`` with ``client_secret_basic``, each answer an ES256-signed RFC 9068
token recorded in the ledger. **introspection**: ``POST /oauth/introspect`` of one such
token by its client (signature check, ledger read). Figures are answers per second over
``--seconds`` after a one-second warm-up; every answer must be 200.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench.deposit_bench import throwaway_postgres  # noqa: E402
from bench.machine import machine_info  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def serve(database_url: str, port: int, key_dir: Path) -> None:
    """The server process: open the authorisation server, register one client, serve."""
    import uvicorn

    from hub_kernel.keystore import FileKeyStore, load_master_key
    from notary_hub import migrate
    from notary_hub.db import create_db_engine, session_factory
    from oauth_server.access_tokens import Lifetimes
    from oauth_server.parts import open_oauth_server
    from testkit.oauth import oauth_app, secret_client

    engine = create_db_engine(database_url, pool_size=20)
    migrate.upgrade(engine)
    keystore = FileKeyStore(
        key_dir / "keys", load_master_key(None, key_dir / "master.key", create=True)
    )
    issuer = f"http://127.0.0.1:{port}"
    parts = open_oauth_server(
        sessions=session_factory(engine),
        keystore=keystore,
        issuer=issuer,
        audience=issuer,
        lifetimes=Lifetimes(),
        token_rate=1_000_000.0,
        token_burst=1_000_000,
    )
    client_id, secret = secret_client(parts)
    print(json.dumps({"client_id": client_id, "secret": secret}), flush=True)
    uvicorn.run(
        oauth_app(parts), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def drive(
    call: Callable[[httpx.Client], httpx.Response], url: str, seconds: float, concurrency: int
) -> float:
    """Answers per second of ``call`` from ``concurrency`` threads, after a warm-up."""
    counts = [0] * concurrency
    failures: list[str] = []
    start = threading.Event()
    stop_at = [0.0]

    def worker(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            warm_until = time.monotonic() + 1.0
            while time.monotonic() < warm_until:
                call(client)
            start.wait()
            while time.monotonic() < stop_at[0]:
                answer = call(client)
                if answer.status_code != 200:
                    failures.append(answer.text)
                    return
                counts[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(1.2)
    began = time.monotonic()
    stop_at[0] = began + seconds
    start.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if failures:
        raise SystemExit(f"a request failed: {failures[0][:300]}")
    return sum(counts) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("NOTARY_HUB_TEST_POSTGRES", ADMIN_URL))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=8931, help=argparse.SUPPRESS)
    parser.add_argument("--keys", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.keys)
        return
    print(machine_info(f"concurrency {args.concurrency}", f"{args.seconds:g} s per figure"))
    with throwaway_postgres(args.postgres) as database_url, tempfile.TemporaryDirectory() as keys:
        command = [
            sys.executable,
            __file__,
            "--serve",
            database_url,
            "--port",
            str(args.port),
            "--keys",
            keys,
        ]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
        try:
            assert server.stdout is not None
            credentials = json.loads(server.stdout.readline())
            url = f"http://127.0.0.1:{args.port}"
            auth = (credentials["client_id"], credentials["secret"])
            for _ in range(100):
                try:
                    httpx.get(url + "/oauth/jwks", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            form = {"grant_type": "client_credentials", "scope": "evidence:deposit"}

            def token(client: httpx.Client) -> httpx.Response:
                return client.post("/oauth/token", data=form, auth=auth)

            tokens = drive(token, url, args.seconds, args.concurrency)
            access = httpx.post(url + "/oauth/token", data=form, auth=auth).json()["access_token"]

            def introspect(client: httpx.Client) -> httpx.Response:
                return client.post("/oauth/introspect", data={"token": access}, auth=auth)

            introspections = drive(introspect, url, args.seconds, args.concurrency)
        finally:
            server.terminate()
            server.wait(30)
    print("| per second (PostgreSQL, HTTP, one uvicorn worker) | hub |")
    print("| --- | --- |")
    print(f"| client-credentials tokens | {tokens:,.0f} |")
    print(f"| introspections | {introspections:,.0f} |")


if __name__ == "__main__":
    main()
