"""Rows of a candidate list (``docs/draw-algorithm.md`` §2): CSV and JSON Lines parsing.

The row parsers behind :func:`evidence.draw.entrants.read_entrants`: each yields the
valid rows of one format as plain tuples and records every problem with its line in a
:class:`Problems`; :class:`Seen` keeps a 16-byte BLAKE2b digest of each identifier in one
flat buffer (collisions among 10^7 are ~10^-25 likely) and finds duplicates at the end
with numpy, so no set of millions of strings is ever built.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from evidence.draw.candidates import MAX_WEIGHT
from evidence.draw.config import DrawConfig
from evidence.draw.errors import EntrantProblem, InvalidEntrants

__all__ = [
    "MAX_PROBLEMS",
    "Columns",
    "EntrantRow",
    "Problems",
    "Seen",
    "columns",
    "csv_rows",
    "jsonl_rows",
]

MAX_PROBLEMS = 100
# (line, identifier, its UTF-8 bytes, weight, category index): plain tuples, one a row.
EntrantRow = tuple[int, str, bytes, int, int]


class Problems:
    """Problems found so far; refuses the list once :data:`MAX_PROBLEMS` are collected."""

    def __init__(self) -> None:
        self.items: list[EntrantProblem] = []

    def add(self, line: int, reason: str) -> None:
        self.items.append({"line": line, "reason": reason})
        if len(self.items) >= MAX_PROBLEMS:
            raise InvalidEntrants(
                f"the list has at least {MAX_PROBLEMS} problems; the first are listed",
                sorted(self.items, key=lambda p: p["line"]),
            )


def _weight(text: str) -> int | str:
    """The weight in a CSV field, or why it is refused."""
    if text.isascii() and text.isdigit():
        value = int(text)
        if 1 <= value <= MAX_WEIGHT:
            return value
        return "weight 0 is refused" if value == 0 else f"weight above {MAX_WEIGHT}"
    try:
        number = float(text)
    except ValueError:
        return f"weight {text!r} is not a number"
    if number < 0:
        return f"negative weight {text!r}"
    return f"weight {text!r} is not an integer"


def _json_weight(value: object) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "weight must be a JSON integer"
    if isinstance(value, float):
        return f"weight {value!r} is not an integer"
    if value < 0:
        return f"negative weight {value}"
    return _weight(str(value))


class Seen:
    """Identifier digests and their lines, for the duplicate check at the end."""

    def __init__(self) -> None:
        self.digests = bytearray()
        self.lines = array("I")

    def add(self, raw_id: bytes, line: int) -> None:
        self.digests += hashlib.blake2b(raw_id, digest_size=16).digest()
        self.lines.append(line)

    def duplicates(self, limit: int) -> list[EntrantProblem]:
        """Up to ``limit`` rows repeating an earlier identifier, earliest first."""
        if len(self.lines) < 2:
            return []
        words = np.frombuffer(self.digests, dtype=np.uint64).reshape(-1, 2)
        order = np.argsort(words[:, 0], kind="stable")
        high = words[order, 0]
        same = high[1:] == high[:-1]
        if not same.any():
            return []
        shared = np.zeros(len(order), dtype=bool)
        shared[1:] |= same
        shared[:-1] |= same
        rows = order[shared]  # only rows whose first 8 digest bytes recur: sort them fully
        rows = rows[np.lexsort((rows, words[rows, 1], words[rows, 0]))]
        repeat = np.all(words[rows[1:]] == words[rows[:-1]], axis=1)
        starts = np.concatenate(([True], ~repeat))
        first_row = rows[starts][np.cumsum(starts) - 1]
        later, earlier = rows[1:][repeat], first_row[1:][repeat]
        pick = np.argsort(later, kind="stable")[:limit]
        lines = np.frombuffer(self.lines, dtype=np.uint32)
        return [
            {"line": int(lines[a]), "reason": f"duplicate identifier (first on line {lines[b]})"}
            for a, b in zip(later[pick], earlier[pick], strict=True)
        ]


class _TailReader(io.RawIOBase):
    """A raw reader that remembers the last byte it passed on (to spot a cut-off file)."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream
        self.last = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        if size:
            self.last = data[-1:]
        return size


@dataclass(frozen=True)
class Columns:
    header: list[str]
    weighted: bool
    categories: dict[str, int]


def columns(config: DrawConfig) -> Columns:
    header = ["id"] + ["weight"] * config.weighted + ["category"] * bool(config.categories)
    return Columns(header, config.weighted, config.category_index())


