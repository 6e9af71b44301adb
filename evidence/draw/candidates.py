"""The candidate list (``docs/draw-algorithm.md`` §2): leaves, 38-byte entries, ``candidateRoot``.

    leaf  = H("notary-hub-draw/1 leaf" ‖ lp(utf8(drawId)) ‖ lp(utf8(entrantId)) ‖ salt)
    entry = leaf ‖ u32(w) ‖ u16(c)

``candidateRoot`` is the RFC 9162 Merkle Tree Hash of the entries (via
:mod:`chain_adapter.merkle`). It is computed over aligned chunks of ``CHUNK`` entries:
in an RFC 9162 tree every aligned power-of-two block is a subtree, so the root over the
chunks' roots is the root over the entries, and neither the upload nor a verifier ever
holds more than one chunk's hashes. The chunk roots (32 bytes per 4096 entries) are
kept to serve inclusion proofs: one proof rehashes one chunk.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from chain_adapter.merkle import MerkleTree, hash_leaves
from evidence.draw.parallel import fork_map, split

# Whatever holds entries: bytes in tests, a mapped entries.bin in production.
Buffer = bytes | bytearray | memoryview | mmap.mmap

__all__ = [
    "CHUNK",
    "ENTRY_SIZE",
    "Buffer",
    "CandidateTree",
    "RootBuilder",
    "candidate_root",
    "chunk_roots",
    "decode_entry",
    "encode_entry",
    "entrant_leaf",
    "entry_count",
    "leaf_prefix",
    "open_entries",
]

ENTRY_SIZE = 38
CHUNK = 4096  # a power of two (see the module docstring)
MAX_WEIGHT = 2**32 - 1
_LEAF_TAG = b"notary-hub-draw/1 leaf"


def leaf_prefix(draw_id: str) -> bytes:
    """The bytes every leaf of ``draw_id`` starts with: the tag and ``lp(utf8(drawId))``."""
    raw = draw_id.encode("utf-8")
    return _LEAF_TAG + len(raw).to_bytes(4, "big") + raw


def entrant_leaf(draw_id: str, entrant_id: str, salt: bytes) -> bytes:
    """One entrant's leaf."""
    raw = entrant_id.encode("utf-8")
    if not 1 <= len(raw) <= 256:
        raise ValueError("an entrant identifier is 1 to 256 bytes of UTF-8")
    if len(salt) != 16:
        raise ValueError("a salt is 16 bytes")
    data = leaf_prefix(draw_id) + len(raw).to_bytes(4, "big") + raw + salt
    return hashlib.sha256(data).digest()


def encode_entry(leaf: bytes, weight: int, category: int) -> bytes:
    """``leaf ‖ u32(w) ‖ u16(c)``."""
    if len(leaf) != 32 or not 1 <= weight <= MAX_WEIGHT or not 0 <= category < 65536:
        raise ValueError("an entry is a 32-byte leaf, a weight 1..2^32-1 and a category")
    return leaf + weight.to_bytes(4, "big") + category.to_bytes(2, "big")


def decode_entry(entry: bytes) -> tuple[bytes, int, int]:
    """``(leaf, weight, category)`` of one 38-byte entry."""
    if len(entry) != ENTRY_SIZE:
        raise ValueError(f"an entry is {ENTRY_SIZE} bytes")
    return entry[:32], int.from_bytes(entry[32:36], "big"), int.from_bytes(entry[36:], "big")


def entry_count(entries: Buffer) -> int:
    """The number of entries in a blob; refuses a length that is not a whole number."""
    size = memoryview(entries).nbytes
    if size % ENTRY_SIZE:
        raise ValueError(f"{size} bytes is not a whole number of {ENTRY_SIZE}-byte entries")
    return size // ENTRY_SIZE


