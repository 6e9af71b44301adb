"""Selection (``docs/draw-algorithm.md`` §4.1-§4.4): scores, rankings, places, waiting list.

Every entrant is scored (``score(i) = H(catSeed[c_i] ‖ leaf_i)``), but only those who can
be placed are ordered exactly. A category ``c`` places at most ``quota_c`` in step 1,
``S`` (the shortfall, known from the category sizes alone) in the cascade and
``waitingList`` on the waiting list, so only the first ``need_c = quota_c + S + W`` of
its ranking matter. A 64-bit coarse key (the score's first 8 bytes, or the weighted key
without its low 7 bits, :mod:`evidence.draw.keys`) never contradicts the exact order,
so everyone whose coarse key is at most the ``need_c``-th smallest is a superset of that
prefix: those few are ranked exactly by ``(key, leaf, index)``.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evidence.draw.candidates import ENTRY_SIZE, Buffer, entry_count
from evidence.draw.config import DrawConfig
from evidence.draw.errors import EmptyCategory, TooFewEntrants
from evidence.draw.keys import coarse_weighted_keys, weighted_key
from evidence.draw.parallel import fork_map, split
from evidence.draw.result import ResultEntry
from evidence.draw.seed import category_seeds

__all__ = [
    "ENTRY_DTYPE",
    "EntryStats",
    "Ranked",
    "check_committable",
    "draw",
    "duplicate_leaf",
    "entry_stats",
]

ENTRY_DTYPE = np.dtype([("leaf", "V32"), ("weight", ">u4"), ("category", ">u2")])
_BATCH = 1 << 20  # entries scored per batch: keeps temporaries to a few tens of MB

# (key, leaf, index, category): sorted by the first three, §4.3.
Ranked = tuple[int, bytes, int, int]


@dataclass(frozen=True)
class EntryStats:
    """What the list looks like to §4.4: each category's size."""

    count: int
    category_sizes: tuple[int, ...]


def _columns(entries: Buffer) -> npt.NDArray[np.void]:
    return np.frombuffer(entries, dtype=ENTRY_DTYPE, count=entry_count(entries))


def entry_stats(config: DrawConfig, entries: Buffer) -> EntryStats:
    """Category sizes; raises ``ValueError`` on a weight or category the config forbids."""
    rows = _columns(entries)
    categories = config.category_count
    for start in range(0, len(rows), _BATCH):
        part = rows[start : start + _BATCH]
        weights, cats = part["weight"], part["category"]
        bad = np.flatnonzero(
            (weights == 0) | (cats >= categories) | (np.False_ if config.weighted else weights != 1)
        )
        if len(bad):
            i = start + int(bad[0])
            raise ValueError(f"entry {i} has a weight or category this draw does not allow")
    sizes = np.zeros(categories, dtype=np.int64)
    for start in range(0, len(rows), _BATCH):
        part = rows["category"][start : start + _BATCH].astype(np.intp)
        sizes += np.bincount(part, minlength=categories)
    return EntryStats(len(rows), tuple(int(s) for s in sizes))


def check_committable(config: DrawConfig, stats: EntryStats) -> None:
    """§2's rules at commit: no fewer entries than prizes, no category without entrants."""
    if stats.count < config.prizes:
        raise TooFewEntrants(f"{stats.count} entrants for {config.prizes} prizes")
    for category, size in zip(config.categories, stats.category_sizes, strict=False):
        if size == 0:
            raise EmptyCategory(f"category {category.name!r} has no entrant")


def duplicate_leaf(entries: Buffer) -> tuple[int, int] | None:
    """Two entry indices with the same leaf (§2 refuses them), or ``None``.

    Sorts the leaves' first 8 bytes (a strided view, no copy of the list) and compares
    in full only the few neighbours that share them.
    """
    count = entry_count(entries)
    if count < 2:
        return None
    heads = np.ndarray((count,), dtype="<u8", buffer=entries, strides=(ENTRY_SIZE,))
    order = np.argsort(heads, kind="stable")
    ordered = heads[order]
    shared = np.flatnonzero(ordered[1:] == ordered[:-1])
    data, seen = memoryview(entries), dict[bytes, int]()
    for i in sorted({int(order[k]) for j in shared.tolist() for k in (j, j + 1)}):
        leaf = bytes(data[i * ENTRY_SIZE : i * ENTRY_SIZE + 32])
        if leaf in seen:
            return seen[leaf], i
        seen[leaf] = i
    return None


