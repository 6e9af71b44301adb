"""Candidate lists (``docs/draw-algorithm.md`` §2): streamed parsing, salts, entries, mapping.

A list is CSV (a header ``id[,weight][,category]``: ``weight`` exactly when the draw is
weighted, ``category`` exactly when it has categories) or JSON Lines
(``{"id": ..., "weight": ..., "category": ...}`` with the same members). Both are read
from a binary stream a row at a time (:mod:`evidence.draw.rows`); nothing holds the
whole file.

Every row ends with a line break, the last one too: a file cut off mid-row is refused,
which is how an interrupted upload shows. Problems (malformed rows, bad weights,
unknown categories, duplicate identifiers) are reported with their line numbers, up to
:data:`MAX_PROBLEMS`, and the list is refused while any remain. Identifiers are unique,
so the leaves are too (the leaf encoding is injective and SHA-256 collision-resistant):
duplicate leaves cannot occur.

:func:`upload_entrants` salts each entrant, writes ``entries.bin`` and the organiser's
mapping, and computes ``candidateRoot`` in the same pass; with ``processes=2`` the
hashing (leaves, entries, root) runs in a second process while this one parses.
"""

from __future__ import annotations

import csv
import hashlib
import io
import multiprocessing
import re
import secrets
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection
from typing import IO, Literal

from evidence.draw.candidates import RootBuilder, leaf_prefix
from evidence.draw.config import DrawConfig
from evidence.draw.errors import InvalidEntrants
from evidence.draw.rows import (
    MAX_PROBLEMS,
    EntrantRow,
    Problems,
    Seen,
    columns,
    csv_rows,
    jsonl_rows,
)

__all__ = [
    "MAX_PROBLEMS",
    "EntrantRow",
    "ListFormat",
    "UploadSummary",
    "read_entrants",
    "read_mapping",
    "upload_entrants",
]

_BATCH = 4096
ListFormat = Literal["csv", "jsonl"]
SaltSource = Callable[[int], bytes]
_ENTRY_TAIL = struct.Struct(">IH")
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def read_entrants(stream: IO[bytes], config: DrawConfig, fmt: ListFormat) -> Iterator[EntrantRow]:
    """Yield each valid row; at the end (or at the 100th problem) raise :class:`InvalidEntrants`.

    A consumer must treat what it received as void when the exception comes.
    """
    problems, seen, cols = Problems(), Seen(), columns(config)
    parse = csv_rows if fmt == "csv" else jsonl_rows
    yield from parse(stream, cols, problems, seen)
    found = sorted(problems.items + seen.duplicates(MAX_PROBLEMS), key=lambda p: p["line"])
    if len(found) > MAX_PROBLEMS:
        raise InvalidEntrants(
            f"the list has more than {MAX_PROBLEMS} problems (the first are listed); "
            "nothing was kept",
            found[:MAX_PROBLEMS],
        )
    if found:
        raise InvalidEntrants(f"the list has {len(found)} problem(s); nothing was kept", found)


@dataclass(frozen=True)
class UploadSummary:
    """What an upload produced: ``count`` entries, their root, and the chunk roots
    (:class:`~evidence.draw.candidates.CandidateTree` serves receipts' proofs from them)."""

    count: int
    candidate_root: bytes
    chunk_roots: list[bytes]
    category_sizes: tuple[int, ...]


def _entries(prefix: bytes, ids: list[bytes], salts: bytes, tails: list[bytes]) -> bytes:
    """The batch's entries: ``leaf ‖ u32(w) ‖ u16(c)`` with each leaf hashed from its salt."""
    sha = hashlib.sha256
    leaves = [
        sha(prefix + len(raw).to_bytes(4, "big") + raw + salts[16 * k : 16 * k + 16]).digest()
        for k, raw in enumerate(ids)
    ]
    return b"".join([leaf + tail for leaf, tail in zip(leaves, tails, strict=True)])


def _hashing_worker(prefix: bytes, inbox: Connection, outbox: Connection) -> None:
    """The second process: batches in, their entries out; the root when the input ends."""
    builder = RootBuilder()
    while (batch := inbox.recv()) is not None:
        entries = _entries(prefix, *batch)
        builder.add(entries)
        outbox.send_bytes(entries)
    outbox.send((builder.root(), builder.chunk_roots()))


def _mapping_rows(start: int, batch: list[EntrantRow], salts: bytes) -> bytes:
    # ``index,id,salt`` lines; CSV quoting only in a batch where some identifier needs it.
    hexes, ids = salts.hex(), [r[1] for r in batch]
    if not _NEEDS_QUOTES.search("".join(ids)):
        lines = [
            f"{start + k},{eid},{hexes[32 * k : 32 * k + 32]}\r\n" for k, eid in enumerate(ids)
        ]
        return "".join(lines).encode("utf-8")
    text = io.StringIO()
    rows = zip(
        range(start, start + len(batch)),
        ids,
        (hexes[32 * k : 32 * k + 32] for k in range(len(ids))),
        strict=True,
    )
    csv.writer(text).writerows(rows)
    return text.getvalue().encode("utf-8")


