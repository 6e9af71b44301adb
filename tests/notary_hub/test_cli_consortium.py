"""``notary-hub consortium`` in-process (CliRunner) on an embedded-default hub in a tmp directory.

Every command opens the hub from the environment as the real CLI does; the
sub-app is mounted here as ``cli.py`` will mount it. Failures must be one
``error: <code>: <reason>`` line on stderr with exit 1, and a refused application
must leave the chain without any proposal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from cryptography.hazmat.primitives.serialization import Encoding
from eth_account import Account
from typer.testing import CliRunner

from notary_hub.cli_consortium import TRUSTED_CA_ENV, consortium_app
from tests.did_registry.test_x509_checks import NOW, Pki, make_crl, make_pki

app = typer.Typer()
app.add_typer(consortium_app, name="consortium")


@dataclass
class Cli:
    runner: CliRunner
    workdir: Path
    pki: Pki
    org: str
    node: str

    def run(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return self.runner.invoke(app, ["consortium", *args], env=env, catch_exceptions=False)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    def error(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = self.run(*args, env=env)
        assert result.exit_code == 1, result.stdout
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        return lines[0]

    def write(self, name: str, data: bytes) -> str:
        path = self.workdir / name
        path.write_bytes(data)
        return str(path)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    for name in os.environ:
        if name.startswith("NOTARY_HUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NOTARY_HUB_DATA_DIR", str(tmp_path / "data"))
    pki = make_pki()
    org, node = Account.create().address, Account.create().address
    yield Cli(CliRunner(), tmp_path, pki, org, node)


def test_apply_vote_and_list(cli: Cli) -> None:
    (founder,) = cli.json("members")["members"]
    assert founder["name"] == "Notary Office"
    roots = cli.write("roots.pem", cli.pki.root.pem)
    chain = cli.write("chain.pem", cli.pki.chain())
    did = f"did:ethr:0x539:{cli.org}"
    apply = ("apply", "--chain", chain, "--did", did, "--node", cli.node, "--type", "service")

    result = cli.run(*apply, env={TRUSTED_CA_ENV: roots})
    assert result.exit_code == 0, result.stderr
    assert "member_proposed, proposal 1; evidence 0x" in result.stdout
    assert "Acme Notaries" in result.stdout

    proposals = cli.run("proposals")
    assert proposals.exit_code == 0
    assert "add_member" in proposals.stdout and cli.org in proposals.stdout

    voted = cli.run("vote", "1", "--yes")
    assert voted.exit_code == 0, voted.stderr
    assert "voted yes on proposal 1: 1 yes, 0 no, executed" in voted.stdout
    (application,) = cli.json("applications")["applications"]
    assert (application["state"], application["nodeProposalId"]) == ("node_proposed", 2)

    # Two members now: the hub's yes alone leaves the node proposal open.
    assert "1 yes, 0 no, open" in cli.run("vote", "2", "--yes").stdout
    assert cli.error("vote", "2", "--no").startswith("error: consortiumConflict: ")
    assert cli.error("vote", "99", "--yes").startswith("error: unknownProposal: ")
    assert [p["state"] for p in cli.json("proposals", "--open")["proposals"]] == ["open"]

    members = cli.run("members", env={"COLUMNS": "40"})  # addresses survive a narrow terminal
    assert "Acme Notaries" in members.stdout and cli.org in members.stdout
    (node,) = cli.json("nodes")["nodes"]
    assert node["nodeType"] == "service" and node["owner"] == founder["address"]
    assert cli.json("advance") == {"applications": []}

    removal = cli.run("remove", cli.org, "--reason", "test")
    assert removal.exit_code == 0, removal.stderr
    assert f"proposal 3: remove member {cli.org}" in removal.stdout


def test_refusals_are_one_line_and_send_nothing(cli: Cli) -> None:
    roots = cli.write("roots.pem", cli.pki.root.pem)
    pki = cli.pki
    expired = pki.leaf_for("old", "Acme", not_before=NOW - timedelta(days=9), not_after=NOW)
    chain = cli.write("chain.pem", pki.chain())
    bad_chain = cli.write("expired.pem", pki.chain(expired, pki.inter))
    did = f"did:ethr:0x539:{cli.org}"

    def apply(chain_file: str, did: str = did, *extra: str) -> list[str]:
        return ["apply", "--chain", chain_file, "--did", did, "--node", cli.node, *extra]

    line = cli.error(*apply(chain, did, "--type", "service"))
    assert line.startswith("error: no_trusted_roots: ")
    with_roots = ("--type", "service", "--trusted-ca", roots)
    line = cli.error(*apply(bad_chain, did, *with_roots))
    assert line.startswith("error: certificateExpired: ")
    assert "CN=old" in line
    line = cli.error(*apply(chain, "did:ethr:0x539:0xnope", *with_roots))
    assert line.startswith("error: invalidDid: ")
    line = cli.error(*apply(chain, did, "--type", "validator", "--trusted-ca", roots))
    assert line.startswith("error: invalidApplication: ")
    line = cli.error(*apply(str(cli.workdir / "missing.pem"), did, *with_roots))
    assert line.startswith("error: FileNotFoundError: ")
    line = cli.error(*apply(chain, did, "--type", "service", "--trusted-ca", chain + "x"))
    assert line.startswith("error: FileNotFoundError: ")
    crl = cli.write("inter.crl", make_crl(pki.inter, [pki.leaf.cert]).public_bytes(Encoding.DER))
    line = cli.error(*apply(chain, did, *with_roots, "--crl", crl))
    assert line.startswith("error: certificateRevoked: ")
    line = cli.error(*apply(chain, did, *with_roots, "--crl", chain))
    assert line.startswith("error: invalid_crl: ")
    garbage = cli.write("garbage.pem", b"not a bundle")
    line = cli.error(*apply(chain, did, "--type", "service", "--trusted-ca", garbage))
    assert line.startswith("error: invalid_trusted_ca: ")

    assert cli.json("proposals") == {"proposals": []}
    assert cli.json("applications") == {"applications": []}
    assert cli.run("vote", "1").exit_code == 2  # --yes or --no is required
