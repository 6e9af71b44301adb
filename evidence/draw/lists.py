"""Accepting an uploaded list: the parse of §2 from the upload's chunks to the draw's files.

:func:`evidence.draw.entrants.upload_entrants` reads the list a row at a time (from the
upload's chunks, decrypted as they stream) and writes two things: ``entries.bin`` (public:
a plain file of the draw's directory, mapped for the selection and the receipts, with
the chunk roots that serve inclusion proofs) and the organiser's mapping (identifiers and
salts: it names people, so it goes into the encrypted blob store). Both are written
aside and kept only if the whole list is good; a refused list leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence.blob_store import BlobStore, BlobWriter
from evidence.draw.config import DrawConfig
from evidence.draw.entrants import upload_entrants

MAX_MAPPING_BYTES = 64 << 30
CHUNK_ROOTS_FILE = "chunk-roots.bin"


@dataclass(frozen=True)
class AcceptedList:
    entries_sha256: bytes
    mapping_sha256: bytes
    count: int
    root: bytes
    category_counts: tuple[int, ...]


class ChunkStream(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _HashingFile(io.RawIOBase):
    """A writable binary stream into a file, hashing what passes (SHA-256)."""

    def __init__(self, file: io.BufferedWriter) -> None:
        super().__init__()
        self._file = file  # the caller's: flushed and closed by the caller
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return self._file.write(data)


class _BlobSink(io.RawIOBase):
    """A writable binary stream into a blob writer."""

    def __init__(self, writer: BlobWriter) -> None:
        super().__init__()
        self._writer = writer

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._writer.write(chunk)
        return len(chunk)


def accept_list(
    chunks: Iterable[bytes],
    fmt: str,
    config: DrawConfig,
    blobs: BlobStore,
    directory: Path,
    entries_name: str,
) -> AcceptedList:
    """Parse the list into ``directory/entries_name`` and a mapping blob; on any error
    (:class:`~evidence.draw.errors.InvalidEntrants` with its problems) neither is kept."""
    source = io.BufferedReader(ChunkStream(chunks), 1 << 20)
    partial = directory / f"{entries_name}.partial"
    writer = blobs.writer(max_size=MAX_MAPPING_BYTES)
    try:
        with partial.open("wb") as file:
            entries_out = io.BufferedWriter(hashing := _HashingFile(file), 1 << 20)
            mapping = io.BufferedWriter(_BlobSink(writer), 1 << 20)
            summary = upload_entrants(
                source, config, "csv" if fmt == "csv" else "jsonl",
                entries_out=entries_out, mapping_out=mapping,
            )  # fmt: skip
            mapping.flush()
            entries_out.flush()
        stored = writer.commit()
    except BaseException:
        writer.abort()
        partial.unlink(missing_ok=True)
        raise
    partial.replace(directory / entries_name)
    (directory / CHUNK_ROOTS_FILE).write_bytes(b"".join(summary.chunk_roots))
    return AcceptedList(
        entries_sha256=hashing.digest.digest(),
        mapping_sha256=stored.sha256,
        count=summary.count,
        root=summary.candidate_root,
        category_counts=summary.category_sizes,
    )
