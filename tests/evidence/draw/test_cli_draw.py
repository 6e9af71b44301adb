"""``notary-hub draw`` as an organiser and a verifier would run it: one journey.

The hub's draw API is served in-process (so the test's clock skips the 60 s between the
commit and the round). The journey runs as real ``notary-hub`` processes with the dev
bootstrap token: create, upload (chunked), commit, run from the relay, receipts,
export, verify against the chain's JSON-RPC, check a receipt. The refusals run in-process
(CliRunner, the same commands without a process start each): a run too early, a pasted
beacon with a bad signature, tampered exports each failing at its step, a forged receipt.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evidence.draw.verify import CHAIN_RECORD_MEMBERS
from notary_hub.cli import app
from testkit.npm import NODE
from testkit.serving import serve_app, serve_rpc
from tests.evidence.draw.service_support import TOKEN, DrawWorld, csv_list, make_app, world
from tests.fixtures.hub_process import run_cli

__all__ = ["world"]

ROOT = Path(__file__).resolve().parents[3]


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = run_cli("draw", *args, env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done


def refused(env: dict[str, str], cwd: Path, *args: str) -> str:
    """The command's one error line (run in-process), after a non-zero exit."""
    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, ["draw", *args], env=env, catch_exceptions=False)
    finally:
        os.chdir(here)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    return result.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_draw_commands_end_to_end(world: DrawWorld, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),  # this checkout's notary_hub, whichever one is installed
        "NOTARY_HUB_DATA_DIR": str(tmp_path / "cli"),
        "NOTARY_HUB_SERVER_API_TOKENS": json.dumps([TOKEN]),
        "NOTARY_HUB_CLI_TOKEN_FILE": str(tmp_path / "tokens.json"),
    }
    # Each command is a process start: leave the commit minutes, then skip past the round.
    beacon = {"network": world.beacon.beacon.network, "round": world.round_ahead(180)}
    config = world.config(waitingList=3, beacon=beacon)
    (tmp_path / "draw.json").write_text(json.dumps(config))
    (tmp_path / "list.csv").write_bytes(csv_list([(f"household-{i:05d}",) for i in range(6000)]))
    with (
        serve_app(make_app(world.parts), access_log=False) as hub,
        serve_rpc(world.chain, access_log=False) as rpc,
    ):
        organiser = ("--hub", hub.url, "--as", world.organiser)
        created = cli(env, tmp_path, "create", "draw.json", *organiser)
        draw_id = created.stdout.split()[1]
        uploaded = cli(
            env, tmp_path, "upload", draw_id, "list.csv", "--chunk-bytes", "65536", *organiser
        )
        assert "list accepted: 6000 entrants" in uploaded.stdout
        assert uploaded.stdout.count("sent ") == 2
        assert "committed" in cli(env, tmp_path, "commit", draw_id, *organiser).stdout
        early = refused(env, tmp_path, "run", draw_id, *organiser)
        assert early.startswith("error: beacon_not_published: ")

        round_ = config["beacon"]["round"]
        world.skip_past(round_)
        bad = {**world.beacon.beacon.key.beacon(round_).to_json(), "signature": "00" * 48}
        (tmp_path / "beacon.json").write_text(json.dumps(bad))
        pasted = refused(env, tmp_path, "run", draw_id, "--beacon", "beacon.json", *organiser)
        assert pasted.startswith("error: invalid_beacon: ")
        drawn = cli(env, tmp_path, "run", draw_id, *organiser)
        assert f"drawn with beacon round {round_}: 3 winners" in drawn.stdout

        cli(env, tmp_path, "receipts", draw_id, "receipts.jsonl", *organiser)
        cli(env, tmp_path, "letter", draw_id, "result.pdf", "--pdf", *organiser)
        assert (tmp_path / "result.pdf").read_bytes().startswith(b"%PDF-")
        cli(env, tmp_path, "export", draw_id, "export", "--hub", hub.url)
        verified = cli(
            env, tmp_path, "verify", "export", "--rpc", rpc, "--save-chain-record", "chain.json"
        )
        assert "selection: ok" in verified.stdout and "timestamp: ok" in verified.stdout
        second_verifier(tmp_path, drawn.stdout)
        tampered_exports(env, tmp_path, rpc)
        check_receipts(env, tmp_path, f"{hub.url}/draws/{draw_id}")


def second_verifier(tmp_path: Path, drawn: str) -> None:
    """verifier-js (docs/draw-algorithm.md alone) re-derives the same draw, with the hub
    out of the loop and the chain's record the CLI read."""
    script = ROOT / "verifier-js" / "bin" / "verify-draw.mjs"
    done = subprocess.run(
        [
            NODE,
            str(script),
            str(tmp_path / "export"),
            "--chain-record",
            str(tmp_path / "chain.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    saved = json.loads((tmp_path / "chain.json").read_text())
    assert sorted(saved) == sorted(CHAIN_RECORD_MEMBERS)  # §6.1's members, no more
    answer = json.loads(done.stdout)
    assert answer["ok"] and answer["chainChecked"] and f"seed {answer['seed']}" in drawn


def tampered_exports(env: dict[str, str], tmp_path: Path, rpc: str) -> None:
    """One leaf, the secret, or two winners swapped: each fails at its own step."""

    def tamper(name: str, change: Any) -> str:
        copy = tmp_path / f"tampered-{name}"
        shutil.copytree(tmp_path / "export", copy)
        change(copy)
        return refused(env, tmp_path, "verify", str(copy), "--rpc", rpc)

    def one_leaf(path: Path) -> None:
        data = bytearray((path / "entries.bin").read_bytes())
        data[38 * 17] ^= 1
        (path / "entries.bin").write_bytes(bytes(data))

    def secret(path: Path) -> None:
        reveal = json.loads((path / "reveal.json").read_text())
        (path / "reveal.json").write_text(json.dumps({**reveal, "secret": "00" * 32}))

    def swap(path: Path) -> None:
        lines = [json.loads(x) for x in (path / "result.jsonl").read_text().splitlines()]
        lines[0]["index"], lines[1]["index"] = lines[1]["index"], lines[0]["index"]
        lines[0]["leaf"], lines[1]["leaf"] = lines[1]["leaf"], lines[0]["leaf"]
        (path / "result.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))

    assert "draw_verification_failed: commitment:" in tamper("leaf", one_leaf)
    assert "draw_verification_failed: reveal:" in tamper("secret", secret)
    assert "draw_verification_failed: selection:" in tamper("winners", swap)


def check_receipts(env: dict[str, str], tmp_path: Path, url: str) -> None:
    receipts = [json.loads(x) for x in (tmp_path / "receipts.jsonl").read_text().splitlines()]
    assert len(receipts) == 6000
    winners = [
        json.loads(x) for x in (tmp_path / "export" / "result.jsonl").read_text().splitlines()
    ]
    first = receipts[winners[0]["index"]]
    (tmp_path / "winner.json").write_text(json.dumps(first))
    checked = cli(env, tmp_path, "check", "winner.json", "--draw", url)
    assert f"selected: rank 1, tier {winners[0]['tier']}" in checked.stdout
    (tmp_path / "forged.json").write_text(json.dumps({**first, "entrantId": "household-99999"}))
    forged = refused(env, tmp_path, "check", "forged.json", "--draw", url)
    assert forged.startswith("error: invalid_receipt: ")
