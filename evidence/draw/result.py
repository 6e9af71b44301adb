"""A draw's result (``docs/draw-algorithm.md`` §5): entries, root and ``result.jsonl``.

    resultEntry = u64(rank) ‖ u64(index) ‖ leaf ‖ u16(tier)      (50 bytes)
    resultRoot  = MTH(resultEntries)

``result.jsonl`` (§6) holds one ``{"rank", "index", "leaf", "tier"}`` object a line, in
rank order; :func:`read_result` accepts nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from chain_adapter.merkle import MerkleTree, hash_leaves

__all__ = [
    "RESULT_ENTRY_SIZE",
    "ResultEntry",
    "by_index",
    "encode_result_entry",
    "iter_result",
    "read_result",
    "result_root",
    "winner_count",
    "write_result",
]

RESULT_ENTRY_SIZE = 50
_LEAF_HEX = re.compile(r"[0-9a-f]{64}")
_MEMBERS = ("rank", "index", "leaf", "tier")


@dataclass(frozen=True, slots=True)
class ResultEntry:
    """One ranked entrant: ``tier`` is 1…T for a winner, 0 on the waiting list."""

    rank: int
    index: int
    leaf: bytes
    tier: int


def encode_result_entry(entry: ResultEntry) -> bytes:
    """The 50 bytes of §5."""
    return (
        entry.rank.to_bytes(8, "big")
        + entry.index.to_bytes(8, "big")
        + entry.leaf
        + entry.tier.to_bytes(2, "big")
    )


def result_root(entries: Iterable[ResultEntry]) -> bytes:
    """``resultRoot``: the RFC 9162 root over the encoded result entries."""
    return MerkleTree.from_leaves(hash_leaves(map(encode_result_entry, entries))).root


def winner_count(entries: Iterable[ResultEntry]) -> int:
    """The number of winners (tier ≥ 1), as the chain records it."""
    return sum(1 for e in entries if e.tier > 0)


def _line(entry: ResultEntry) -> bytes:
    return (
        f'{{"rank":{entry.rank},"index":{entry.index},'
        f'"leaf":"{entry.leaf.hex()}","tier":{entry.tier}}}\n'
    ).encode("ascii")


def write_result(stream: IO[bytes], entries: Iterable[ResultEntry]) -> None:
    """Write ``result.jsonl``."""
    stream.writelines(map(_line, entries))


def _natural(value: object, name: str, line: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"result.jsonl line {line}: {name} must be a non-negative integer")
    return value


def _entry(raw: bytes, line: int) -> ResultEntry:
    try:
        obj = json.loads(raw)
    except ValueError:
        raise ValueError(f"result.jsonl line {line}: not JSON") from None
    if not isinstance(obj, dict) or sorted(obj) != sorted(_MEMBERS):
        raise ValueError(f"result.jsonl line {line}: members must be {', '.join(_MEMBERS)}")
    leaf = obj["leaf"]
    if not isinstance(leaf, str) or not _LEAF_HEX.fullmatch(leaf):
        raise ValueError(f"result.jsonl line {line}: leaf must be 32 bytes of lowercase hex")
    rank = _natural(obj["rank"], "rank", line)
    index = _natural(obj["index"], "index", line)
    tier = _natural(obj["tier"], "tier", line)
    if rank >= 2**64 or index >= 2**64 or tier >= 2**16:
        raise ValueError(f"result.jsonl line {line}: a value is out of range")
    return ResultEntry(rank, index, bytes.fromhex(leaf), tier)


def iter_result(stream: IO[bytes]) -> Iterator[ResultEntry]:
    """Parse ``result.jsonl`` line by line; raises ``ValueError`` naming the line."""
    for line, raw in enumerate(stream, start=1):
        if not raw.endswith(b"\n"):
            raise ValueError(f"result.jsonl line {line}: cut off (no line break)")
        yield _entry(raw, line)


def read_result(stream: IO[bytes]) -> list[ResultEntry]:
    """All of ``result.jsonl``; ranks must run 1, 2, 3, ..."""
    entries = list(iter_result(stream))
    for position, entry in enumerate(entries, start=1):
        if entry.rank != position:
            raise ValueError(f"result.jsonl line {position}: rank {entry.rank}, not {position}")
    return entries


def by_index(entries: Sequence[ResultEntry]) -> dict[int, ResultEntry]:
    """Result entries by entry index: what an entrant's check looks up."""
    return {e.index: e for e in entries}
