"""``notary-hub verify`` against a served hub's chain, as a separate process with no hub state.

The hub (embedded chain) issues over HTTP; the CLI then verifies from files,
reaching the chain only through its JSON-RPC URL, and reports in text or JSON
with exit 0 only for a valid document.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.holder import did_key_holder
from tests.fixtures.hub_process import HubProcess, run_cli
from wallet.presentations import build_presentation


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    workdir = tmp_path_factory.mktemp("hub")
    process = HubProcess(workdir, {"NOTARY_HUB_LOG_FORMAT": "json"})
    process.start()
    yield process
    process.stop()


def issue(hub: HubProcess, **options: Any) -> Any:
    with hub.client() as client:
        response = client.post(
            "/credentials/issue",
            json={
                "credential": {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiableCredential"],
                    "credentialSubject": {"id": "did:example:holder", "name": "Holder"},
                },
                "options": options,
            },
        )
        assert response.status_code == 201, response.text
        return response.json()["verifiableCredential"]


def verify(tmp_path: Path, hub: HubProcess, document: Any, *extra: str) -> Any:
    path = tmp_path / "credential.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    return run_cli("verify", str(path), "--rpc", f"{hub.url}/rpc", *extra, env=env, cwd=tmp_path)


def test_a_valid_credential_exits_zero_with_a_readable_report(
    tmp_path: Path, hub: HubProcess
) -> None:
    result = verify(tmp_path, hub, issue(hub))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VALID" in result.stdout
    assert "signed by" in result.stdout
    assert "did:ethr:0x539:" in result.stdout
    assert "revocation: clear" in result.stdout


def test_json_output_and_the_jwt_form(tmp_path: Path, hub: HubProcess) -> None:
    enveloped = issue(hub, securingMechanism="vc+jwt")
    token = enveloped["id"].split(",", 1)[1]
    result = verify(tmp_path, hub, token, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert body["verified"] is True
    assert "proof" in body["checks"]


def test_revocation_is_seen_from_the_chain_alone(tmp_path: Path, hub: HubProcess) -> None:
    issued = issue(hub)
    with hub.client() as client:
        response = client.post(
            "/credentials/status",
            json={
                "credentialId": issued["id"],
                "credentialStatus": {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                },
                "status": True,
            },
        )
        assert response.status_code == 200, response.text
        listed = client.get(issued["credentialStatus"]["statusListCredential"]).json()
    result = verify(tmp_path, hub, issued)
    assert result.returncode == 1
    assert "revoked" in result.stderr
    lists = tmp_path / "list.json"
    lists.write_text(json.dumps(listed))
    result = verify(tmp_path, hub, issued, "--status-list", str(lists))
    assert result.returncode == 1
    assert "revoked" in result.stderr


def test_tampered_documents_fail_with_the_reason(tmp_path: Path, hub: HubProcess) -> None:
    issued = issue(hub)
    tampered = copy.deepcopy(issued)
    tampered["credentialSubject"]["name"] = "Mallory"
    result = verify(tmp_path, hub, tampered)
    assert result.returncode == 1
    assert "failed: proof:" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_are_one_line(tmp_path: Path, hub: HubProcess) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    missing = run_cli("verify", str(tmp_path / "nope.json"), env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: file_not_found")
    (tmp_path / "garbage.json").write_text("{not json")
    garbage = run_cli(
        "verify", str(tmp_path / "garbage.json"), "--rpc", f"{hub.url}/rpc", env=env, cwd=tmp_path
    )
    assert garbage.returncode == 1
    assert garbage.stderr.startswith("error: invalid_document")
    (tmp_path / "ok.json").write_text(json.dumps(issue(hub)))
    no_rpc = run_cli("verify", str(tmp_path / "ok.json"), env=env, cwd=tmp_path)
    assert no_rpc.returncode == 2
    assert no_rpc.stderr.startswith("error: missing_rpc")
    dead = run_cli(
        "verify",
        str(tmp_path / "ok.json"),
        "--rpc",
        "http://127.0.0.1:9/rpc",
        env=env,
        cwd=tmp_path,
    )
    assert dead.returncode != 0
    assert len(dead.stderr.strip().splitlines()) == 1, dead.stderr


def presented(hub: HubProcess, fmt: str) -> Any:
    """A did:key holder presents a credential the hub issued about it (di or vp+jwt)."""
    holder = did_key_holder(f"cli holder {fmt}")
    with hub.client() as client:
        response = client.post(
            "/credentials/issue",
            json={
                "credential": {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiableCredential"],
                    "credentialSubject": {"id": holder.did},
                },
                "options": {"securingMechanism": "vc+jwt" if fmt == "jwt" else "eddsa-rdfc-2022"},
            },
        )
    assert response.status_code == 201, response.text
    issued = response.json()["verifiableCredential"]
    credential = issued["id"].split(",", 1)[1] if fmt == "jwt" else issued
    return build_presentation(
        [credential],
        holder=holder.did,
        verification_method=holder.method,
        private_key=holder.key,
        challenge="cli-challenge",
        domain="https://court.example",
        fmt="jwt" if fmt == "jwt" else "di",
    )


@pytest.mark.parametrize("fmt", ["di", "jwt"])
def test_a_presentation_is_verified_for_its_challenge_and_domain(
    tmp_path: Path, hub: HubProcess, fmt: str
) -> None:
    vp = presented(hub, fmt)
    bound = ("--challenge", "cli-challenge", "--domain", "https://court.example")
    result = verify(tmp_path, hub, vp, *bound)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ["challenge", "cli-challenge"] in [line.split() for line in result.stdout.splitlines()]
    assert "credential [0]: valid" in result.stdout
    other = verify(tmp_path, hub, vp, "--challenge", "another", "--domain", "https://court.example")
    assert other.returncode == 1, other.stdout + other.stderr
    assert "INVALID_CHALLENGE_ERROR" in other.stderr
    elsewhere = verify(tmp_path, hub, vp, "--challenge", "cli-challenge", "--domain", "x.example")
    assert elsewhere.returncode == 1
    assert "INVALID_DOMAIN_ERROR" in elsewhere.stderr


def test_a_presentation_without_challenge_or_domain_is_a_usage_error(
    tmp_path: Path, hub: HubProcess
) -> None:
    vp = presented(hub, "di")
    for extra in ((), ("--challenge", "cli-challenge"), ("--domain", "https://court.example")):
        result = verify(tmp_path, hub, vp, *extra)
        assert result.returncode == 2, result.stdout + result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "missing_challenge" in lines[0], result.stderr
        assert "--challenge C --domain D" in lines[0]