def _coarse_range(
    config: DrawConfig, entries: Buffer, seeds: Sequence[bytes], first: int, last: int
) -> npt.NDArray[np.uint64]:
    rows = _columns(entries)
    coarse = np.empty(last - first, dtype=np.uint64)
    sha, data = hashlib.sha256, memoryview(entries)
    for start in range(first, last, _BATCH):
        stop = min(start + _BATCH, last)
        blob = bytes(data[start * ENTRY_SIZE : stop * ENTRY_SIZE])
        offsets = range(0, len(blob), ENTRY_SIZE)
        if len(seeds) == 1:
            s = seeds[0]
            scores = [sha(s + blob[o : o + 32]).digest() for o in offsets]
        else:
            cats = rows["category"][start:stop].tolist()
            scores = [
                sha(seeds[c] + blob[o : o + 32]).digest()
                for c, o in zip(cats, offsets, strict=True)
            ]
        # The first 8 bytes of each 32-byte score, big-endian.
        x = np.frombuffer(b"".join(scores), dtype=">u8")[::4].astype(np.uint64)
        if config.weighted:
            x = coarse_weighted_keys(x, rows["weight"][start:stop].astype(np.uint32))
        coarse[start - first : stop - first] = x
    return coarse


def _coarse_keys(
    config: DrawConfig, entries: Buffer, seeds: Sequence[bytes], processes: int
) -> npt.NDArray[np.uint64]:
    ranges = split(entry_count(entries), max(1, processes), _BATCH)
    parts = fork_map(_coarse_range, [config, entries, seeds], ranges)
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)


def _exact(config: DrawConfig, entries: Buffer, seeds: Sequence[bytes], index: int) -> Ranked:
    data = memoryview(entries)[index * ENTRY_SIZE : (index + 1) * ENTRY_SIZE]
    leaf = bytes(data[:32])
    weight, category = int.from_bytes(data[32:36], "big"), int.from_bytes(data[36:], "big")
    score = hashlib.sha256(seeds[category] + leaf).digest()
    if config.weighted:
        key = weighted_key(int.from_bytes(score[:8], "big"), weight)
    else:
        key = int.from_bytes(score, "big")
    return key, leaf, index, category


def _rankings(
    config: DrawConfig, entries: Buffer, seed: bytes, needs: Sequence[int], processes: int
) -> list[list[Ranked]]:
    seeds = category_seeds(seed, config.category_count)
    coarse = _coarse_keys(config, entries, seeds, processes)
    if len(needs) == 1:
        groups = [np.arange(len(coarse))]
    else:
        cats = _columns(entries)["category"].astype(np.int64)
        order = np.argsort(cats, kind="stable")
        bounds = np.cumsum(np.bincount(cats, minlength=len(needs)))
        groups = np.split(order, bounds[:-1])
    rankings = []
    for need, members in zip(needs, groups, strict=True):
        if need == 0:
            members = members[:0]
        elif need < len(members):
            keys = coarse[members]
            members = members[keys <= np.partition(keys, need - 1)[need - 1]]
        exact = sorted(_exact(config, entries, seeds, int(i)) for i in members)
        rankings.append(exact[:need])
    return rankings


def _cascade(
    config: DrawConfig, rankings: list[list[Ranked]], taken: list[int], shortfall: int
) -> list[Ranked]:
    picked: list[Ranked] = []
    if config.cascade.rule == "pooled" and shortfall:
        merged = heapq.merge(*(r[t:] for r, t in zip(rankings, taken, strict=True)))
        for item in merged:
            if len(picked) == shortfall:
                break
            picked.append(item)
            taken[item[3]] += 1
    elif config.cascade.rule == "ordered":
        for c in config.cascade.order:
            more = rankings[c][taken[c] : taken[c] + shortfall - len(picked)]
            picked.extend(more)
            taken[c] += len(more)
    return picked


def draw(
    config: DrawConfig, entries: Buffer, seed: bytes, *, processes: int = 1
) -> list[ResultEntry]:
    """The result of §4.4 (winners by tier, then the waiting list), ranked from 1 (§5).

    ``processes`` > 1 scores the list in that many forked processes
    (:mod:`evidence.draw.parallel`).
    """
    stats = entry_stats(config, entries)
    quotas, prizes, waiting = config.quotas, config.prizes, config.waiting_list
    first = [min(q, n) for q, n in zip(quotas, stats.category_sizes, strict=True)]
    shortfall = prizes - sum(first)
    needs = [
        min(n, q + shortfall + waiting) for q, n in zip(quotas, stats.category_sizes, strict=True)
    ]
    rankings = _rankings(config, entries, seed, needs, processes)
    taken = list(first)
    winners = [item for r, t in zip(rankings, first, strict=True) for item in r[:t]]
    winners += _cascade(config, rankings, taken, shortfall)
    winners.sort()
    remaining = heapq.merge(*(r[t:] for r, t in zip(rankings, taken, strict=True)))
    waiting_list = [item for item, _ in zip(remaining, range(waiting), strict=False)]
    ends = list(itertools.accumulate(t.count for t in config.tiers))  # last rank of each tier
    result = [
        ResultEntry(rank, item[2], item[1], bisect.bisect_left(ends, rank) + 1)
        for rank, item in enumerate(winners, start=1)
    ]
    result += [
        ResultEntry(len(winners) + k, item[2], item[1], 0)
        for k, item in enumerate(waiting_list, start=1)
    ]
    return result
