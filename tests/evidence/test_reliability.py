"""Evidence deposits when their outside parties fail (issue 5, "Reliability").

Real processes and real network failures: a served hub (``notary-hub serve``), an
independent timestamp authority (``openssl ts -reply`` behind a small HTTP server),
a Hardhat node, and a TCP proxy in front of the authority or the node that is taken
down (nothing listens: connections are refused, open ones are cut) and brought back
on the same port.

- A timestamp authority that is down: the next configured one is used; with all of
  them down deposits stay ``received`` and certify once one comes back.
- A chain that is down: deposits are timestamped and wait, then certify once it
  returns.
- The same file deposited by two depositors is stored once, with a deposit each, and
  only its own depositor reads each deposit back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from evidence.blob_store import BlobNames
from testkit.waiting import wait_until
from tests.evidence.deposit_support import new_did_key
from tests.evidence.timestamping_support import OpenSslTsa, closed_port_url, serve
from tests.fixtures.hardhat import HardhatNode
from tests.fixtures.hub_process import HubProcess, free_port, run_cli

DEPOSITS = "/evidence/deposits"
FAST = {
    "NOTARY_HUB_LOG_FORMAT": "json",
    "NOTARY_HUB_EVIDENCE_POLL_SECONDS": "0.1",
    "NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS": "0.2",
}
MASTER_KEY = "5d" * 32
FUNDING = 10**20


# -- a TCP proxy that can be taken down ----------------------------------------------------


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``target``; :meth:`down` stops listening and cuts
    every open connection, :meth:`up` listens again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR on POSIX
        listener.settimeout(0.05)
        self._listener = listener
        self._accepting = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._accepting.start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._accepting is not None:
            self._accepting.join(5)
            self._accepting = None
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)


@contextlib.contextmanager
def proxied(target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_port)
    proxy.up()
    try:
        yield proxy
    finally:
        proxy.down()


# -- deposits over HTTP --------------------------------------------------------------------


def deposit_file(
    client: httpx.Client, depositor: str, content: bytes, name: str = "contract.pdf"
) -> dict[str, Any]:
    response = client.post(
        DEPOSITS,
        headers={"Depositor": depositor},
        files={"file": (name, content, "application/pdf")},
        data={"title": "Contract"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def deposit_digest(client: httpx.Client, depositor: str) -> dict[str, Any]:
    digest = hashlib.sha256(os.urandom(32)).hexdigest()
    response = client.post(
        DEPOSITS, headers={"Depositor": depositor}, json={"sha256": digest, "title": "Digest"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def current(client: httpx.Client, deposit: dict[str, Any]) -> dict[str, Any]:
    response = client.get(
        f"{DEPOSITS}/{deposit['id']}", headers={"Depositor": deposit["depositor"]}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for(
    client: httpx.Client, deposits: list[dict[str, Any]], state: str, timeout: float = 30
) -> list[dict[str, Any]]:
    def arrived() -> list[dict[str, Any]] | None:
        now = [current(client, d) for d in deposits]
        return now if all(d["state"] == state for d in now) else None

    def describe() -> str:
        now = [current(client, d) for d in deposits]
        return f"not all {state}: {[(d['state'], d.get('retry')) for d in now]}"

    return wait_until(arrived, timeout=timeout, interval=0.1, message=describe)


def hold(
    client: httpx.Client, deposits: list[dict[str, Any]], state: str, seconds: float
) -> list[dict[str, Any]]:
    """The deposits' states over ``seconds``: each must stay (or get to, and stay) ``state``."""
    deadline = time.monotonic() + seconds
    while True:
        now = [current(client, d) for d in deposits]
        assert {d["state"] for d in now} <= {state, "received"}, now
        if time.monotonic() > deadline:
            assert all(d["state"] == state for d in now), now
            return now
        time.sleep(0.2)


