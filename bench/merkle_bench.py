"""Throughput of ``chain_adapter.merkle`` (RFC 9162 trees): a script, not a test.

Run from the repository root: ``.venv/bin/python bench/merkle_bench.py [--leaves N]``.
Prints the best of ``--repeat`` runs for hashing leaves and building the tree,
then proof generation and verification rates over random indices.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T = TypeVar("T")


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return best, result


def main() -> None:
    from chain_adapter.merkle import MerkleTree, hash_leaves, verify_inclusion

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--proofs", type=int, default=100_000)
    args = parser.parse_args()
    n: int = args.leaves

    entries = [os.urandom(32) for _ in range(n)]
    t_leaves, leaves = best_of(args.repeat, lambda: hash_leaves(entries))
    t_tree, tree = best_of(args.repeat, lambda: MerkleTree.from_leaves(leaves))

    rng = random.Random(9162)
    indices = [rng.randrange(n) for _ in range(args.proofs)]
    start = time.perf_counter()
    proofs = [tree.inclusion_proof(i) for i in indices]
    t_proofs = time.perf_counter() - start

    root = tree.root
    pairs = list(zip(indices, proofs, strict=True))
    start = time.perf_counter()
    checked = [verify_inclusion(leaves[i], i, n, p, root) for i, p in pairs]
    t_verify = time.perf_counter() - start
    assert all(checked)

    stored = sum(len(b) for b in tree.to_level_blobs())
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {n:,} leaves")
    print(f"hash {n:,} leaves (32-byte entries):   {t_leaves:.3f} s")
    print(f"build tree + root over {n:,} hashes:   {t_tree:.3f} s")
    print(f"  both together:                           {t_leaves + t_tree:.3f} s")
    print(f"  stored levels: {len(tree.levels)} levels, {stored / 2**20:.1f} MiB")
    print(f"inclusion proofs: {len(indices) / t_proofs:,.0f} /s (path length {len(proofs[0])})")
    print(f"verifications:    {len(indices) / t_verify:,.0f} /s")


if __name__ == "__main__":
    main()
