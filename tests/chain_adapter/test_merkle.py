"""RFC 9162 Merkle trees: known answers, equivalence with the RFC's recursion, proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chain_adapter.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    hash_leaves,
    leaf_hash,
    node_hash,
    verify_inclusion,
)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- An independent reference: RFC 9162 §2.1.1 and §2.1.3.1 as written (recursive). ---


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH over *leaf hashes*."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = _split(n)
    return sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:]))


def ref_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*ref_path(m, leaves[:k]), ref_mth(leaves[k:])]
    return [*ref_path(m - k, leaves[k:]), ref_mth(leaves[:k])]


def make_leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [sha256(b"\x00" + salt + i.to_bytes(8, "big")) for i in range(n)]


# --- Known answers. ---


def test_empty_tree_is_hash_of_empty_string() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == expected
    tree = MerkleTree.from_leaves([])
    assert tree.root.hex() == expected
    assert tree.size == 0
    with pytest.raises(IndexError):
        tree.inclusion_proof(0)


def test_leaf_and_node_hash_prefixes() -> None:
    assert leaf_hash(b"abc") == sha256(b"\x00abc")
    assert node_hash(b"L" * 32, b"R" * 32) == sha256(b"\x01" + b"L" * 32 + b"R" * 32)
    assert hash_leaves([b"a", b"b"]) == [sha256(b"\x00a"), sha256(b"\x00b")]


def test_small_trees_written_out_by_hand() -> None:
    a, b, c = (sha256(b"\x00" + d) for d in (b"a", b"b", b"c"))
    assert MerkleTree.from_leaves([a]).root == a
    ab = sha256(b"\x01" + a + b)
    assert MerkleTree.from_leaves([a, b]).root == ab
    # Three leaves: k = 2, so the third leaf joins the root unhashed again.
    assert MerkleTree.from_leaves([a, b, c]).root == sha256(b"\x01" + ab + c)


# Leaf inputs and roots from the Certificate Transparency reference test data
# (certificate-transparency / Trillian RFC 6962 test vectors; RFC 9162 hashes identically).
CT_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
             "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("n", range(1, 9))
def test_ct_reference_vectors(n: int) -> None:
    leaves = hash_leaves(bytes.fromhex(x) for x in CT_INPUTS[:n])
    assert MerkleTree.from_leaves(leaves).root.hex() == CT_ROOTS[n - 1]


def test_rfc_example_paths_for_seven_leaves() -> None:
    # The seven-leaf example tree of RFC 9162 §2.1.5 (a..g): paths by subtree range.
    d = make_leaves(7)
    tree = MerkleTree.from_leaves(d)

    def rng(lo: int, hi: int) -> bytes:
        return ref_mth(d[lo:hi])

    assert tree.inclusion_proof(0) == [rng(1, 2), rng(2, 4), rng(4, 7)]
    assert tree.inclusion_proof(3) == [rng(2, 3), rng(0, 2), rng(4, 7)]
    assert tree.inclusion_proof(4) == [rng(5, 6), rng(6, 7), rng(0, 4)]
    assert tree.inclusion_proof(6) == [rng(4, 6), rng(0, 4)]


# --- The level-wise build with promotion equals the RFC's recursion. ---


@pytest.mark.parametrize("n", [*range(1, 71), 127, 128, 129, 1000, 1023, 1025, 4097, 10_001])
def test_root_and_levels_match_recursive_reference(n: int) -> None:
    leaves = make_leaves(n)
    tree = MerkleTree.from_leaves(leaves)
    assert tree.size == n
    assert tree.root == ref_mth(leaves)
    assert list(tree.levels[0]) == leaves
    assert len(tree.levels[-1]) == 1


@pytest.mark.parametrize("n", range(1, 41))
def test_every_inclusion_proof_verifies(n: int) -> None:
    leaves = make_leaves(n)
    tree = MerkleTree.from_leaves(leaves)
    for m in range(n):
        proof = tree.inclusion_proof(m)
        assert proof == ref_path(m, leaves)
        assert verify_inclusion(leaves[m], m, n, proof, tree.root)


@pytest.mark.parametrize("n", [1023, 1024, 1025, 100_003])
def test_proofs_in_bigger_trees(n: int) -> None:
    leaves = make_leaves(n)
    tree = MerkleTree.from_leaves(leaves)
    for m in {0, 1, n // 2, n - 2, n - 1}:
        proof = tree.inclusion_proof(m)
        assert len(proof) <= n.bit_length()
        assert verify_inclusion(leaves[m], m, n, proof, tree.root)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=3000).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(min_value=0, max_value=n - 1))
))  # fmt: skip
def test_random_sizes_and_indices(case: tuple[int, int]) -> None:
    n, m = case
    leaves = make_leaves(n, salt=b"h")
    tree = MerkleTree.from_leaves(leaves)
    proof = tree.inclusion_proof(m)
    assert proof == ref_path(m, leaves)
    assert verify_inclusion(leaves[m], m, n, proof, tree.root)
    # A proof never carries over to another position.
    if n > 1:
        assert not verify_inclusion(leaves[m], (m + 1) % n, n, proof, tree.root)


# --- Tampering fails. ---


@pytest.fixture
def case() -> tuple[list[bytes], MerkleTree]:
    leaves = make_leaves(13)
    return leaves, MerkleTree.from_leaves(leaves)


def test_tampered_leaf_fails(case: tuple[list[bytes], MerkleTree]) -> None:
    leaves, tree = case
    proof = tree.inclusion_proof(5)
    assert not verify_inclusion(leaves[6], 5, 13, proof, tree.root)
    assert not verify_inclusion(bytes(32), 5, 13, proof, tree.root)


def test_tampered_index_and_size_fail(case: tuple[list[bytes], MerkleTree]) -> None:
    leaves, tree = case
    proof = tree.inclusion_proof(5)
    for m in (4, 6, 13, 14, -1):
        assert not verify_inclusion(leaves[5], m, 13, proof, tree.root)
    # Sizes 9..16 give leaf 5 the same path shape, so only the root (signed
    # with its size in a tree head) binds the size; other sizes must fail.
    for size in (0, 5, 6, 8, 17, 26, 33):
        assert not verify_inclusion(leaves[5], 5, size, proof, tree.root)
    assert not verify_inclusion(leaves[5], True, 13, proof, tree.root)


def test_tampered_proof_fails(case: tuple[list[bytes], MerkleTree]) -> None:
    leaves, tree = case
    proof = tree.inclusion_proof(5)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        assert not verify_inclusion(leaves[5], 5, 13, bad, tree.root)
    assert not verify_inclusion(leaves[5], 5, 13, proof[:-1], tree.root)
    assert not verify_inclusion(leaves[5], 5, 13, [*proof, proof[-1]], tree.root)
    assert not verify_inclusion(leaves[5], 5, 13, list(reversed(proof)), tree.root)
    assert not verify_inclusion(leaves[5], 5, 13, [*proof[:-1], proof[-1][:31]], tree.root)
    assert not verify_inclusion(leaves[5], 5, 13, [*proof[:-1], proof[-1] + b"\0"], tree.root)


def test_tampered_root_fails(case: tuple[list[bytes], MerkleTree]) -> None:
    leaves, tree = case
    proof = tree.inclusion_proof(5)
    assert verify_inclusion(leaves[5], 5, 13, proof, tree.root)
    assert not verify_inclusion(leaves[5], 5, 13, proof, bytes(32))
    assert not verify_inclusion(leaves[5], 5, 13, proof, tree.root[:31])
    assert not verify_inclusion(leaves[5], 5, 13, proof, tree.root.hex().encode()[:32])


def test_single_leaf_tree_has_empty_proof() -> None:
    leaf = leaf_hash(b"only")
    tree = MerkleTree.from_leaves([leaf])
    assert tree.inclusion_proof(0) == []
    assert verify_inclusion(leaf, 0, 1, [], tree.root)
    assert not verify_inclusion(leaf, 0, 1, [leaf], tree.root)


def test_out_of_range_proof_request(case: tuple[list[bytes], MerkleTree]) -> None:
    _, tree = case
    for m in (-1, 13):
        with pytest.raises(IndexError):
            tree.inclusion_proof(m)


def test_leaf_hashes_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        MerkleTree.from_leaves([bytes(32), bytes(31)])


# --- Persisted levels. ---


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 8, 9, 100])
def test_level_blob_round_trip(n: int) -> None:
    leaves = make_leaves(n)
    tree = MerkleTree.from_leaves(leaves)
    blobs = tree.to_level_blobs()
    assert all(isinstance(b, bytes) for b in blobs)
    assert blobs[0] == b"".join(leaves)
    for verify in (False, True):
        again = MerkleTree.from_level_blobs(blobs, verify=verify)
        assert again.root == tree.root
        assert again.size == n
        assert [again.inclusion_proof(m) for m in range(n)] == [
            tree.inclusion_proof(m) for m in range(n)
        ]


def test_level_blobs_of_wrong_shape_are_refused() -> None:
    blobs = MerkleTree.from_leaves(make_leaves(9)).to_level_blobs()
    with pytest.raises(ValueError):
        MerkleTree.from_level_blobs([])
    with pytest.raises(ValueError):
        MerkleTree.from_level_blobs(blobs[:-1])
    with pytest.raises(ValueError):
        MerkleTree.from_level_blobs([*blobs, blobs[-1]])
    with pytest.raises(ValueError):
        MerkleTree.from_level_blobs([blobs[0][:-1], *blobs[1:]])
    with pytest.raises(ValueError):
        MerkleTree.from_level_blobs([blobs[0], blobs[1][:-32], *blobs[2:]])


def test_verify_on_load_catches_altered_nodes() -> None:
    blobs = MerkleTree.from_leaves(make_leaves(9)).to_level_blobs()
    blobs[1] = bytes(32) + blobs[1][32:]
    MerkleTree.from_level_blobs(blobs)  # the shape is fine
    with pytest.raises(ValueError):
        MerkleTree.from_level_blobs(blobs, verify=True)


def test_level_views() -> None:
    leaves = make_leaves(5)
    tree = MerkleTree.from_leaves(leaves)
    assert [len(level) for level in tree.levels] == [5, 3, 2, 1]
    level0 = tree.levels[0]
    assert level0[-1] == leaves[-1]
    assert level0[1:3] == leaves[1:3]
    assert level0.blob == b"".join(leaves)
    assert tree.levels[1][2] == leaves[4]  # the promoted node
    with pytest.raises(IndexError):
        level0[5]