def letter_of(client: httpx.Client, deposit: dict[str, Any]) -> dict[str, Any]:
    response = client.get(
        f"{DEPOSITS}/{deposit['id']}/credential", headers={"Depositor": deposit["depositor"]}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def verified(client: httpx.Client, letter: Any, content: bytes | None = None) -> dict[str, Any]:
    if content is None:
        response = client.post("/evidence/verify", json={"letter": letter})
    else:
        response = client.post(
            "/evidence/verify",
            data={"letter": json.dumps(letter)},
            files={"file": ("contract.pdf", content, "application/pdf")},
        )
    body: dict[str, Any] = response.json()
    assert response.status_code == 200, body
    assert body["verified"] is True
    return body


def timestamp_evidence(letter: dict[str, Any]) -> dict[str, Any]:
    stamp: dict[str, Any]
    (stamp,) = [e for e in letter["evidence"] if "RFC3161TimestampEvidence" in e["type"]]
    return stamp


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- a timestamp authority that is down ----------------------------------------------------


def test_a_dead_authority_falls_back_and_all_down_waits_for_one(tmp_path: Path) -> None:
    tsa = OpenSslTsa.create(tmp_path / "openssl-tsa")
    workdir = tmp_path / "hub"
    workdir.mkdir()
    depositor = new_did_key()
    with serve(tsa.answer) as served, proxied(port_of(served.url)) as proxy:
        fallback = f"{proxy.url}/tsa"
        hub = HubProcess(
            workdir,
            {
                **FAST,
                "NOTARY_HUB_TIMESTAMPS_URLS": json.dumps([closed_port_url(), fallback]),
                "NOTARY_HUB_TIMESTAMPS_EMBEDDED": "false",
                "NOTARY_HUB_TIMESTAMPS_TRUST_ROOTS_FILE": str(tsa.directory / "ca.pem"),
            },
        )
        hub.start()
        try:
            with hub.client() as client:
                # The embedded authority is off: the hub serves no /tsa.
                assert client.post("/tsa", content=b"").status_code == 404

                # The first authority refuses connections; the second one answers.
                content = b"%PDF-1.7 the contract, signed\n" * 300
                first = deposit_file(client, depositor, content)
                (done,) = wait_for(client, [first], "certified")
                assert done["tsa"] == fallback
                letter = letter_of(client, first)
                stamp = timestamp_evidence(letter)
                assert stamp["tsa"] == fallback
                body = verified(client, letter, content)
                assert {"timestamp", "anchor", "file"} <= set(body["checks"])
                assert "CN=OpenSSL TSA" in body["details"]["evidence"]["timestamp[0]"]
                assert body["warnings"] == [], "the openssl root is a configured trust root"
                hits = len(served.hits)
                assert hits >= 1

                # Every authority down: deposits are accepted and stay received.
                proxy.down()
                waiting = [deposit_file(client, depositor, os.urandom(5000))]
                waiting.append(deposit_digest(client, depositor))
                held = hold(client, waiting, "received", seconds=3)
                assert all(d["retry"]["attempts"] >= 1 for d in held), held
                assert all(
                    d["retry"]["lastError"].startswith("timestamp_unavailable: ") for d in held
                ), held
                ready = client.get("/readyz").json()
                assert "timestamp" in ready["evidence"]["lastErrors"], ready
                assert len(served.hits) == hits

                # One comes back: they are timestamped by it and certified.
                back = datetime.now(UTC).replace(microsecond=0)
                proxy.up()
                certified = wait_for(client, waiting, "certified", timeout=60)
                for deposit in certified:
                    assert deposit["tsa"] == fallback
                    assert instant(deposit["genTime"]) >= back
                    letter = letter_of(client, deposit)
                    assert timestamp_evidence(letter)["tsa"] == fallback
                    verified(client, letter)
                assert len(served.hits) >= hits + len(waiting)
        finally:
            hub.stop()


# -- a chain that is down ------------------------------------------------------------------


def chain_env(rpc_url: str, workdir: Path) -> dict[str, str]:
    return {
        **FAST,
        "NOTARY_HUB_CHAIN_RPC_URL": rpc_url,
        "NOTARY_HUB_CHAIN_CHAIN_ID": "31337",
        "NOTARY_HUB_CHAIN_POLL_INTERVAL": "0.1",
        "NOTARY_HUB_CHAIN_RETRIES": "1",
        "NOTARY_HUB_CHAIN_REQUEST_TIMEOUT": "3",
        "NOTARY_HUB_DATABASE_URL": f"sqlite:///{workdir / 'hub.sqlite3'}",
        "NOTARY_HUB_KEYS_MASTER_KEY": MASTER_KEY,
    }


def deployed_hub(node: HardhatNode, rpc_url: str, workdir: Path) -> HubProcess:
    """A hub on the node's chain, deployed as an operator does it (``chain deploy``)."""
    hub = HubProcess(workdir, chain_env(rpc_url, workdir))
    initialised = run_cli("init", env=hub.env, cwd=workdir)  # the data directory and keys
    assert initialised.returncode == 0, initialised.stderr
    info = run_cli("chain", "info", "--json", env=hub.env, cwd=workdir)
    assert info.returncode == 0, info.stderr
    upgrade = run_cli("db", "upgrade", env=hub.env, cwd=workdir)
    assert upgrade.returncode == 0, upgrade.stderr
    node.fund(json.loads(info.stdout)["node"], FUNDING)
    deploy = run_cli("chain", "deploy", env=hub.env, cwd=workdir)
    assert deploy.returncode == 0, deploy.stderr
    for line in deploy.stdout.split():
        name, _, address = line.partition("=")
        hub.env[name] = address
    return hub


@pytest.mark.hardhat
def test_a_chain_that_is_down_holds_deposits_until_it_returns(
    own_hardhat: HardhatNode, tmp_path: Path
) -> None:
    depositor = new_did_key()
    with proxied(own_hardhat.port) as proxy:
        hub = deployed_hub(own_hardhat, proxy.url, tmp_path)
        hub.start()
        try:
            with hub.client() as client:
                before = deposit_file(client, depositor, b"before the outage\n" * 100)
                wait_for(client, [before], "certified", timeout=60)

                proxy.down()
                contents = [os.urandom(3000), b"during the outage\n" * 100]
                waiting = [deposit_file(client, depositor, c) for c in contents]
                waiting.append(deposit_digest(client, depositor))
                # Timestamped (the embedded authority needs no chain), then they wait.
                wait_for(client, waiting, "timestamped")
                hold(client, waiting, "timestamped", seconds=4)
                ready = client.get("/readyz")
                assert ready.status_code == 503, ready.text
                assert set(ready.json()["reasons"]) == {"chain"}

                back = datetime.now(UTC).replace(microsecond=0)
                proxy.up()
                certified = wait_for(client, waiting, "certified", timeout=90)
                for deposit, content in zip(certified, [*contents, None], strict=True):
                    assert instant(deposit["anchoredAt"]) >= back, "anchored during the outage"
                    letter = letter_of(client, deposit)
                    (anchor,) = [
                        e for e in letter["evidence"] if "ChainAnchorEvidence" in e["type"]
                    ]
                    assert anchor["chainId"] == 31337
                    body = verified(client, letter, content)
                    assert {"proof", "status", "anchor"} <= set(body["checks"])
                assert client.get("/readyz").status_code == 200
        finally:
            hub.stop()


# -- the same file from two depositors ----------------------------------------------------


def test_the_same_file_twice_is_stored_once_with_a_deposit_each(hub_process: HubProcess) -> None:
    hub_process.env.update(FAST)
    hub_process.start()
    alice, bob = new_did_key(), new_did_key()
    content = b"%PDF-1.7 one contract, two parties\n" * 2000
    try:
        with hub_process.client() as client:
            mine = deposit_file(client, alice, content, "alice.pdf")
            theirs = deposit_file(client, bob, content, "bob.pdf")
            assert mine["id"] != theirs["id"]
            assert mine["sha256"] == theirs["sha256"] == hashlib.sha256(content).hexdigest()
            for deposit, owner, other in ((mine, alice, bob), (theirs, bob, alice)):
                path = f"{DEPOSITS}/{deposit['id']}"
                assert current(client, deposit)["depositor"] == owner
                download = client.get(f"{path}/content", headers={"Depositor": owner})
                assert download.status_code == 200, download.text
                assert download.content == content
                for suffix in ("", "/content", "/credential"):
                    refused = client.get(path + suffix, headers={"Depositor": other})
                    assert refused.status_code == 403, (suffix, refused.text)
                    assert content[:20] not in refused.content
            for deposit in wait_for(client, [mine, theirs], "certified"):
                letter = letter_of(client, deposit)
                assert letter["credentialSubject"]["id"] == deposit["depositor"]
                assert letter["credentialSubject"]["depositId"] == deposit["id"]
                verified(client, letter, content)
    finally:
        hub_process.stop()
    data_dir = hub_process.workdir / ".notary-hub"
    objects = [p for p in (data_dir / "blobs" / "keyed").rglob("*") if p.is_file()]
    # Named by the keyed hash of the digest, never the digest (issue 9 item 11).
    names_of = BlobNames.load(None, data_dir / "master.key", create=False)
    assert [p.name for p in objects] == [names_of.name(bytes.fromhex(mine["sha256"]))]
