"""§6: an export re-derives step by step; each tampering fails with its step named."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from evidence.draw.errors import DrawVerificationFailed
from evidence.draw.export import read_beacon, read_chain, read_reveal
from evidence.draw.verify import STEPS, ChainRecord, verify_export
from tests.evidence.draw.draw_support import BuiltDraw, build_draw, csv_list, fake_verify_beacon

CATEGORIES = [{"name": "a", "quota": 3}, {"name": "b", "quota": 2}]


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> BuiltDraw:
    return build_draw(
        tmp_path_factory.mktemp("export"),
        csv_list(60, weights=True, categories=("a", "b")),
        public_values=("101.25",),
        weighted=True,
        categories=CATEGORIES,
        cascade={"rule": "pooled"},
        tiers=[{"name": "first", "count": 1}, {"name": "second", "count": 4}],
        publicValues=[{"name": "close", "source": "an exchange's closing price"}],
    )


@pytest.fixture
def built(original: BuiltDraw, tmp_path: Path) -> BuiltDraw:
    copy = tmp_path / "export"
    shutil.copytree(original.directory, copy)
    return replace(original, directory=copy)


def _failed_step(built: BuiltDraw, chain: ChainRecord | None = None) -> str:
    with pytest.raises(DrawVerificationFailed) as caught:
        verify_export(
            built.directory, chain_record=chain or built.chain, verify_beacon=fake_verify_beacon
        )
    assert caught.value.code == "draw_verification_failed"
    return caught.value.step


def _edit_json(path: Path, edit: Callable[[dict[str, object]], None]) -> None:
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def test_an_untouched_export_verifies_with_and_without_the_chain(built: BuiltDraw) -> None:
    report = verify_export(
        built.directory, chain_record=built.chain, verify_beacon=fake_verify_beacon
    )
    assert list(report.steps) == list(STEPS) and set(report.steps.values()) == {"ok"}
    assert (report.seed, report.count, report.winners) == (built.seed, 60, 5)
    assert report.result_root == built.chain.result_root
    offline = verify_export(
        built.directory, chain_record=None, verify_beacon=fake_verify_beacon, processes=2
    )
    assert offline.steps["commitment"].startswith("skipped")
    assert offline.seed == built.seed
    assert read_chain(built.directory)["chainId"] == 31337
    assert read_reveal(built.directory).public_values == ("101.25",)


def test_one_leaf_changed_fails_the_commitment(built: BuiltDraw) -> None:
    entries = bytearray(built.entries)
    entries[38 * 17] ^= 1
    (built.directory / "entries.bin").write_bytes(bytes(entries))
    assert _failed_step(built) == "commitment"


@pytest.mark.parametrize(
    "damage",
    [
        lambda entries: entries[:-1],  # not a whole number of entries
        lambda entries: entries[:38] + entries[38:],  # unchanged: the control case below
        lambda entries: entries[:38] * 2 + entries[76:],  # a repeated leaf
        lambda entries: entries[:32] + bytes(4) + entries[36:],  # weight 0
        lambda entries: entries[:36] + b"\x00\x07" + entries[38:],  # unknown category
        lambda entries: entries[: 38 * 4],  # fewer entries than prizes
    ],
)
def test_malformed_entries_fail_the_entries_step(
    built: BuiltDraw, damage: Callable[[bytes], bytes]
) -> None:
    damaged = damage(built.entries)
    (built.directory / "entries.bin").write_bytes(damaged)
    if damaged == built.entries:
        verify_export(built.directory, chain_record=built.chain, verify_beacon=fake_verify_beacon)
    else:
        assert _failed_step(built) == "entries"


def test_a_config_that_is_not_canonical_fails_the_config_step(built: BuiltDraw) -> None:
    path = built.directory / "config.json"
    path.write_text(json.dumps(json.loads(path.read_bytes()), indent=2))
    assert _failed_step(built) == "config"


def test_a_commit_too_close_to_the_round_fails_the_commitment(built: BuiltDraw) -> None:
    late = replace(built.chain, commit_time=built.chain.commit_time + 61)
    assert _failed_step(built, late) == "commitment"


def test_the_beacon_round_and_randomness_are_checked(built: BuiltDraw) -> None:
    path = built.directory / "beacon.json"
    _edit_json(path, lambda b: b.update(round=int(str(b["round"])) + 1))
    assert _failed_step(built) == "beacon"
    _edit_json(path, lambda b: b.update(round=int(str(b["round"])) - 1, signature="00" * 48))
    assert read_beacon(built.directory)["round"] == built.config.beacon.round
    assert _failed_step(built) == "beacon"


def test_a_wrong_secret_fails_the_reveal(built: BuiltDraw) -> None:
    _edit_json(built.directory / "reveal.json", lambda r: r.update(secret="ab" * 32))
    assert _failed_step(built) == "reveal"


def test_a_changed_public_value_changes_the_seed(built: BuiltDraw) -> None:
    _edit_json(built.directory / "reveal.json", lambda r: r.update(publicValues=["101.26"]))
    assert _failed_step(built) == "seed"
    with pytest.raises(DrawVerificationFailed) as caught:
        verify_export(built.directory, chain_record=None, verify_beacon=fake_verify_beacon)
    assert caught.value.step == "selection"


def test_a_seed_on_chain_that_differs_fails_the_seed_step(built: BuiltDraw) -> None:
    assert _failed_step(built, replace(built.chain, seed=bytes(32))) == "seed"


def test_a_swapped_winner_fails_the_selection(built: BuiltDraw) -> None:
    path = built.directory / "result.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    first, second = json.loads(lines[0]), json.loads(lines[1])
    first["index"], second["index"] = second["index"], first["index"]
    first["leaf"], second["leaf"] = second["leaf"], first["leaf"]
    lines[0:2] = [json.dumps(first).encode() + b"\n", json.dumps(second).encode() + b"\n"]
    path.write_bytes(b"".join(lines))
    with pytest.raises(DrawVerificationFailed, match="selection: rank 1 is entry"):
        verify_export(built.directory, chain_record=built.chain, verify_beacon=fake_verify_beacon)


def test_a_result_root_that_differs_from_the_chain_fails_the_result(built: BuiltDraw) -> None:
    assert _failed_step(built, replace(built.chain, result_root=bytes(32))) == "result"
    assert _failed_step(built, replace(built.chain, winners=4)) == "result"


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("config.json", "config"),
        ("entries.bin", "entries"),
        ("beacon.json", "beacon"),
        ("reveal.json", "reveal"),
        ("result.jsonl", "selection"),
    ],
)
def test_a_missing_file_fails_its_step(built: BuiltDraw, name: str, step: str) -> None:
    (built.directory / name).unlink()
    assert _failed_step(built) == step
