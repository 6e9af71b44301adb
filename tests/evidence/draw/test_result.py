"""§5: result entries, their root, and result.jsonl written and read strictly."""

from __future__ import annotations

import io

import pytest

from chain_adapter.merkle import MerkleTree, hash_leaves
from evidence.draw.result import (
    ResultEntry,
    by_index,
    encode_result_entry,
    read_result,
    result_root,
    winner_count,
    write_result,
)

ENTRIES = [ResultEntry(1, 7, b"\x07" * 32, 1), ResultEntry(2, 3, b"\x03" * 32, 2)]
ENTRIES += [ResultEntry(3, 9, b"\x09" * 32, 0)]


def test_encoding_and_root() -> None:
    encoded = encode_result_entry(ENTRIES[0])
    assert len(encoded) == 50
    assert encoded == (1).to_bytes(8, "big") + (7).to_bytes(8, "big") + b"\x07" * 32 + b"\x00\x01"
    expected = MerkleTree.from_leaves(hash_leaves(map(encode_result_entry, ENTRIES))).root
    assert result_root(ENTRIES) == expected
    assert winner_count(ENTRIES) == 2
    assert by_index(ENTRIES)[3] == ENTRIES[1]


def test_jsonl_round_trip() -> None:
    stream = io.BytesIO()
    write_result(stream, ENTRIES)
    first = stream.getvalue().splitlines()[0]
    assert first == b'{"rank":1,"index":7,"leaf":"' + b"07" * 32 + b'","tier":1}'
    assert read_result(io.BytesIO(stream.getvalue())) == ENTRIES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"rank":1,"index":7,"leaf":"' + b"07" * 32 + b'","tier":1}', "cut off"),
        (b'{"rank":1,"index":7,"leaf":"' + b"07" * 32 + b'"}\n', "members"),
        (b'{"rank":1,"index":-7,"leaf":"' + b"07" * 32 + b'","tier":1}\n', "index"),
        (b'{"rank":1,"index":7,"leaf":"' + b"AB" * 32 + b'","tier":1}\n', "leaf"),
        (b'{"rank":2,"index":7,"leaf":"' + b"07" * 32 + b'","tier":1}\n', "rank 2, not 1"),
        (b"nope\n", "not JSON"),
    ],
)
def test_malformed_lines_are_refused_with_their_line(text: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_result(io.BytesIO(text))
