"""Splitting a hash-bound loop over a candidate list across forked processes.

Used by the candidate root (``docs/draw-algorithm.md`` §2) and the scores of the
selection (§4.1) when asked for more than one process. The workers are forked so they
share the list's memory (a mapped ``entries.bin`` or a blob) without copying it: call
this from a single-threaded process (a CLI, a benchmark), not from a threaded server.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

__all__ = ["fork_map", "split"]

T = TypeVar("T")
# What the forked workers read: set just before the fork, cleared after.
_SHARED: list[Any] = []


def split(count: int, parts: int, align: int = 1) -> list[tuple[int, int]]:
    """``parts`` consecutive ranges covering ``range(count)``, bounds multiples of ``align``."""
    units = -(-count // align)
    bounds = [min(count, units * k // parts * align) for k in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if a < b]


def _call(index: int, first: int, last: int) -> Any:
    function, args = _SHARED[0], _SHARED[1]
    return function(*args, first, last)


def fork_map(
    function: Callable[..., T], args: Sequence[Any], ranges: Sequence[tuple[int, int]]
) -> list[T]:
    """``[function(*args, first, last) for first, last in ranges]``, one forked process each.

    ``args`` reach the workers by inheritance, not pickling; the results are pickled back.
    """
    if len(ranges) <= 1:
        return [function(*args, first, last) for first, last in ranges]
    _SHARED[:] = [function, tuple(args)]
    try:
        with ProcessPoolExecutor(len(ranges), mp_context=get_context("fork")) as pool:
            firsts, lasts = [r[0] for r in ranges], [r[1] for r in ranges]
            return list(pool.map(_call, range(len(ranges)), firsts, lasts))
    finally:
        _SHARED.clear()