class _Hasher:
    """Turns batches into entries and the root, here or in a second process, in order.

    With a worker, batch ``k``'s entries are collected just before batch ``k + 1`` is
    sent: each side only ever waits for a message the other is about to send, so the
    pipes cannot deadlock, and the worker hashes while this process parses.
    """

    def __init__(self, prefix: bytes, processes: int) -> None:
        self._prefix, self._builder = prefix, RootBuilder()
        self._pending = self._done = False
        self._worker: multiprocessing.process.BaseProcess | None = None
        if processes > 1:
            context = multiprocessing.get_context("spawn")  # no fork under a threaded server
            worker_in, self._send = context.Pipe(duplex=False)
            self._recv, worker_out = context.Pipe(duplex=False)
            self._worker = context.Process(
                target=_hashing_worker, args=(prefix, worker_in, worker_out), daemon=True
            )
            self._worker.start()
            worker_in.close()
            worker_out.close()

    def push(self, ids: list[bytes], salts: bytes, tails: list[bytes]) -> list[bytes]:
        """Hash one batch; returns the entries now ready, in list order."""
        if self._worker is None:
            entries = _entries(self._prefix, ids, salts, tails)
            self._builder.add(entries)
            return [entries]
        ready = [self._recv.recv_bytes()] if self._pending else []
        self._send.send((ids, salts, tails))
        self._pending = True
        return ready

    def finish(self) -> tuple[list[bytes], bytes, list[bytes]]:
        """The last entries, the root and the chunk roots."""
        if self._worker is None:
            return [], self._builder.root(), self._builder.chunk_roots()
        ready = [self._recv.recv_bytes()] if self._pending else []
        self._pending = False
        self._send.send(None)
        root, roots = self._recv.recv()
        self._done = True
        return ready, root, roots

    def close(self) -> None:
        """Stop the worker: it has finished, or the upload failed and its work is void."""
        if self._worker is not None:
            if not self._done:
                self._worker.terminate()
            self._worker.join()
            self._send.close()
            self._recv.close()


def _batches(rows: Iterator[EntrantRow]) -> Iterator[list[EntrantRow]]:
    while batch := list(islice(rows, _BATCH)):
        yield batch


def upload_entrants(
    stream: IO[bytes],
    config: DrawConfig,
    fmt: ListFormat,
    *,
    entries_out: IO[bytes],
    mapping_out: IO[bytes] | None = None,
    salt_source: SaltSource = secrets.token_bytes,
    processes: int = 1,
) -> UploadSummary:
    """Parse a list, salt each entrant, write ``entries.bin`` and the organiser's mapping.

    ``salt_source(n)`` returns ``n`` bytes from a CSPRNG (16 per entrant, drawn a batch at a
    time). The mapping is CSV ``index,id,salt`` (salt in hex), in upload order. On
    :class:`InvalidEntrants` both outputs are incomplete and must be discarded.
    ``processes=2`` hashes in a second (spawned) process.
    """
    pack, unit = _ENTRY_TAIL.pack, _ENTRY_TAIL.pack(1, 0)
    sizes, count = [0] * config.category_count, 0
    hasher = _Hasher(leaf_prefix(config.draw_id), processes)
    try:
        if mapping_out:
            mapping_out.write(b"index,id,salt\r\n")
        for batch in _batches(read_entrants(stream, config, fmt)):
            salts = salt_source(16 * len(batch))
            if len(salts) != 16 * len(batch):
                raise ValueError("the salt source returned the wrong number of bytes")
            plain = not (config.weighted or config.categories)
            tails = [unit] * len(batch) if plain else [pack(r[3], r[4]) for r in batch]
            entries_out.writelines(hasher.push([r[2] for r in batch], salts, tails))
            if config.categories:
                for category, size in Counter(r[4] for r in batch).items():
                    sizes[category] += size
            if mapping_out:
                mapping_out.write(_mapping_rows(count, batch, salts))
            count += len(batch)
        last, root, roots = hasher.finish()
        entries_out.writelines(last)
    finally:
        hasher.close()
    if not config.categories:
        sizes[0] = count
    return UploadSummary(count, root, roots, tuple(sizes))


def read_mapping(stream: IO[bytes]) -> Iterator[tuple[int, str, bytes]]:
    """``(index, id, salt)`` rows of a mapping written by :func:`upload_entrants`."""
    text = io.TextIOWrapper(stream, "utf-8", newline="")
    try:
        reader = csv.reader(text, strict=True)
        if next(reader, None) != ["index", "id", "salt"]:
            raise ValueError("not an entrant mapping (header index,id,salt)")
        for index, entrant_id, salt in reader:
            yield int(index), entrant_id, bytes.fromhex(salt)
    finally:
        text.detach()
