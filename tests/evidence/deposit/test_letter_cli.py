"""A custody letter verified by ``notary-hub verify`` with the hub stopped (issue 5, "Done when").

A hub on a Hardhat node (deployed as an operator does: ``chain deploy``) takes a file
through ``POST /evidence/deposits`` and certifies it; the letter is downloaded and the
hub stopped. Then only the Hardhat node runs, and the CLI checks the letter's
signature and status (the notary's DID and the status list read from the chain), its
RFC 3161 token, its anchor receipt against the chain, and the file. A tampered file,
a tampered letter, an altered anchor receipt and another deposit's timestamp token
each fail with exit code 1 and the reason: one ``failed: <check>: <code>: <message>``
line per failure on stderr, never a traceback.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from testkit.waiting import wait_until
from tests.fixtures.hardhat import HardhatNode
from tests.fixtures.hub_process import HubProcess, run_cli

pytestmark = pytest.mark.hardhat

MASTER_KEY = "6e" * 32
FUNDING = 10**20
DEPOSITOR = did_key(ED25519, bytes(range(32)))
CONTRACT = b"%PDF-1.7\n% the contract both parties signed online\n" + bytes(range(256)) * 64
OTHER = b"%PDF-1.7\n% another deposit of the same depositor\n" * 100


@dataclass(frozen=True)
class Certified:
    """What the depositor keeps once the hub is gone."""

    workdir: Path
    rpc: str
    letter: dict[str, Any]
    other_letter: dict[str, Any]
    contract: Path
    tsa_root: Path


def hub_env(node: HardhatNode, workdir: Path) -> dict[str, str]:
    return {
        "NOTARY_HUB_CHAIN_RPC_URL": node.url,
        "NOTARY_HUB_CHAIN_CHAIN_ID": str(node.chain_id),
        "NOTARY_HUB_CHAIN_POLL_INTERVAL": "0.1",
        "NOTARY_HUB_DATABASE_URL": f"sqlite:///{workdir / 'hub.sqlite3'}",
        "NOTARY_HUB_KEYS_MASTER_KEY": MASTER_KEY,
        "NOTARY_HUB_LOG_FORMAT": "json",
        "NOTARY_HUB_EVIDENCE_POLL_SECONDS": "0.1",
        "NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS": "0.2",
    }


def deposit(client: httpx.Client, content: bytes, name: str) -> str:
    response = client.post(
        "/evidence/deposits",
        headers={"Depositor": DEPOSITOR},
        files={"file": (name, content, "application/pdf")},
        data={"title": "Sales contract", "tags": "contract,2026"},
    )
    assert response.status_code == 201, response.text
    deposit_id: str = response.json()["id"]
    return deposit_id


def certified_letter(client: httpx.Client, deposit_id: str, timeout: float = 60) -> Any:
    headers = {"Depositor": DEPOSITOR}

    def current() -> Any:
        return client.get(f"/evidence/deposits/{deposit_id}", headers=headers).json()

    wait_until(
        lambda: current()["state"] == "certified",
        timeout=timeout,
        interval=0.1,
        message=lambda: f"not certified: {current()}",
    )
    response = client.get(f"/evidence/deposits/{deposit_id}/credential", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vc")
    return response.json()


@pytest.fixture(scope="module")
def certified(hardhat_node: HardhatNode, tmp_path_factory: pytest.TempPathFactory) -> Certified:
    hardhat_node.ensure_running()
    workdir = tmp_path_factory.mktemp("letter-cli")
    hub = HubProcess(workdir, hub_env(hardhat_node, workdir))
    initialised = run_cli("init", env=hub.env, cwd=workdir)  # the data directory and keys
    assert initialised.returncode == 0, initialised.stderr
    info = run_cli("chain", "info", "--json", env=hub.env, cwd=workdir)
    assert info.returncode == 0, info.stderr
    assert run_cli("db", "upgrade", env=hub.env, cwd=workdir).returncode == 0
    hardhat_node.fund(json.loads(info.stdout)["node"], FUNDING)
    deploy = run_cli("chain", "deploy", env=hub.env, cwd=workdir)
    assert deploy.returncode == 0, deploy.stderr
    hub.env.update(dict(line.split("=", 1) for line in deploy.stdout.split()))
    hub.start()
    try:
        with hub.client() as client:
            ids = [deposit(client, CONTRACT, "contract.pdf"), deposit(client, OTHER, "other.pdf")]
            letter, other = (certified_letter(client, deposit_id) for deposit_id in ids)
    finally:
        hub.stop()
    # The hub is gone: only the chain is left to ask.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{hub.url}/healthz", timeout=2)
    contract = workdir / "contract.pdf"
    contract.write_bytes(CONTRACT)
    tsa_root = workdir / ".notary-hub" / "tsa" / "tsa-root-ca.pem"
    assert tsa_root.is_file()
    return Certified(workdir, hardhat_node.url, letter, other, contract, tsa_root)


def verify(
    certified: Certified, letter: Any, *extra: str, file: Path | None = None
) -> subprocess.CompletedProcess[str]:
    path = certified.workdir / "letter.json"
    path.write_text(json.dumps(letter))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    args = ["verify", str(path), "--rpc", certified.rpc, *extra]
    args += ["--file", str(file or certified.contract)]
    return run_cli(*args, env=env, cwd=certified.workdir)


def failures(certified: Certified, letter: Any, file: Path | None = None) -> list[str]:
    """The stderr lines of a verification that must fail, checked against ``--json``."""
    result = verify(certified, letter, file=file)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "INVALID" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("failed: ") for line in lines), lines
    as_json = verify(certified, letter, "--json", file=file)
    assert as_json.returncode == 1, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["verified"] is False
    assert [f"failed: {e['check']}: {e['code']}: {e['message']}" for e in body["errors"]] == lines
    return lines


def test_the_letter_verifies_with_only_the_chain(certified: Certified) -> None:
    result = verify(certified, certified.letter, "--tsa-root", str(certified.tsa_root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "VALID" in result.stdout and "INVALID" not in result.stdout
    passed = next(line for line in result.stdout.splitlines() if line.startswith("passed: "))
    assert {"proof", "status", "timestamp", "anchor", "file"} <= set(
        passed.removeprefix("passed: ").split(", ")
    )
    assert "warning" not in result.stdout
    assert f"{len(CONTRACT)} bytes match" in result.stdout


def test_json_output(certified: Certified) -> None:
    result = verify(certified, certified.letter, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["verified"] is True
    assert body["errors"] == []
    assert {"proof", "status", "timestamp", "anchor", "file"} <= set(body["checks"])
    evidence = body["details"]["evidence"]
    assert evidence["file"] == f"{len(CONTRACT)} bytes match"
    receipt = certified.letter["evidence"][1]["anchorReceipt"]
    assert evidence["anchor[0]"].startswith(f"block {receipt['blockNumber']} at ")
    # Without --tsa-root the hub's TSA is only known by the root its token carries.
    assert [w["code"] for w in body["warnings"]] == ["UNTRUSTED_TSA"]


def test_a_tampered_file_fails_the_file_check(certified: Certified) -> None:
    tampered = certified.workdir / "tampered.pdf"
    tampered.write_bytes(CONTRACT[:-1] + bytes([CONTRACT[-1] ^ 1]))
    lines = failures(certified, certified.letter, file=tampered)
    assert lines == ["failed: file: EVIDENCE_ERROR: the file's SHA-256 is not the letter's"]


def test_a_tampered_letter_fails_the_proof(certified: Certified) -> None:
    letter = copy.deepcopy(certified.letter)
    letter["credentialSubject"]["title"] = "Another contract"
    lines = failures(certified, letter)
    assert [line.split(":")[1].strip() for line in lines] == ["proof"], lines


def test_an_altered_anchor_receipt_fails_the_anchor_check(certified: Certified) -> None:
    letter = copy.deepcopy(certified.letter)
    anchor = next(e for e in letter["evidence"] if "ChainAnchorEvidence" in e["type"])
    anchor["anchorReceipt"]["blockHash"] = "0x" + "ee" * 32
    lines = failures(certified, letter)
    assert "failed: anchor: EVIDENCE_ERROR: the block hash differs from the receipt's" in lines
    # The evidence is signed too: the proof fails with it; nothing else does.
    assert sorted(line.split(":")[1].strip() for line in lines) == ["anchor", "proof"], lines


def test_another_deposits_timestamp_token_fails_the_timestamp_check(
    certified: Certified,
) -> None:
    letter = copy.deepcopy(certified.letter)
    stamps = [
        next(e for e in doc["evidence"] if "RFC3161TimestampEvidence" in e["type"])
        for doc in (letter, certified.other_letter)
    ]
    assert stamps[0]["timeStampToken"] != stamps[1]["timeStampToken"]
    stamps[0]["timeStampToken"] = stamps[1]["timeStampToken"]
    lines = failures(certified, letter)
    assert sorted(line.split(":")[1].strip() for line in lines) == ["proof", "timestamp"], lines
    (stamp_line,) = [line for line in lines if line.startswith("failed: timestamp: ")]
    assert stamp_line.endswith("the token is over another digest"), stamp_line
