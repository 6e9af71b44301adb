"""§4.2: the integer LOG2 and weighted keys; the array forms agree with the scalar ones."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from evidence.draw.keys import (
    COARSE_SHIFT,
    LOG2_ONE,
    coarse_weighted_keys,
    log2_exact,
    log2_fixed,
    log2_fixed_array,
    log2_table,
    weighted_key,
)

EDGES = [0, 1, 2, 3, 2**16 - 1, 2**16, 2**48 - 2, 2**48 - 1, 2**48, 2**53 - 1, 2**53]
EDGES += [2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
EDGES += [(1 << k) - 1 for k in range(1, 64)] + [(1 << k) + 1 for k in range(1, 63)]


def test_log2_exact_ends_and_table() -> None:
    assert log2_exact(65536) == 16 * LOG2_ONE
    assert log2_exact(131072) == 17 * LOG2_ONE
    table = log2_table()
    assert len(table) == 65537 and table is log2_table()  # built once
    assert all(a < b for a, b in itertools.pairwise(table))
    with pytest.raises(ValueError):
        log2_exact(65535)


def test_log2_is_log2_to_within_interpolation_error() -> None:
    rng = random.Random(42)
    for y in [1, 2, 3, 10**6, 2**64, *(rng.randrange(1, 2**64) for _ in range(2000))]:
        assert abs(log2_fixed(y) / LOG2_ONE - math.log2(y)) < 1e-9
    assert log2_fixed(1) == 0 and log2_fixed(2**64) == 64 * LOG2_ONE
    with pytest.raises(ValueError):
        log2_fixed(0)


def test_array_log2_and_coarse_keys_agree_with_the_scalar_definition() -> None:
    rng = random.Random(7)
    xs = EDGES + [rng.getrandbits(64) >> rng.randrange(64) for _ in range(20000)]
    ws = [rng.choice([1, 2, 3, 1000, 2**31, 2**32 - 1, rng.randrange(1, 2**32)]) for _ in xs]
    x = np.array(xs, dtype=np.uint64)
    assert log2_fixed_array(x).tolist() == [log2_fixed(v + 1) for v in xs]
    coarse = coarse_weighted_keys(x, np.array(ws, dtype=np.uint32)).tolist()
    assert coarse == [weighted_key(v, w) >> COARSE_SHIFT for v, w in zip(xs, ws, strict=True)]


def test_weighted_keys_fall_with_weight_and_rise_with_the_score() -> None:
    assert weighted_key(0, 1) == 64 * LOG2_ONE << 32  # U = 2^-64: the largest key
    assert weighted_key(2**64 - 1, 1) == 0  # U = 1: -ln(1) = 0
    assert [weighted_key(2**40, w) for w in (1, 2, 3)] == sorted(
        (weighted_key(2**40, w) for w in (1, 2, 3)), reverse=True
    )
    assert weighted_key(2**40, 1) > weighted_key(2**50, 1)
    # The key approximates -log2(U) / w · 2^64 (natural log up to a constant factor).
    x, w = 2**62, 5
    u = (x + 1) / 2**64
    assert weighted_key(x, w) / 2**64 == pytest.approx(-math.log2(u) / w, rel=1e-9)
