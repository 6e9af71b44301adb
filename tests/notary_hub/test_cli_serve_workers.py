"""``serve --workers N`` and ``worker`` refuse the one-process backends, each in one line.

Issue 16: several processes coordinate through PostgreSQL only, and the embedded chain
belongs to one process; the refusal names what to configure, before anything is created.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.hub_process import run_cli


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    return {**base, "NOTARY_HUB_DATA_DIR": str(tmp_path / "data"), **extra}


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("args", [["serve", "--workers", "2"], ["worker"]])
def test_sqlite_is_refused_before_anything_is_created(tmp_path: Path, args: list[str]) -> None:
    line = one_line(run_cli(*args, env=env(tmp_path), cwd=tmp_path))
    assert line.startswith("error: needs_postgresql: several hub processes coordinate through")
    assert not (tmp_path / "data").exists()


def test_the_embedded_chain_is_refused(tmp_path: Path) -> None:
    pg = env(tmp_path, NOTARY_HUB_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/none")
    line = one_line(run_cli("worker", "--stage", "anchor", env=pg, cwd=tmp_path))
    assert line.startswith("error: needs_external_chain: the embedded chain belongs to one")
    assert "NOTARY_HUB_CHAIN_RPC_URL" in line


def test_an_unknown_stage_is_named(tmp_path: Path) -> None:
    line = one_line(run_cli("worker", "--stage", "anchor", "--stage", "mint", env=env(tmp_path),
                            cwd=tmp_path))  # fmt: skip
    assert line == (
        "error: invalid_stage: no stage mint: choose from timestamp, anchor, certify, index, all"
    )
