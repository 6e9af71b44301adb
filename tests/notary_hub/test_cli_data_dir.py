"""Issue 11 item 3: where the CLI finds (and never makes) a data directory, its flags, its errors.

Real ``notary-hub`` subprocesses. Only ``serve`` and ``init`` create a data directory;
every other command that needs one, run where there is none, says ``no_data_dir`` (exit
2) and leaves the directory as it was. ``serve`` on a busy port says ``port_in_use``
before it creates or prints anything.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from notary_hub.cli_support import iso_time
from tests.fixtures.hub_process import run_cli

NO_DATA_DIR = (
    "error: no_data_dir: no hub data directory here; "
    "pass --data-dir or run from the hub's directory"
)


def user_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any NOTARY_HUB_* leaking in, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    return {**env, **extra}


def listing(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory)) for path in directory.rglob("*"))


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        "keys show",
        "keys rotate",
        "chain info --json",
        "chain deploy",
        "chain export court-copy",
        "db current",
        "db upgrade",
        "consortium members",
        "consortium vote 1 --yes",
    ],
)
def test_a_command_where_there_is_no_data_dir_says_so_and_creates_nothing(
    tmp_path: Path, command: str
) -> None:
    (tmp_path / "notes.txt").write_text("the user's own files")
    before = listing(tmp_path)
    result = run_cli(*command.split(), env=user_env(), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result.stderr) == NO_DATA_DIR
    assert listing(tmp_path) == before


def test_a_directory_without_a_hub_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "copy" / "chain").mkdir(parents=True)  # a `chain export` copy: no keys
    before = listing(tmp_path)
    result = run_cli("--data-dir", "copy", "keys", "show", env=user_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert one_error_line(result.stderr) == NO_DATA_DIR
    assert listing(tmp_path) == before


def test_init_then_keys_show_through_data_dir_and_the_environment(tmp_path: Path) -> None:
    hub_dir, elsewhere = tmp_path / "hub", tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("--data-dir", str(hub_dir), "init", env=user_env(), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert f"data directory {hub_dir}" in result.stdout
    notary = next(line for line in result.stdout.splitlines() if line.startswith("notary "))
    did = notary.removeprefix("notary ")
    assert (hub_dir / "keys").is_dir() and listing(elsewhere) == []

    again = run_cli("--data-dir", str(hub_dir), "init", env=user_env(), cwd=elsewhere)
    assert again.returncode == 0, again.stderr
    assert "created" not in again.stdout and notary in again.stdout  # idempotent

    shown = run_cli("--data-dir", str(hub_dir), "keys", "show", "--json", env=user_env(),
                    cwd=elsewhere)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["did"] == did
    env = user_env(NOTARY_HUB_DATA_DIR=str(hub_dir))
    shown = run_cli("keys", "show", env=env, cwd=elsewhere)
    assert shown.returncode == 0, shown.stderr
    assert did in shown.stdout and "created" not in shown.stderr
    assert listing(elsewhere) == []


@pytest.mark.parametrize(
    "command",
    [
        "",
        "init",
        "serve",
        "node",
        "verify",
        "chain info",
        "receipt verify",
        "keys show",
        "keys rotate",
        "consortium proposals",
        "consortium vote",
        "consortium members",
    ],
)
def test_help_shows_flags_without_bool(tmp_path: Path, command: str) -> None:
    result = run_cli(*command.split(), "--help", env=user_env(COLUMNS="120"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout, result.stdout
    if not command:
        assert "--data-dir" in result.stdout and "DIR" in result.stdout
    assert listing(tmp_path) == []


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = run_cli(
        "receipt", "verify", str(missing), "--rpc", "http://127.0.0.1:9", env=user_env(),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert one_error_line(result.stderr) == (
        f"error: file_not_found: {missing}: No such file or directory"
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_serve_on_a_busy_port_creates_nothing(tmp_path: Path, busy_port: int) -> None:
    result = run_cli("serve", "--port", str(busy_port), env=user_env(), cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""  # neither "created" nor "listening"
    line = one_error_line(result.stderr)
    assert line == f"error: port_in_use: 127.0.0.1:{busy_port} is already in use"
    assert listing(tmp_path) == []


def test_iso_time_is_utc_with_a_z() -> None:
    assert iso_time(0) == "1970-01-01T00:00:00Z"
    assert iso_time(1796318405) == "2026-12-03T17:20:05Z"
