"""Work split across forked processes gives what one process gives."""

from __future__ import annotations

from evidence.draw.parallel import fork_map, split


def _sum_squares(offset: int, first: int, last: int) -> int:
    return sum((offset + i) ** 2 for i in range(first, last))


def test_split_covers_the_range_in_aligned_parts() -> None:
    assert split(10, 2) == [(0, 5), (5, 10)]
    assert split(10, 3, 4) == [(0, 4), (4, 8), (8, 10)]
    assert split(3, 4) == [(0, 1), (1, 2), (2, 3)]
    assert split(0, 2) == []


def test_fork_map_matches_a_loop() -> None:
    ranges = split(1000, 2)
    assert fork_map(_sum_squares, [3], ranges) == [_sum_squares(3, a, b) for a, b in ranges]
    assert fork_map(_sum_squares, [3], [(0, 10)]) == [_sum_squares(3, 0, 10)]
