"""Selection keys (``docs/draw-algorithm.md`` §4.2): the integer LOG2 and weighted keys.

The scalar functions are the specification written out, used for the few entrants whose
order is settled exactly. The array functions compute, for a whole candidate list at
once, a 64-bit *coarse key* that never orders two entrants against their exact keys
(``coarse(a) < coarse(b)`` implies ``key(a) < key(b)``): selection uses it to narrow
millions of entrants down to the few that can win, then orders those exactly.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

__all__ = [
    "LOG2_ONE",
    "coarse_weighted_keys",
    "log2_exact",
    "log2_fixed",
    "log2_fixed_array",
    "log2_table",
    "weighted_key",
]

LOG2_ONE = 1 << 32  # log2 values are fixed point with 32 fractional bits
_TABLE_SIZE = 65537
_TWO_62 = 1 << 62
_TWO_63 = 1 << 63
# key >> 7 == (A << 25) // w: A ≤ 2^38 keeps A << 25 within 64 bits.
COARSE_SHIFT = 7

U64Array = npt.NDArray[np.uint64]


def log2_exact(v: int) -> int:
    """``LOG2EXACT(v)`` for ``65536 ≤ v ≤ 131072``: 32 steps of repeated squaring."""
    if not 65536 <= v <= 131072:
        raise ValueError("LOG2EXACT is defined for 65536 <= v <= 131072")
    if v == 131072:
        return 17 * LOG2_ONE
    m, acc = v << 46, 0
    for k in range(1, 33):
        m = m * m >> 62
        if m >= _TWO_63:
            m >>= 1
            acc += 1 << (32 - k)
    return 16 * LOG2_ONE + acc


@cache
def log2_table() -> tuple[int, ...]:
    """``T[j] = LOG2EXACT(65536 + j)`` for ``0 ≤ j ≤ 65536``, built once per process."""
    return tuple(log2_exact(65536 + j) for j in range(_TABLE_SIZE))


@cache
def _table_array() -> npt.NDArray[np.int64]:
    return np.array(log2_table(), dtype=np.int64)


def log2_fixed(y: int) -> int:
    """``LOG2(y)`` for ``1 ≤ y ≤ 2^64``: ``log2(y) · 2^32`` by table and interpolation."""
    if not 1 <= y <= 1 << 64:
        raise ValueError("LOG2 is defined for 1 <= y <= 2^64")
    table = log2_table()
    e = y.bit_length() - 1
    z = y << (48 - e) if e <= 48 else y >> (e - 48)
    j, f = (z >> 32) - 65536, z & 0xFFFFFFFF
    return (e - 16) * LOG2_ONE + table[j] + ((table[j + 1] - table[j]) * f >> 32)


def weighted_key(x: int, weight: int) -> int:
    """``key = ((64 · 2^32 - LOG2(x + 1)) · 2^32) // w`` for the score's first 8 bytes ``x``."""
    return ((64 * LOG2_ONE - log2_fixed(x + 1)) << 32) // weight


def _bit_length_minus_one(y: U64Array) -> npt.NDArray[np.int64]:
    # float64 rounding can carry y just below 2^(e+1) up to it: step back where it did.
    _, exponent = np.frexp(y.astype(np.float64))
    e = exponent.astype(np.int64) - 1
    too_high = (y >> e.astype(np.uint64)) == 0
    e[too_high] -= 1
    return e


def log2_fixed_array(x: U64Array) -> npt.NDArray[np.int64]:
    """``LOG2(x + 1)`` for each 64-bit ``x`` (so ``y = x + 1`` may be ``2^64``)."""
    table = _table_array()
    top = x == np.uint64(2**64 - 1)  # y = 2^64 wraps to 0: LOG2(2^64) = 64 · 2^32
    y = x + np.uint64(1)
    y[top] = 1
    e = _bit_length_minus_one(y)
    left = np.clip(48 - e, 0, 63).astype(np.uint64)
    right = np.clip(e - 48, 0, 63).astype(np.uint64)
    z = np.where(e <= 48, y << left, y >> right)
    j = (z >> np.uint64(32)).astype(np.int64) - 65536
    f = (z & np.uint64(0xFFFFFFFF)).astype(np.int64)
    t0, t1 = table[j], table[j + 1]
    # (T[j+1] - T[j]) < 2^17 and f < 2^32: the product fits in 63 bits.
    result = (e - 16) * LOG2_ONE + t0 + (((t1 - t0) * f) >> 32)
    result[top] = 64 * LOG2_ONE
    return result


def coarse_weighted_keys(x: U64Array, weights: npt.NDArray[np.uint32]) -> U64Array:
    """``key >> 7`` for each entrant: ``(A · 2^25) // w`` with ``A = 64 · 2^32 - LOG2(x + 1)``.

    ``floor(floor(a / w) / 128) = floor(a / (128 w))``, so this is the exact key with its
    low 7 bits dropped, which fits in 64 bits and keeps the order up to ties.
    """
    a = (64 * LOG2_ONE - log2_fixed_array(x)).astype(np.uint64)
    return (a << np.uint64(32 - COARSE_SHIFT)) // weights.astype(np.uint64)
