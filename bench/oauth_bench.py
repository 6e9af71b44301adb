"""OAuth token endpoint: tokens and introspections per second, on PostgreSQL.

Issue 13 §11: the hub alone; ``bench/oauth_side_by_side.py`` runs the same grants against
npm ``oidc-provider`` in the same run, and ``bench/signin_bench.py`` the wallet sign-ins.
Run from the repository root::

    .venv/bin/python bench/oauth_bench.py [--postgres postgresql://postgres@127.0.0.1:5432/postgres]
        [--seconds S] [--concurrency N]

A throwaway PostgreSQL database is migrated; a server process serves only the
authorisation server (:func:`testkit.oauth.oauth_app` over
:func:`oauth_server.parts.open_oauth_server`, keys in a file key store) with uvicorn,
one worker, as ``notary-hub serve`` runs it; this process drives it over HTTP with
``--concurrency`` keep-alive connections, each in its own thread. **client credentials**:
``POST /oauth/token`` with ``client_secret_basic``, each answer an ES256-signed RFC 9068
token recorded in the ledger. **introspection**: ``POST /oauth/introspect`` of one such
token by its client (signature check, ledger read). **code exchange**: ``POST
/oauth/token`` with ``authorization_code`` and its PKCE verifier, for codes this process
issued beforehand through :class:`oauth_server.grants.CodeIssuer` on the same database and
key store (what the sign-in side calls; not timed); each answer has an access, a refresh
and an ID token (ES256). **refresh**: each connection rotates its own refresh token,
``POST /oauth/token`` with ``refresh_token``, the answer's new one used next. Figures are
answers per second over ``--seconds`` after a one-second warm-up; every answer must be 200.
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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from bench.deposit_bench import throwaway_postgres  # noqa: E402
from bench.machine import machine_info  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIRECT_URI = "https://platform.test/callback"  # testkit.oauth.REDIRECT


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
    code_id, code_secret = secret_client(
        parts,
        grant_types=("authorization_code", "refresh_token"),
        scopes=("openid", "evidence:read"),
    )
    print(json.dumps({"cc": [client_id, secret], "code": [code_id, code_secret]}), flush=True)
    uvicorn.run(
        oauth_app(parts), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def drive(
    call: Callable[[httpx.Client, int], httpx.Response | None],
    url: str,
    seconds: float,
    concurrency: int,
    window: Callable[[bool], None] | None = None,
) -> float:
    """Answers per second of ``call`` from ``concurrency`` threads, after a warm-up; a
    call answering ``None`` has nothing left to send, and its thread stops early.
    ``window(True)`` is called as the timed part starts, ``window(False)`` as it ends."""
    counts = [0] * concurrency
    failures: list[str] = []
    start = threading.Event()
    stop_at = [0.0]

    def worker(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            warm_until = time.monotonic() + 1.0
            while time.monotonic() < warm_until:
                call(client, index)
            start.wait()
            while time.monotonic() < stop_at[0]:
                answer = call(client, index)
                if answer is None:
                    return
                if answer.status_code != 200:
                    failures.append(answer.text)
                    return
                counts[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(1.2)
    if window is not None:
        window(True)
    began = time.monotonic()
    stop_at[0] = began + seconds
    start.set()
    for thread in threads:
        thread.join()
    elapsed = min(time.monotonic() - began, seconds)
    if window is not None:
        window(False)
    if failures:
        raise SystemExit(f"a request failed: {failures[0][:300]}")
    return sum(counts) / elapsed


def issued_codes(
    database_url: str, keys: Path, client_id: str, count: int
) -> list[tuple[str, str]]:
    """``count`` codes and their PKCE verifiers, issued as the sign-in side would."""
    from hub_kernel.keystore import FileKeyStore, load_master_key
    from notary_hub.db import create_db_engine, session_factory
    from oauth_server.access_tokens import Lifetimes
    from oauth_server.clients import ClientStore
    from oauth_server.grants import CodeIssuer
    from oauth_server.subjects import PairwiseSubjects
    from testkit.oauth import REDIRECT, pkce_pair

    engine = create_db_engine(database_url)
    sessions = session_factory(engine)
    keystore = FileKeyStore(keys / "keys", load_master_key(None, keys / "master.key", create=False))
    issuer = CodeIssuer(
        sessions, PairwiseSubjects(keystore), issuer="bench", lifetimes=Lifetimes(code=900)
    )
    client = ClientStore(sessions).require(client_id)
    codes = []
    for index in range(count):
        verifier, challenge = pkce_pair()
        scopes = ["openid", "evidence:read"]
        code = issuer.issue_code(
            client, f"acct-{index}", scopes, REDIRECT, challenge, f"n{index}"
        ).code
        codes.append((code, verifier))
    engine.dispose()
    return codes


def measure(
    url: str, credentials: dict[str, list[str]], database_url: str, keys: Path, args: Any
) -> dict[str, float]:
    cc_auth = (credentials["cc"][0], credentials["cc"][1])
    code_auth = (credentials["code"][0], credentials["code"][1])
    form = {"grant_type": "client_credentials", "scope": "evidence:deposit"}

    def token(client: httpx.Client, _: int) -> httpx.Response:
        return client.post("/oauth/token", data=form, auth=cc_auth)

    rates = {"client-credentials tokens": drive(token, url, args.seconds, args.concurrency)}
    access = httpx.post(url + "/oauth/token", data=form, auth=cc_auth).json()["access_token"]

    def introspect(client: httpx.Client, _: int) -> httpx.Response:
        return client.post("/oauth/introspect", data={"token": access}, auth=cc_auth)

    rates["introspections"] = drive(introspect, url, args.seconds, args.concurrency)
    codes = issued_codes(database_url, keys, code_auth[0], args.codes)
    refresh: list[str | None] = [None] * args.concurrency

    def exchange(client: httpx.Client, index: int) -> httpx.Response | None:
        if not codes:
            return None
        code, verifier = codes.pop()
        answer = client.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=code_auth,
        )
        if answer.status_code == 200:
            refresh[index] = answer.json()["refresh_token"]
        return answer

    rates["code exchanges (access, refresh and ID token)"] = drive(
        exchange, url, args.seconds, args.concurrency
    )

    def rotate(client: httpx.Client, index: int) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": str(refresh[index])}
        answer = client.post("/oauth/token", data=form, auth=code_auth)
        if answer.status_code == 200:
            refresh[index] = answer.json()["refresh_token"]
        return answer

    rates["refreshes (rotating)"] = drive(rotate, url, args.seconds, args.concurrency)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("NOTARY_HUB_TEST_POSTGRES", ADMIN_URL))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--codes", type=int, default=6000, help="codes issued for the exchanges")
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
            for _ in range(100):
                try:
                    httpx.get(url + "/oauth/jwks", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            rates = measure(url, credentials, database_url, Path(keys), args)
        finally:
            server.terminate()
            server.wait(30)
    print("| per second (PostgreSQL, HTTP, one uvicorn worker) | hub |")
    print("| --- | --- |")
    for label, figure in rates.items():
        print(f"| {label} | {figure:,.0f} |")


if __name__ == "__main__":
    main()
