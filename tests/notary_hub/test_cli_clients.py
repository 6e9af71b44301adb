"""``notary-hub clients``: create, list, show, rotate-secret, delete, initial-token, on the
data directory's database (SQLite and PostgreSQL), each refusal one line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from notary_hub.cli_clients import clients_app
from notary_hub.db import session_factory
from oauth_server.clients import ClientStore
from oauth_server.registration import InitialTokens

app = typer.Typer()
app.add_typer(clients_app, name="clients")
app.command()(lambda: None)  # a second command keeps "clients" a sub-command


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str, engine: Engine) -> Path:
    for name in os.environ:
        if name.startswith("NOTARY_HUB_"):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    (data / "keys").mkdir(parents=True)  # a hub's data directory (as init leaves it)
    monkeypatch.setenv("NOTARY_HUB_DATA_DIR", str(data))
    monkeypatch.setenv("NOTARY_HUB_DATABASE_URL", db_url)
    return data


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)


def created(*extra: str) -> dict[str, Any]:
    result = run(
        "clients",
        "create",
        "Partner",
        "--scope",
        "evidence:deposit=file your contracts",
        "--platform-did",
        "did:web:partner.test",
        "--json",
        *extra,
    )
    assert result.exit_code == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_create_list_show_rotate_delete(data_dir: Path, engine: Engine) -> None:
    client = created()
    assert client["client_secret"] and client["platform_did"] == "did:web:partner.test"
    store = ClientStore(session_factory(engine))
    assert store.require(client["client_id"]).check_client_secret(client["client_secret"])

    listed = json.loads(run("clients", "list", "--json").stdout)
    assert [entry["client_id"] for entry in listed] == [client["client_id"]]
    assert "client_secret" not in listed[0]
    shown = json.loads(run("clients", "show", client["client_id"], "--json").stdout)
    assert shown["scope_purposes"] == {"evidence:deposit": "file your contracts"}

    rotated = run("clients", "rotate-secret", client["client_id"])
    new_secret = rotated.stdout.split()[-1]
    assert rotated.exit_code == 0 and new_secret != client["client_secret"]
    assert store.require(client["client_id"]).check_client_secret(new_secret)
    assert not store.require(client["client_id"]).check_client_secret(client["client_secret"])

    assert run("clients", "delete", client["client_id"], stdin="n\n").exit_code != 0
    assert run("clients", "delete", client["client_id"], "--yes").exit_code == 0
    assert store.get(client["client_id"]) is None


def test_initial_token_works_once(data_dir: Path, engine: Engine) -> None:
    result = run("clients", "initial-token", "--note", "partner B", "--lifetime", "600")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    tokens = InitialTokens(session_factory(engine))
    assert tokens.use(token) and not tokens.use(token)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("create", "P", "--scope", "evidence:deposit"), "error: invalid_scope: --scope takes"),
        (("create", "P", "--scope", "everything=x"), "error: invalid_scope: unknown scope"),
        (
            ("create", "P", "--scope", "openid=x", "--grant", "authorization_code"),
            "error: invalid_redirect_uri:",
        ),
        (("show", "nobody"), "error: not_found: no client nobody"),
        (("rotate-secret", "nobody"), "error: not_found:"),
        (("initial-token", "--note", "n", "--lifetime", "5"), "error: invalid_request:"),
    ],
)
def test_refusals_are_one_line(data_dir: Path, args: tuple[str, ...], expected: str) -> None:
    result = run("clients", *args)
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr


def test_no_data_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTARY_HUB_DATA_DIR", str(tmp_path / "none"))
    result = run("clients", "list")
    assert result.exit_code == 2 and result.stderr.startswith("error: no_data_dir:")
    assert not (tmp_path / "none").exists()


def test_signing_keys_rotate_and_stay_listed_while_published(data_dir: Path) -> None:
    first = run("clients", "rotate-signing-key", "ES256")
    assert first.exit_code == 0, first.stderr
    second = run("clients", "rotate-signing-key", "ES256")
    assert second.exit_code == 0, second.stderr
    listed = json.loads(run("clients", "signing-keys", "--json").stdout)
    assert [key["alg"] for key in listed] == ["ES256", "ES256"]
    newest, retired = listed
    assert second.stdout.split()[-1] == newest["kid"] and newest["retired_at"] is None
    assert first.stdout.split()[-1] == retired["kid"]
    assert retired["retired_at"] and retired["published_until"] > retired["retired_at"]
    refused = run("clients", "rotate-signing-key", "HS256")
    assert refused.exit_code != 0
    assert refused.stderr.startswith("error: invalid_request: the hub signs with")
