"""A stranger cannot get a node proposed by sending an application it cannot prove (issue 9 #10).

Through the real components: the hub's HTTP route over a real hub (embedded chain,
SQLite, its own chain-following DID resolver), and ``notary-hub consortium`` run as a
subprocess, as an applicant and an operator type it. Each forged application (unsigned,
signed by another key, altered, expired, signed for another registry, replayed, or
with a certificate of another organisation) is refused with its own 4xx code / one
``error: <code>: ...`` line and a non-zero exit, and the chain holds no more proposals
than before.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notary_hub.app import create_app
from notary_hub.hub import open_hub
from notary_hub.settings import ConsortiumSettings, ServerSettings, Settings
from tests.did_registry.application_support import make_application
from tests.did_registry.consortium.test_x509_checks import Pki, make_pki
from tests.fixtures.hub_process import run_cli

TOKEN = "s" * 40
AUTH = {"authorization": f"Bearer {TOKEN}"}


@dataclass
class Applicant:
    organisation: LocalAccount
    node: LocalAccount
    stranger: LocalAccount
    pki: Pki

    @property
    def did(self) -> str:
        return f"did:ethr:0x539:{self.organisation.address}"

    def application(self, consortium: str, **changes: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "organisation": "Acme Notaries",
            "did": self.did,
            "did_key": self.organisation,
            "node_key": self.node,
            "node_type": "service",
            "chain_id": 0x539,
            "consortium": consortium,
        }
        fields.update(changes)
        return make_application(self.pki.chain(), **fields).to_json()


@pytest.fixture
def applicant() -> Applicant:
    return Applicant(Account.create(), Account.create(), Account.create(), make_pki())


def forgeries(applicant: Applicant, consortium: str) -> list[tuple[str, Any, int, str]]:
    """(what, document, HTTP status, code) for every way to claim without proving."""
    good = applicant.application(consortium)
    altered = json.loads(json.dumps(good))
    altered["application"]["nodeType"] = "producer"
    retargeted = json.loads(json.dumps(good))
    retargeted["application"]["nodeAddress"] = applicant.stranger.address
    return [
        ("unsigned", {**good, "proofs": {}}, 400, "applicationUnsigned"),
        ("signed by a stranger's key", applicant.application(consortium,
         did_key=applicant.stranger), 422, "applicationSignatureInvalid"),
        ("node key not held", applicant.application(consortium, node_key=applicant.stranger,
         node_address=applicant.node.address), 422, "applicationSignatureInvalid"),
        ("altered after signing", altered, 422, "applicationSignatureInvalid"),
        ("another node slipped in", retargeted, 422, "applicationSignatureInvalid"),
        ("expired", applicant.application(consortium, expires=int(time.time()) - 60), 422,
         "applicationExpired"),
        ("signed for another registry", applicant.application(consortium="0x" + "42" * 20),
         422, "applicationWrongDomain"),
        ("signed for another chain", applicant.application(consortium, chain_id=1), 422,
         "applicationWrongDomain"),
        ("certificate of another organisation", applicant.application(consortium,
         organisation="Notary Office"), 422, "organisationMismatch"),
    ]  # fmt: skip


# -- the HTTP route over a real hub -----------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, applicant: Applicant) -> Iterator[tuple[TestClient, str]]:
    roots = tmp_path / "roots.pem"
    roots.write_bytes(applicant.pki.root.pem)
    settings = Settings(
        data_dir=tmp_path / "data",
        server=ServerSettings(api_tokens=[SecretStr(TOKEN)]),
        consortium=ConsortiumSettings(trusted_ca_file=roots),
    )
    hub = open_hub(settings)
    try:
        hub.indexer.catch_up()  # what the served hub's indexer does first
        with TestClient(create_app(hub)) as client:
            yield client, hub.deployment.consortium.address
    finally:
        hub.close()


def test_the_route_refuses_every_forgery_before_any_proposal(
    served: tuple[TestClient, str], applicant: Applicant
) -> None:
    client, consortium = served

    def proposals() -> list[Any]:
        found: list[Any] = client.get("/consortium/proposals", headers=AUTH).json()["proposals"]
        return found

    assert proposals() == []
    for what, document, status, code in forgeries(applicant, consortium):
        response = client.post("/consortium/applications", json=document, headers=AUTH)
        assert (response.status_code, response.json()["error"]) == (status, code), what
        assert proposals() == [], what
    assert client.get("/consortium/applications", headers=AUTH).json() == {"applications": []}

    good = applicant.application(consortium)
    response = client.post("/consortium/applications", json=good, headers=AUTH)
    assert response.status_code == 201, response.text
    assert [p["target"] for p in proposals()] == [applicant.organisation.address]
    replay = client.post("/consortium/applications", json=good, headers=AUTH)
    assert (replay.status_code, replay.json()["error"]) == (409, "applicationReplayed")
    assert len(proposals()) == 1


# -- the command line, as subprocesses ---------------------------------------------------------


def one_error(result: Any) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return str(lines[0])


def test_the_cli_signs_applies_and_refuses_every_forgery(
    tmp_path: Path, applicant: Applicant
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    roots = tmp_path / "roots.pem"
    roots.write_bytes(applicant.pki.root.pem)
    operator = {**env, "NOTARY_HUB_CONSORTIUM_TRUSTED_CA_FILE": str(roots)}

    def cli(*args: str, who: dict[str, str] = operator) -> Any:
        return run_cli(*args, env=who, cwd=tmp_path)

    def proposals() -> list[Any]:
        result = cli("consortium", "proposals", "--json")
        assert result.returncode == 0, result.stderr
        found: list[Any] = json.loads(result.stdout)["proposals"]
        return found

    assert cli("init").returncode == 0  # only `init` and `serve` create the hub
    assert proposals() == []  # its consortium has no proposal
    info = json.loads(cli("chain", "info", "--json").stdout)
    consortium = info["contracts"]["ConsortiumRegistry"]

    for what, document, _status, code in forgeries(applicant, consortium):
        path = tmp_path / "forged.json"
        path.write_text(json.dumps(document))
        line = one_error(cli("consortium", "apply", str(path)))
        assert line.startswith(f"error: {code}: "), (what, line)
    assert proposals() == []  # none of them reached the chain

    # The applicant signs with its key files, offline (no hub, no NOTARY_HUB_* settings).
    chain = tmp_path / "chain.pem"
    chain.write_bytes(applicant.pki.chain())
    did_key, node_key = tmp_path / "did.key", tmp_path / "node.key"
    did_key.write_text(applicant.organisation.key.hex())
    node_key.write_text(applicant.node.key.hex())
    signed = tmp_path / "application.json"
    sign = cli(
        "consortium", "sign-application", "--chain", str(chain), "--did", applicant.did,
        "--did-key", str(did_key), "--node-key", str(node_key), "--type", "service",
        "--chain-id", str(info["chainId"]), "--consortium", consortium, "--out", str(signed),
        who=env,
    )  # fmt: skip
    assert sign.returncode == 0, sign.stderr
    assert applicant.organisation.key.hex() not in signed.read_text()
    applied = cli("consortium", "apply", str(signed))
    assert applied.returncode == 0, applied.stderr
    assert "member_proposed, proposal 1" in applied.stdout
    line = one_error(cli("consortium", "apply", str(signed)))
    assert line.startswith("error: applicationReplayed: ")
    assert [p["target"] for p in proposals()] == [applicant.organisation.address]
