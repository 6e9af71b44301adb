"""One writer per embedded chain, ``node`` and ``chain export`` (issue 11, items 1 and 2).

Real processes, as a user types the commands: a ``notary-hub serve`` on the embedded
default holds the chain; a second ``serve`` and the CLI commands that would write are
refused with its pid, ``keys rotate`` goes through the running hub's admin API, a
deposit certified afterwards verifies, and a copy of the chain made by ``chain export``
while the hub serves, served by ``notary-hub node`` once the hub is stopped, is all
``notary-hub verify --rpc`` needs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from chain_adapter.rpc_dispatch import METHOD_NOT_FOUND
from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from tests.did_registry.consortium.test_x509_checks import make_pki
from tests.fixtures.hub_process import CLI, HubProcess, free_port, run_cli

DEPOSITOR = did_key(ED25519, bytes(range(32)))
CONTRACT = b"%PDF-1.7\n% signed after the key rotation\n" + bytes(range(256)) * 16
FAST = {
    "NOTARY_HUB_LOG_FORMAT": "json",
    "NOTARY_HUB_EVIDENCE_POLL_SECONDS": "0.1",
    "NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS": "0.2",
}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    return {**env, **FAST, **extra}


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(tmp_path, clean_env())
    process.start()
    yield process
    process.kill()


def certified_letter(client: httpx.Client, content: bytes, timeout: float = 60) -> object:
    headers = {"Depositor": DEPOSITOR}
    response = client.post(
        "/evidence/deposits", headers=headers, files={"file": ("c.pdf", content, "application/pdf")}
    )
    assert response.status_code == 201, response.text
    deposit_id = response.json()["id"]
    deadline = time.monotonic() + timeout
    while (
        client.get(f"/evidence/deposits/{deposit_id}", headers=headers).json()["state"]
        != "certified"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return client.get(f"/evidence/deposits/{deposit_id}/credential", headers=headers).json()


def test_a_second_writer_is_refused_with_the_holders_pid(hub: HubProcess) -> None:
    assert hub.process is not None
    held = (
        f"error: chain_locked: the embedded chain in .notary-hub/chain is in use by "
        f"notary-hub serve (pid {hub.process.pid})"
    )
    second = run_cli("serve", env={**hub.env, "NOTARY_HUB_SERVER_PORT": str(free_port())},
                     cwd=hub.workdir)  # fmt: skip
    assert one_error_line(second) == held
    assert "listening" not in second.stdout and "created" not in second.stdout
    for command in (("chain", "deploy"), ("consortium", "advance"), ("keys", "show")):
        assert one_error_line(run_cli(*command, env=hub.env, cwd=hub.workdir)) == held
    node = run_cli("node", "--port", str(free_port()), env=hub.env, cwd=hub.workdir)
    assert one_error_line(node) == held
    # A vote is asked of the running hub: its refusal, not the lock's.
    voted = one_error_line(run_cli("consortium", "vote", "999", "--yes", env=hub.env,
                                   cwd=hub.workdir))  # fmt: skip
    assert "chain_locked" not in voted and f"the hub at {hub.url} refused: " in voted, voted
    assert hub.get("/readyz")["status"] == "ready"  # the hub did not notice


def test_rotate_while_serving_goes_through_the_hub(hub: HubProcess, tmp_path: Path) -> None:
    serve_file = json.loads((tmp_path / ".notary-hub" / "serve.json").read_text())
    assert hub.process is not None and serve_file == {"url": hub.url, "pid": hub.process.pid}
    rotated = run_cli("keys", "rotate", env=hub.env, cwd=hub.workdir)
    assert rotated.returncode == 0, rotated.stderr
    assert "signing key notary-ed25519-2 published in transaction 0x" in rotated.stdout
    assert "previous signing key notary-ed25519-1: still valid" in rotated.stdout
    unauthorised = httpx.post(f"{hub.url}/admin/keys/rotate", json={}, timeout=10)
    assert unauthorised.status_code == 401

    with hub.client() as client:
        letter = certified_letter(client, CONTRACT)
    assert letter["proof"]["verificationMethod"].endswith("#delegate-3")  # type: ignore[index]
    (tmp_path / "letter.json").write_text(json.dumps(letter))
    (tmp_path / "contract.pdf").write_bytes(CONTRACT)
    copy = run_cli("chain", "export", "court-copy", env=hub.env, cwd=hub.workdir)
    assert copy.returncode == 0, copy.stderr  # consistent while the hub serves
    assert "notary-hub node --data-dir court-copy" in copy.stdout
    verify_args = ("verify", "letter.json", "--file", "contract.pdf", "--rpc")
    result = run_cli(*verify_args, f"{hub.url}/rpc", env=clean_env(), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    hub.stop()
    assert not (tmp_path / ".notary-hub" / "serve.json").exists()
    _court_verifies_with_a_node(tmp_path, verify_args)


def _court_verifies_with_a_node(workdir: Path, verify_args: tuple[str, ...]) -> None:
    port = free_port()
    node = subprocess.Popen(
        [str(CLI), "node", "--data-dir", "court-copy", "--port", str(port)],
        cwd=workdir, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    rpc = f"http://127.0.0.1:{port}/rpc"
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", node)
        assert not (workdir / "court-copy" / "keys").exists()
        assert not (workdir / "court-copy" / "hub.sqlite3").exists()
        result = run_cli(*verify_args, rpc, env=clean_env(), cwd=workdir)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "VALID" in result.stdout and "INVALID" not in result.stdout
        send = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction",
                "params": ["0x02"]}  # fmt: skip
        answer = httpx.post(rpc, json=send, timeout=10).json()
        assert "error" in answer and "result" not in answer, answer
        assert answer["error"]["code"] == METHOD_NOT_FOUND, answer
    finally:
        node.terminate()
        node.wait(20)


def _wait_for(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"node exited early:\n{output}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not up in {timeout}s")


def test_readyz_is_503_while_a_stage_fails_repeatedly(tmp_path: Path) -> None:
    dead_tsa = f"http://127.0.0.1:{free_port()}/tsa"  # nobody listens there
    hub = HubProcess(tmp_path, clean_env(
        NOTARY_HUB_TIMESTAMPS_URLS=json.dumps([dead_tsa]),
        NOTARY_HUB_TIMESTAMPS_EMBEDDED="false",
        NOTARY_HUB_EVIDENCE_UNREADY_AFTER_FAILURES="3",
    ))  # fmt: skip
    hub.start()  # ready: nothing to time-stamp yet
    try:
        with hub.client() as client:
            response = client.post(
                "/evidence/deposits", headers={"Depositor": DEPOSITOR}, json={"sha256": "ab" * 32}
            )
            assert response.status_code == 201, response.text
            deadline = time.monotonic() + 60
            while (ready := client.get("/readyz")).status_code == 200:
                assert time.monotonic() < deadline, ready.json()
                time.sleep(0.2)
        assert ready.status_code == 503
        reasons = ready.json()["reasons"]
        assert reasons["evidence"].startswith("timestamp stage failing repeatedly: "), reasons
        assert set(reasons) == {"evidence"}
    finally:
        hub.kill()


def test_apply_while_serving_goes_through_the_hub_and_deposits_still_certify(
    tmp_path: Path,
) -> None:
    """Issue 11 "Done when": ``consortium apply`` while the hub serves, then a deposit."""
    pki = make_pki()
    roots = tmp_path / "roots.pem"
    roots.write_bytes(pki.root.pem)
    chain_file = tmp_path / "chain.pem"
    chain_file.write_bytes(pki.chain())
    hub = HubProcess(tmp_path, clean_env(NOTARY_HUB_CONSORTIUM_TRUSTED_CA_FILE=str(roots)))
    hub.start()
    try:
        info = run_cli("chain", "info", "--json", env=hub.env, cwd=tmp_path)
        assert info.returncode == 0, info.stderr
        chain_id = json.loads(info.stdout)["chainId"]
        registry = json.loads(info.stdout)["contracts"]["ConsortiumRegistry"]
        org, node = Account.create(), Account.create()
        (tmp_path / "org.key").write_text(org.key.hex())
        (tmp_path / "node.key").write_text(node.key.hex())
        signed = run_cli(
            "consortium", "sign-application", "--chain", str(chain_file),
            "--did", f"did:ethr:{hex(chain_id)}:{org.address}", "--did-key", "org.key",
            "--node-key", "node.key", "--type", "service", "--chain-id", str(chain_id),
            "--consortium", registry, "--out", "application.json",
            env=clean_env(), cwd=tmp_path,
        )  # fmt: skip
        assert signed.returncode == 0, signed.stderr
        refused = run_cli("consortium", "apply", "application.json", "--trusted-ca", str(roots),
                          env=hub.env, cwd=tmp_path)  # fmt: skip
        assert one_error_line(refused).startswith("error: hub_serving: ")
        applied = run_cli("consortium", "apply", "application.json", env=hub.env, cwd=tmp_path)
        assert applied.returncode == 0, applied.stderr
        assert "application 1 for Acme Notaries" in applied.stdout
        with hub.client() as client:
            listed = client.get("/consortium/applications").json()["applications"]
            assert [a["nodeAddress"] for a in listed] == [node.address]
            letter = certified_letter(client, CONTRACT)
        (tmp_path / "letter.json").write_text(json.dumps(letter))
        (tmp_path / "contract.pdf").write_bytes(CONTRACT)
        verified = run_cli("verify", "letter.json", "--file", "contract.pdf",
                           "--rpc", f"{hub.url}/rpc", env=clean_env(), cwd=tmp_path)  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        hub.kill()
