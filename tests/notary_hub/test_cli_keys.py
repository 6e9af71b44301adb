"""``notary-hub keys`` in-process (typer's CliRunner) on the embedded default in a fresh data dir.

The first command creates the hub as ``serve`` would, then the notary's keys;
later ones find them. Failures must be one ``error: <code>: <message>`` line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import typer
from eth_account import Account
from typer.testing import CliRunner, Result

from did_registry.registrar.operations import ChangeOwner
from notary_hub.cli_hub import init
from notary_hub.cli_keys import keys_app
from notary_hub.hub import open_hub
from notary_hub.settings import Settings

app = typer.Typer()
app.add_typer(keys_app, name="keys")
app.command()(init)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in os.environ:
        if name.startswith("NOTARY_HUB_"):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    monkeypatch.setenv("NOTARY_HUB_DATA_DIR", str(data))
    return data


@pytest.fixture
def initialised(data_dir: Path) -> Path:
    result = run("init")  # only `init` and `serve` create a data directory
    assert result.exit_code == 0, result.stderr
    return data_dir


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def show() -> dict[str, Any]:
    result = run("keys", "show", "--json")
    assert result.exit_code == 0, result.stderr
    info: dict[str, Any] = json.loads(result.stdout)
    return info


def one_error_line(result: Result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_init_publishes_the_notary_keys_and_show_lists_them(data_dir: Path) -> None:
    initialised = run("init")
    assert initialised.exit_code == 0, initialised.stderr
    assert "created notary ed25519 key notary-ed25519-1" in initialised.stdout
    result = run("keys", "show", "--json")
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["did"] == f"did:ethr:0x539:{info['controller']}"
    assert (info["signingKey"], info["keyAgreementKey"]) == ("notary-ed25519-1", "notary-x25519-1")
    assert [(k["name"], k["state"], k["verificationMethod"]) for k in info["keys"]] == [
        ("notary-ed25519-1", "published", "#delegate-1"),
        ("notary-x25519-1", "published", "#delegate-2"),
    ]
    assert "created" not in result.stderr
    names = sorted(p.name for p in (data_dir / "keys").iterdir())
    # The authorisation server's keys: its pairwise-subject secret and one signing key per
    # algorithm (ES256, EdDSA, RS256), named by their key ids.
    oauth = [name for name in names if name.startswith("oauth-")]
    assert "oauth-pairwise.key.json" in oauth and len(oauth) == 4, oauth
    assert [name for name in names if name not in oauth] == [
        "node.key.json", "notary-document-signing.key.json", "notary-ed25519-1.key.json",
        "notary-x25519-1.key.json", "signin-request-ed25519.key.json", "tsa-root-ca.key.json",
        "tsa-signing.key.json",
    ]  # fmt: skip

    again = run("keys", "show")
    assert again.exit_code == 0 and "created" not in again.stderr
    assert info["did"] in again.stdout and "#delegate-1" in again.stdout


def test_rotate_switches_the_signing_key_and_revokes_on_request(initialised: Path) -> None:
    first = show()
    result = run("keys", "rotate")
    assert result.exit_code == 0, result.stderr
    assert "signing key notary-ed25519-2 published" in result.stdout
    assert "previous signing key notary-ed25519-1: still valid" in result.stdout

    result = run("keys", "rotate", "--revoke-old")
    assert result.exit_code == 0, result.stderr
    assert "previous signing key notary-ed25519-2: revoked in transaction 0x" in result.stdout

    info = show()
    assert info["did"] == first["did"]
    assert info["signingKey"] == "notary-ed25519-3"
    signing = [(k["name"], k["state"], k["verificationMethod"]) for k in info["keys"][:3]]
    assert signing == [
        ("notary-ed25519-1", "published", "#delegate-1"),
        ("notary-ed25519-2", "revoked", None),
        ("notary-ed25519-3", "published", "#delegate-4"),
    ]
    assert (initialised / "keys" / "notary-ed25519-2.key.json").exists()


def test_failures_are_one_line(initialised: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    show()
    # The notary DID handed to another owner: the hub can no longer manage it.
    hub = open_hub(Settings())
    try:
        registrar = hub.registrar
        registrar.execute(registrar.address, ChangeOwner(Account.create().address))
    finally:
        hub.close()
    line = one_error_line(run("keys", "rotate"))
    assert line.startswith("error: notOwner: the notary DID did:ethr:0x539:")

    monkeypatch.setenv("NOTARY_HUB_MODE", "production")
    assert "master key is required" in one_error_line(run("keys", "show"))
