"""§2: leaves, entries and candidateRoot (RFC 9162) computed by chunks; inclusion proofs."""

from __future__ import annotations

import hashlib
import random

import pytest

from chain_adapter.merkle import MerkleTree, hash_leaves, leaf_hash, verify_inclusion
from evidence.draw.candidates import (
    CHUNK,
    CandidateTree,
    RootBuilder,
    candidate_root,
    decode_entry,
    encode_entry,
    entrant_leaf,
    entry_count,
)

SIZES = [1, 2, 3, 5, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 3, 3 * CHUNK + 1]


def _entries(count: int) -> bytes:
    return random.Random(count).randbytes(38 * count)


def _reference(entries: bytes) -> MerkleTree:
    return MerkleTree.from_leaves(
        hash_leaves([entries[o : o + 38] for o in range(0, len(entries), 38)])
    )


def test_leaf_and_entry_layout() -> None:
    leaf = entrant_leaf("draw-1", "张三", bytes(16))
    raw = "张三".encode()
    expected = b"notary-hub-draw/1 leaf" + b"\x00\x00\x00\x06draw-1" + len(raw).to_bytes(4, "big")
    assert leaf == hashlib.sha256(expected + raw + bytes(16)).digest()
    entry = encode_entry(leaf, 2**32 - 1, 999)
    assert entry == leaf + b"\xff\xff\xff\xff\x03\xe7"
    assert decode_entry(entry) == (leaf, 2**32 - 1, 999)
    for bad in [(leaf, 0, 0), (leaf, 2**32, 0), (leaf, 1, 65536), (leaf[:31], 1, 0)]:
        with pytest.raises(ValueError):
            encode_entry(*bad)
    with pytest.raises(ValueError):
        entrant_leaf("d", "x" * 257, bytes(16))
    with pytest.raises(ValueError):
        entry_count(bytes(39))


@pytest.mark.parametrize("count", SIZES)
def test_chunked_root_and_builder_equal_the_whole_tree(count: int) -> None:
    entries = _entries(count)
    reference = _reference(entries)
    assert candidate_root(entries) == reference.root
    builder, rng, done = RootBuilder(), random.Random(1), 0
    while done < count:
        step = min(count - done, rng.randrange(1, 3 * CHUNK // 2))
        builder.add(entries[38 * done : 38 * (done + step)])
        done += step
    assert (builder.root(), builder.count) == (reference.root, count)


def test_two_processes_give_the_same_root() -> None:
    entries = _entries(4 * CHUNK + 5)
    assert candidate_root(entries, processes=2) == candidate_root(entries)


@pytest.mark.parametrize("count", [1, 3, CHUNK + 1, 2 * CHUNK + 3])
def test_inclusion_proofs_are_rfc9162_paths(count: int) -> None:
    entries = _entries(count)
    reference, tree = _reference(entries), CandidateTree(entries)
    for index in {0, count // 2, count - 1, min(CHUNK, count - 1)}:
        proof = tree.inclusion_proof(index)
        assert proof == reference.inclusion_proof(index)
        assert verify_inclusion(leaf_hash(tree.entry(index)), index, count, proof, tree.root)
    chunk = (count - 1) // CHUNK
    proofs = dict(tree.proofs(chunk))
    assert proofs[count - 1] == reference.inclusion_proof(count - 1)
    with pytest.raises(IndexError):
        tree.inclusion_proof(count)


def test_stored_chunk_roots_must_fit_the_list() -> None:
    entries = _entries(CHUNK + 1)
    builder = RootBuilder()
    builder.add(entries)
    assert CandidateTree(entries, builder.chunk_roots()).root == builder.root()
    with pytest.raises(ValueError):
        CandidateTree(entries, builder.chunk_roots()[:1])