def open_entries(path: Path) -> mmap.mmap | bytes:
    """``entries.bin`` mapped read-only (an empty file as ``b""``: it cannot be mapped)."""
    with path.open("rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return b""
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


def _chunk_tree(blob: Buffer) -> MerkleTree:
    data = bytes(blob)
    return MerkleTree.from_leaves(
        hash_leaves([data[o : o + ENTRY_SIZE] for o in range(0, len(data), ENTRY_SIZE)])
    )


def _roots_of_range(entries: Buffer, first: int, last: int) -> list[bytes]:
    step = CHUNK * ENTRY_SIZE
    view = memoryview(entries)
    return [_chunk_tree(view[c * step : (c + 1) * step]).root for c in range(first, last)]


def chunk_roots(entries: Buffer, *, processes: int = 1) -> list[bytes]:
    """The roots of the aligned ``CHUNK``-entry chunks; ``processes`` > 1 forks workers
    (:func:`evidence.draw.parallel.fork_map`)."""
    chunks = -(-entry_count(entries) // CHUNK)
    parts = split(chunks, max(1, processes))
    return [root for part in fork_map(_roots_of_range, [entries], parts) for root in part]


def _root_over_chunks(roots: Sequence[bytes]) -> bytes:
    return MerkleTree.from_leaves(list(roots)).root


def candidate_root(entries: Buffer, *, processes: int = 1) -> bytes:
    """``candidateRoot = MTH(entries)``."""
    return _root_over_chunks(chunk_roots(entries, processes=processes))


class RootBuilder:
    """``candidateRoot`` computed as entries are appended (an upload's single pass)."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._roots: list[bytes] = []
        self._count = 0

    def add(self, entries: Buffer) -> None:
        """Append whole entries."""
        view = memoryview(entries)
        if view.nbytes % ENTRY_SIZE:
            raise ValueError(f"entries come in whole {ENTRY_SIZE}-byte units")
        self._pending += view
        self._count += view.nbytes // ENTRY_SIZE
        step = CHUNK * ENTRY_SIZE
        full = len(self._pending) // step * step
        if full:
            self._roots.extend(_roots_of_range(self._pending[:full], 0, full // step))
            del self._pending[:full]

    @property
    def count(self) -> int:
        return self._count

    def chunk_roots(self) -> list[bytes]:
        """Every chunk's root so far, the partial last chunk included."""
        tail = [_chunk_tree(self._pending).root] if self._pending else []
        return self._roots + tail

    def root(self) -> bytes:
        return _root_over_chunks(self.chunk_roots())


class CandidateTree:
    """Inclusion proofs (RFC 9162 §2.1.3) over an entries blob and its chunk roots."""

    def __init__(self, entries: Buffer, roots: Sequence[bytes] | None = None) -> None:
        self._entries = memoryview(entries)
        self.count = entry_count(entries)
        self._roots = list(roots) if roots is not None else chunk_roots(entries)
        if len(self._roots) != -(-self.count // CHUNK):
            raise ValueError("the chunk roots do not match the number of entries")
        self._top = MerkleTree.from_leaves(self._roots)

    @property
    def root(self) -> bytes:
        return self._top.root

    def entry(self, index: int) -> bytes:
        if not 0 <= index < self.count:
            raise IndexError(f"entry {index} is not in a list of {self.count}")
        return bytes(self._entries[index * ENTRY_SIZE : (index + 1) * ENTRY_SIZE])

    def _chunk(self, chunk: int) -> MerkleTree:
        step = CHUNK * ENTRY_SIZE
        return _chunk_tree(self._entries[chunk * step : (chunk + 1) * step])

    def inclusion_proof(self, index: int) -> list[bytes]:
        """``PATH(index, D[count])``: the chunk's path, then the path of the chunk's root."""
        self.entry(index)
        chunk = index // CHUNK
        tree = self._chunk(chunk)
        return tree.inclusion_proof(index % CHUNK) + self._top.inclusion_proof(chunk)

    def proofs(self, chunk: int) -> Iterator[tuple[int, list[bytes]]]:
        """``(index, proof)`` for every entry of one chunk, hashing the chunk once."""
        tree = self._chunk(chunk)
        upper = self._top.inclusion_proof(chunk)
        for offset in range(tree.size):
            yield chunk * CHUNK + offset, tree.inclusion_proof(offset) + upper
