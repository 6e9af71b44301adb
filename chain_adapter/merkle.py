"""Merkle trees over SHA-256 as defined by RFC 9162 (Certificate Transparency 2.0).

Spec: https://www.rfc-editor.org/rfc/rfc9162 — §2.1.1 "Definition of the Merkle
Tree" (leaf and node hashing, ``MTH`` for any ``n``), §2.1.3.1 "Generating an
Inclusion Proof" (``PATH(m, D[n])``) and §2.1.3.2 "Verifying an Inclusion Proof".

The RFC defines ``MTH`` recursively, splitting at the largest power of two
smaller than ``n``. Building level by level, hashing adjacent pairs and
*promoting* an unpaired last node unchanged to the next level, yields exactly
the same tree; that lets us keep every level as one flat blob of 32-byte nodes
and read audit paths straight out of them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleLevel",
    "MerkleTree",
    "hash_leaves",
    "leaf_hash",
    "node_hash",
    "verify_inclusion",
]

HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256

# RFC 9162 §2.1.1: the hash of an empty list is the hash of an empty string.
EMPTY_ROOT: bytes = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one leaf entry."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def hash_leaves(entries: Iterable[bytes]) -> list[bytes]:
    """Leaf hashes of many entries at once (one comprehension, no per-call overhead)."""
    sha, prefix = _sha256, _LEAF_PREFIX
    return [sha(prefix + e).digest() for e in entries]


def _next_level(nodes: Sequence[bytes]) -> list[bytes]:
    sha, prefix = _sha256, _NODE_PREFIX
    it = iter(nodes)
    parents = [sha(prefix + left + right).digest() for left, right in zip(it, it, strict=False)]
    if len(nodes) & 1:
        parents.append(nodes[-1])  # promoted unchanged, which is what RFC 9162's split implies
    return parents


class MerkleLevel(Sequence[bytes]):
    """A read-only view of one tree level: ``len()`` nodes of 32 bytes over one blob."""

    __slots__ = ("_blob",)

    def __init__(self, blob: bytes) -> None:
        self._blob = blob

    @property
    def blob(self) -> bytes:
        """The level's nodes concatenated, as stored."""
        return self._blob

    def __len__(self) -> int:
        return len(self._blob) // HASH_SIZE

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("level index out of range")
        start = index * HASH_SIZE
        return self._blob[start : start + HASH_SIZE]

    def __iter__(self) -> Iterator[bytes]:
        blob = self._blob
        return (blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE))

    def __repr__(self) -> str:
        return f"MerkleLevel(nodes={len(self)})"


def _level_sizes(size: int) -> list[int]:
    sizes = [size]
    while size > 1:
        size = (size + 1) // 2
        sizes.append(size)
    return sizes


class MerkleTree:
    """An immutable RFC 9162 tree over given leaf hashes, keeping every level.

    Level 0 holds the leaf hashes, the last level the root alone; an empty tree
    has one empty level and root :data:`EMPTY_ROOT`.
    """

    __slots__ = ("_blobs", "_size")

    def __init__(self, blobs: Sequence[bytes], size: int) -> None:
        # Internal: use from_leaves / from_level_blobs, which check the shape.
        self._blobs = tuple(blobs)
        self._size = size

    @classmethod
    def from_leaves(cls, leaf_hashes: Sequence[bytes]) -> MerkleTree:
        """Build the tree over ``leaf_hashes`` (each already a 32-byte leaf hash)."""
        if leaf_hashes and set(map(len, leaf_hashes)) != {HASH_SIZE}:
            raise ValueError(f"every leaf hash must be {HASH_SIZE} bytes")
        blobs = [b"".join(leaf_hashes)]
        level: Sequence[bytes] = leaf_hashes
        while len(level) > 1:
            level = _next_level(level)
            blobs.append(b"".join(level))
        return cls(blobs, len(leaf_hashes))

    @classmethod
    def from_level_blobs(cls, blobs: Sequence[bytes], *, verify: bool = False) -> MerkleTree:
        """Reload a tree saved with :meth:`to_level_blobs`.

        The shape (level count and sizes) is always checked. Node values are
        trusted unless ``verify`` is set, which rehashes every level from the
        leaves: O(n), for stores that are not trusted.
        """
        if not blobs:
            raise ValueError("a tree has at least one level")
        if len(blobs[0]) % HASH_SIZE:
            raise ValueError(f"level 0 length is not a multiple of {HASH_SIZE}")
        size = len(blobs[0]) // HASH_SIZE
        expected = _level_sizes(size)
        if len(blobs) != len(expected):
            raise ValueError(f"{size} leaves make {len(expected)} levels, got {len(blobs)}")
        for depth, (blob, nodes) in enumerate(zip(blobs, expected, strict=True)):
            if len(blob) != nodes * HASH_SIZE:
                raise ValueError(f"level {depth} must hold {nodes} nodes")
        tree = cls([bytes(b) for b in blobs], size)
        if verify:
            rebuilt = cls.from_leaves(list(MerkleLevel(tree._blobs[0])))
            if rebuilt._blobs != tree._blobs:
                raise ValueError("stored levels do not match the leaves")
        return tree

    def to_level_blobs(self) -> list[bytes]:
        """Every level as its nodes concatenated, leaves first, root last."""
        return list(self._blobs)

    @property
    def size(self) -> int:
        """The number of leaves."""
        return self._size

    @property
    def root(self) -> bytes:
        """``MTH(D[n])``."""
        if self._size == 0:
            return EMPTY_ROOT
        return self._blobs[-1]

    @property
    def levels(self) -> tuple[MerkleLevel, ...]:
        """Views of every level, leaves first, root last."""
        return tuple(MerkleLevel(b) for b in self._blobs)

    def inclusion_proof(self, index: int) -> list[bytes]:
        """``PATH(index, D[n])`` (RFC 9162 §2.1.3.1), nearest the leaf first.

        In the level-wise tree the path is each level's sibling of the node on
        the way up; a promoted node has no sibling and adds nothing, just as a
        right-hand subtree without a partner adds nothing in the RFC's recursion.
        """
        if not 0 <= index < self._size:
            raise IndexError(f"leaf index {index} is not in a tree of {self._size} leaves")
        proof: list[bytes] = []
        for blob in self._blobs[:-1]:
            sibling = (index ^ 1) * HASH_SIZE
            if sibling < len(blob):
                proof.append(blob[sibling : sibling + HASH_SIZE])
            index >>= 1
        return proof

    def __repr__(self) -> str:
        return f"MerkleTree(size={self._size}, root={self.root.hex()})"


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` puts ``leaf_hash`` at ``index`` in the ``tree_size`` tree with ``root``.

    RFC 9162 §2.1.3.2 step by step. A proof of the wrong length fails inside the
    algorithm itself: too long runs ``sn`` to 0 early, too short leaves it non-zero.
    """
    if isinstance(index, bool) or isinstance(tree_size, bool):
        return False
    if not 0 <= index < tree_size:
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and all(map(_is_hash, proof))):
        return False
    sha, prefix = _sha256, _NODE_PREFIX
    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha(prefix + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha(prefix + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, root)
