"""One served hub (``notary-hub serve`` on the embedded default) for the attack suite.

Every attack is judged by both verifiers a court or counterparty would use: the
hub's HTTP route and ``notary-hub verify`` run as a subprocess against the hub's
chain node (``/rpc``), and the two must agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from notary_hub.cli import app as cli_app
from testkit.waiting import wait_until
from tests.fixtures.hub_process import HubProcess, run_cli

DEPOSITOR = did_key(ED25519, bytes(range(32)))
CONTRACT = b"%PDF-1.7\n% a contract deposited before the attacks\n" + bytes(range(256)) * 16


@dataclass
class ServedHub:
    process: HubProcess
    workdir: Path
    letter: dict[str, Any]
    contract: Path

    @property
    def rpc(self) -> str:
        return f"{self.process.url}/rpc"

    def client(self) -> httpx.Client:
        return self.process.client()

    def cli_verify(self, document: Any, *extra: str) -> subprocess.CompletedProcess[str]:
        """``notary-hub verify`` as a user types it, with nothing of the hub's environment."""
        path = self.workdir / f"document-{time.monotonic_ns()}.json"
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
        try:
            return run_cli(
                "verify", str(path), "--rpc", self.rpc, *extra, env=env, cwd=self.workdir
            )
        finally:
            path.unlink()

    def cli_json(self, document: Any, *extra: str) -> tuple[int, dict[str, Any]]:
        result = self.cli_verify(document, "--json", *extra)
        assert "Traceback" not in result.stderr, result.stderr
        body: dict[str, Any] = json.loads(result.stdout)
        return result.returncode, body

    def cli_json_in_process(self, document: Any, *extra: str) -> tuple[int, dict[str, Any]]:
        """The same ``notary-hub verify --json`` command, run by Click's runner in this process.

        The exhaustive matrices use it for every field (a subprocess per field costs a
        Python start-up each); each matrix still runs a sample as a real subprocess.
        """
        path = self.workdir / f"document-{time.monotonic_ns()}.json"
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        cleared: dict[str, str | None] = {
            k: None for k in os.environ if k.startswith("NOTARY_HUB_")
        }
        try:
            result = CliRunner().invoke(
                cli_app, ["verify", str(path), "--rpc", self.rpc, "--json", *extra], env=cleared
            )
        finally:
            path.unlink()
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        body: dict[str, Any] = json.loads(result.stdout)
        return result.exit_code, body

    def http_verify_letter(self, letter: Any, content: bytes | None = None) -> httpx.Response:
        with self.client() as client:
            if content is None:
                return client.post("/evidence/verify", json={"letter": letter})
            return client.post(
                "/evidence/verify",
                data={"letter": json.dumps(letter)},
                files={"file": ("contract.pdf", content, "application/pdf")},
            )

    def http_verify_credential(self, credential: Any) -> httpx.Response:
        with self.client() as client:
            return client.post("/credentials/verify", json={"verifiableCredential": credential})

    def issue(self, credential: dict[str, Any], **options: Any) -> httpx.Response:
        with self.client() as client:
            return client.post(
                "/credentials/issue", json={"credential": credential, "options": options}
            )


def error_codes(body: dict[str, Any]) -> set[str]:
    return {problem["code"] for problem in body.get("errors", [])}


def certified_letter(
    client: httpx.Client, content: bytes, timeout: float = 60, depositor: str = DEPOSITOR
) -> Any:
    headers = {"Depositor": depositor}
    response = client.post(
        "/evidence/deposits",
        headers=headers,
        files={"file": ("contract.pdf", content, "application/pdf")},
        data={"title": "Sales contract"},
    )
    assert response.status_code == 201, response.text
    deposit_id = response.json()["id"]
    wait_until(
        lambda: (
            client.get(f"/evidence/deposits/{deposit_id}", headers=headers).json()["state"]
            == "certified"
        ),
        timeout=timeout,
        interval=0.1,
        message="the deposit was not certified in time",
    )
    letter = client.get(f"/evidence/deposits/{deposit_id}/credential", headers=headers)
    assert letter.status_code == 200, letter.text
    return letter.json()


@pytest.fixture(scope="session")
def served_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedHub]:
    workdir = tmp_path_factory.mktemp("attacked-hub")
    process = HubProcess(
        workdir,
        {
            "NOTARY_HUB_LOG_FORMAT": "json",
            "NOTARY_HUB_EVIDENCE_POLL_SECONDS": "0.1",
            "NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS": "0.2",
        },
    )
    process.start()
    try:
        with process.client() as client:
            letter = certified_letter(client, CONTRACT)
        contract = workdir / "contract.pdf"
        contract.write_bytes(CONTRACT)
        yield ServedHub(process, workdir, letter, contract)
    finally:
        process.stop()