def _check_id(entrant_id: str) -> bytes | str:
    try:
        raw = entrant_id.encode("utf-8")
    except UnicodeEncodeError:
        return "the identifier is not valid UTF-8"
    return raw if 0 < len(raw) <= 256 else "an identifier is 1 to 256 bytes of UTF-8"


def _csv_text(stream: IO[bytes]) -> tuple[_TailReader, io.TextIOWrapper]:
    tail = _TailReader(stream)
    text = io.TextIOWrapper(
        io.BufferedReader(tail, 1 << 20), "utf-8-sig", errors="surrogateescape", newline=""
    )
    return tail, text


def csv_rows(
    stream: IO[bytes], cols: Columns, problems: Problems, seen: Seen
) -> Iterator[EntrantRow]:
    tail, text = _csv_text(stream)
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.add(1, f"malformed CSV header: {exc}")
        return
    if header != cols.header:
        expected = ",".join(cols.header)
        problems.add(1, f"the header must be {expected!r}, got {header!r}")
        return
    while True:
        try:
            yield from _csv_body(reader, cols, problems, seen)
            break
        except csv.Error as exc:  # a quoting error: report it, then read on
            problems.add(reader.line_num, f"malformed CSV: {exc}")
    if reader.line_num > 1 and tail.last not in (b"\n", b"\r"):
        problems.add(reader.line_num, "the last row has no line break: the file looks cut off")


def _csv_body(
    reader: Iterator[list[str]], cols: Columns, problems: Problems, seen: Seen
) -> Iterator[EntrantRow]:
    # The hot loop of an upload: locals only, one check per field, no helper calls on
    # the common path.
    width, weight_at = len(cols.header), 1 if cols.weighted else 0
    names, category_at = cols.categories, width - 1 if cols.categories else 0
    digest, digests, lines = hashlib.blake2b, seen.digests, seen.lines
    for row in reader:
        line = reader.line_num  # type: ignore[attr-defined]
        if len(row) != width:
            if row:  # a blank line is skipped
                problems.add(line, f"{len(row)} fields where the header has {width}")
            continue
        entrant_id = row[0]
        try:
            raw = entrant_id.encode("utf-8")
        except UnicodeEncodeError:
            problems.add(line, "the identifier is not valid UTF-8")
            continue
        if not 0 < len(raw) <= 256:
            problems.add(line, "an identifier is 1 to 256 bytes of UTF-8")
            continue
        weight: int | str = _weight(row[weight_at]) if weight_at else 1
        if isinstance(weight, str):
            problems.add(line, weight)
            continue
        category = names.get(row[category_at], -1) if category_at else 0
        if category < 0:
            problems.add(line, f"unknown category {row[category_at]!r}")
            continue
        digests += digest(raw, digest_size=16).digest()
        lines.append(line)
        yield line, entrant_id, raw, weight, category


class _DuplicateMember(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateMember("a member appears twice")
    return result


def _json_row(obj: object, cols: Columns) -> tuple[bytes, int, int] | str:
    if not isinstance(obj, dict) or sorted(obj) != sorted(cols.header):
        return f"each line must be a JSON object with exactly {', '.join(cols.header)}"
    if not isinstance(obj["id"], str):
        return "id must be a JSON string"
    raw = _check_id(obj["id"])
    weight = _json_weight(obj["weight"]) if cols.weighted else 1
    category = cols.categories.get(obj["category"], -1) if cols.categories else 0
    if isinstance(raw, str) or isinstance(weight, str):
        return raw if isinstance(raw, str) else str(weight)
    if category < 0:
        return f"unknown category {obj['category']!r}"
    return raw, weight, category


def jsonl_rows(
    stream: IO[bytes], cols: Columns, problems: Problems, seen: Seen
) -> Iterator[EntrantRow]:
    for line, data in enumerate(stream, start=1):
        if not data.endswith(b"\n"):
            problems.add(line, "the last line has no line break: the file looks cut off")
            return
        if data.isspace():
            continue
        try:
            obj = json.loads(data, object_pairs_hook=_pairs)
        except _DuplicateMember:
            problems.add(line, "a member appears twice")
            continue
        except ValueError:
            problems.add(line, "not JSON")
            continue
        checked = _json_row(obj, cols)
        if isinstance(checked, str):
            problems.add(line, checked)
            continue
        seen.add(checked[0], line)
        yield line, obj["id"], *checked
