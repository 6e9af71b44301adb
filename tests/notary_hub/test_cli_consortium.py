"""``notary-hub consortium`` in-process (CliRunner) on an embedded-default hub in a tmp directory.

Every command opens the hub from the environment as the real CLI does; the
sub-app is mounted here as ``cli.py`` mounts it (with ``chain info``, where an
applicant reads the chain id and registry address it signs for). Applications are
signed with ``sign-application`` from key files. Failures must be one
``error: <code>: <reason>`` line on stderr with exit 1, and a refused application
must leave the chain without any proposal.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from cryptography.hazmat.primitives.serialization import Encoding
from eth_account import Account
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from notary_hub.cli_consortium import TRUSTED_CA_ENV, consortium_app
from notary_hub.cli_hub import chain_app, init
from tests.did_registry.application_support import make_application
from tests.did_registry.consortium.test_x509_checks import NOW, Pki, make_crl, make_pki

app = typer.Typer()
app.add_typer(consortium_app, name="consortium")
app.add_typer(chain_app, name="chain")
app.command()(init)


@dataclass
class Cli:
    runner: CliRunner
    workdir: Path
    pki: Pki
    org_key: LocalAccount
    node_key: LocalAccount

    @property
    def org(self) -> str:
        return str(self.org_key.address)

    @property
    def node(self) -> str:
        return str(self.node_key.address)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return self.runner.invoke(app, ["consortium", *args], env=env, catch_exceptions=False)

    def target(self) -> tuple[int, str]:
        """The chain id and registry address an applicant signs for (``chain info``)."""
        assert self.run("members").exit_code == 0  # the hub exists, its contracts deployed
        result = self.runner.invoke(app, ["chain", "info", "--json"], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        info = json.loads(result.stdout)
        return info["chainId"], info["contracts"]["ConsortiumRegistry"]

    def sign(self, chain_file: str, did: str, *extra: str, name: str = "application") -> str:
        """``sign-application`` with the organisation's and the node's key files."""
        chain_id, registry = self.target()
        did_key = self.write("org.key", self.org_key.key.hex().encode())
        node_key = self.write("node.key", ("0x" + self.node_key.key.hex()).encode())
        out = str(self.workdir / f"{name}.json")
        result = self.run(
            "sign-application", "--chain", chain_file, "--did", did, "--did-key", did_key,
            "--node-key", node_key, "--chain-id", str(chain_id), "--consortium", registry,
            "--out", out, *extra,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        return out

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    def error(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = self.run(*args, env=env)
        assert result.exit_code == 1, result.stdout
        assert "Traceback" not in result.stderr
        lines: list[str] = result.stderr.strip().splitlines()
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
    runner = CliRunner()
    initialised = runner.invoke(app, ["init"], catch_exceptions=False)  # nothing else creates it
    assert initialised.exit_code == 0, initialised.stderr
    yield Cli(runner, tmp_path, pki, Account.create(), Account.create())


def test_apply_vote_and_list(cli: Cli) -> None:
    (founder,) = cli.json("members")["members"]
    assert founder["name"] == "Notary Office"
    roots = cli.write("roots.pem", cli.pki.root.pem)
    chain = cli.write("chain.pem", cli.pki.chain())
    did = f"did:ethr:0x539:{cli.org}"
    signed = cli.sign(chain, did, "--type", "service")
    document = json.loads(Path(signed).read_text())
    assert document["application"]["organisation"] == "Acme Notaries"  # the certificate's O
    assert document["application"]["nodeAddress"] == cli.node
    assert set(document["proofs"]) == {"did", "node"}

    result = cli.run("apply", signed, env={TRUSTED_CA_ENV: roots})
    assert result.exit_code == 0, result.stderr
    assert "member_proposed, proposal 1; evidence 0x" in result.stdout
    assert "Acme Notaries" in result.stdout
    # The same signed application again: its nonce is spent, whatever became of it.
    line = cli.error("apply", signed, env={TRUSTED_CA_ENV: roots})
    assert line.startswith("error: applicationReplayed: ")

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
    joined = datetime.fromtimestamp(founder["joinedAt"], UTC)
    assert f"{joined:%Y-%m-%dT%H:%M:%SZ}" in members.stdout  # ISO 8601 UTC, not Unix seconds
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
    good = cli.sign(chain, did, "--type", "service", name="good")
    with_roots = ("--trusted-ca", roots)

    line = cli.error("apply", good)
    assert line.startswith("error: no_trusted_roots: ")
    line = cli.error("apply", cli.sign(bad_chain, did, "--type", "service"), *with_roots)
    assert line.startswith("error: certificateExpired: ")
    assert "CN=old" in line
    line = cli.error("apply", unsignable(cli, chain, "did:ethr:0x539:0xnope"), *with_roots)
    assert line.startswith("error: invalidDid: ")
    line = cli.error("apply", cli.sign(chain, did, "--type", "validator"), *with_roots)
    assert line.startswith("error: invalidApplication: ")
    line = cli.error("apply", str(cli.workdir / "missing.json"), *with_roots)
    assert (
        line == f"error: file_not_found: {cli.workdir / 'missing.json'}: No such file or directory"
    )
    line = cli.error("apply", good, "--trusted-ca", chain + "x")
    assert line == f"error: file_not_found: {chain}x: No such file or directory"
    crl = cli.write("inter.crl", make_crl(pki.inter, [pki.leaf.cert]).public_bytes(Encoding.DER))
    line = cli.error("apply", good, *with_roots, "--crl", crl)
    assert line.startswith("error: certificateRevoked: ")
    line = cli.error("apply", good, *with_roots, "--crl", chain)
    assert line.startswith("error: invalid_crl: ")
    garbage = cli.write("garbage.pem", b"not a bundle")
    line = cli.error("apply", good, "--trusted-ca", garbage)
    assert line.startswith("error: invalid_trusted_ca: ")

    # What an applicant must prove, refused before anything is recorded or sent.
    document = json.loads(Path(good).read_text())
    unsigned = cli.write("unsigned.json", json.dumps({**document, "proofs": {}}).encode())
    assert cli.error("apply", unsigned, *with_roots).startswith("error: applicationUnsigned: ")
    tampered = json.loads(Path(good).read_text())
    tampered["application"]["nodeType"] = "producer"
    forged = cli.write("tampered.json", json.dumps(tampered).encode())
    line = cli.error("apply", forged, *with_roots)
    assert line.startswith("error: applicationSignatureInvalid: ")
    other_chain = ("--chain-id", "1", "--organisation-address", cli.org)  # signed for chain 1
    line = cli.error("apply", cli.sign(chain, did, "--type", "service", *other_chain), *with_roots)
    assert line.startswith("error: applicationWrongDomain: ")
    line = cli.error(
        "apply", cli.sign(chain, did, "--type", "service", "--organisation", "Evil Corp"),
        *with_roots,
    )  # fmt: skip
    assert line.startswith("error: organisationMismatch: ")
    assert cli.error("apply", cli.write("x.json", b"{"), *with_roots).startswith(
        "error: applicationMalformed: "
    )
    assert cli.error("apply", expired_application(cli, chain, did), *with_roots).startswith(
        "error: applicationExpired: "
    )
    bad_key = cli.write("bad.key", b"not a key")
    line = cli.error(
        "sign-application", "--chain", chain, "--did", did, "--did-key", bad_key,
        "--node-key", bad_key, "--type", "service", "--chain-id", "1337",
        "--consortium", "0x" + "11" * 20,
    )  # fmt: skip
    assert line.startswith("error: invalid_key_file: ")
    assert "not a key" not in line  # a key file's content is never echoed

    assert cli.json("proposals") == {"proposals": []}
    assert cli.json("applications") == {"applications": []}
    assert cli.run("vote", "1").exit_code == 2  # --yes or --no is required


def unsignable(cli: Cli, chain_file: str, did: str) -> str:
    """An application whose DID cannot even be parsed (sign-application would refuse it)."""
    chain_id, registry = cli.target()
    application = make_application(
        Path(chain_file).read_bytes(),
        organisation="Acme Notaries",
        did=did,
        did_key=cli.org_key,
        node_key=cli.node_key,
        node_type="service",
        chain_id=chain_id,
        consortium=registry,
        organisation_address=cli.org,
    )
    return cli.write("unsignable.json", json.dumps(application.to_json()).encode())


def expired_application(cli: Cli, chain_file: str, did: str) -> str:
    chain_id, registry = cli.target()
    application = make_application(
        Path(chain_file).read_bytes(),
        organisation="Acme Notaries",
        did=did,
        did_key=cli.org_key,
        node_key=cli.node_key,
        node_type="service",
        chain_id=chain_id,
        consortium=registry,
        expires=int(time.time()) - 1,
    )
    return cli.write("expired.json", json.dumps(application.to_json()).encode())
