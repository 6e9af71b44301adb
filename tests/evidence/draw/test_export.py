"""§6: the export directory written and read back; each reader refuses a malformed file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evidence.draw.export import (
    Reveal,
    read_beacon,
    read_chain,
    read_config,
    read_entries,
    read_result_file,
    read_reveal,
    write_export,
)
from evidence.draw.result import ResultEntry
from tests.evidence.draw.draw_support import SECRET, fake_beacon, make_config

RESULT = [ResultEntry(1, 0, b"\x01" * 32, 1), ResultEntry(2, 1, b"\x02" * 32, 0)]


def _write(directory: Path) -> None:
    write_export(
        directory,
        config=make_config(),
        entries=bytes(38 * 3),
        beacon=fake_beacon(1000),
        reveal=Reveal(SECRET, ("a", "b")),
        result=RESULT,
        chain={"chainId": 1, "timestampToken": "AA=="},
    )


def test_the_six_files_round_trip(tmp_path: Path) -> None:
    _write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "beacon.json",
        "chain.json",
        "config.json",
        "entries.bin",
        "result.jsonl",
        "reveal.json",
    ]
    assert (tmp_path / "config.json").read_bytes() == make_config().canonical
    assert read_config(tmp_path) == make_config()
    assert bytes(read_entries(tmp_path)) == bytes(38 * 3)
    assert read_beacon(tmp_path) == fake_beacon(1000)
    assert read_reveal(tmp_path) == Reveal(SECRET, ("a", "b"))
    assert read_result_file(tmp_path) == RESULT
    assert read_chain(tmp_path) == {"chainId": 1, "timestampToken": "AA=="}


def test_entries_can_be_copied_from_a_file(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(range(38)))
    write_export(
        tmp_path / "export",
        config=make_config(),
        entries=source,
        beacon={},
        reveal=Reveal(SECRET, ()),
        result=[],
        chain={},
    )
    assert bytes(read_entries(tmp_path / "export")) == bytes(range(38))
    (tmp_path / "export" / "entries.bin").write_bytes(b"")
    assert read_entries(tmp_path / "export") == b""


@pytest.mark.parametrize(
    "reveal",
    [
        {"secret": "ab" * 32},
        {"secret": "ab" * 31, "publicValues": []},
        {"secret": "AB" * 32, "publicValues": []},
        {"secret": "ab" * 32, "publicValues": [1]},
        [],
    ],
)
def test_a_malformed_reveal_is_refused(tmp_path: Path, reveal: object) -> None:
    _write(tmp_path)
    (tmp_path / "reveal.json").write_text(json.dumps(reveal))
    with pytest.raises(ValueError):
        read_reveal(tmp_path)


def test_missing_and_non_json_files_are_named(tmp_path: Path) -> None:
    _write(tmp_path)
    (tmp_path / "beacon.json").write_text("{")
    with pytest.raises(ValueError, match=r"beacon\.json is not JSON"):
        read_beacon(tmp_path)
    (tmp_path / "chain.json").write_text("[]")
    with pytest.raises(ValueError, match=r"chain\.json must be a JSON object"):
        read_chain(tmp_path)
    for name, reader in [("config.json", read_config), ("entries.bin", read_entries)]:
        (tmp_path / name).unlink()
        with pytest.raises(ValueError, match=f"{name} is missing"):
            reader(tmp_path)
