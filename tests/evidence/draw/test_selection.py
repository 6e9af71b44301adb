"""§4: the fast selection equals the literal reference; fairness; quotas; prefix stability.

The fairness tests run thousands of draws on small lists with fixed seeds (SHA-256 of a
counter), so they are deterministic: a failure is a bug, never bad luck. Each compares
observed counts with their expectation by Pearson's chi-square at significance 0.001.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from typing import Any

import pytest

from evidence.draw.candidates import encode_entry
from evidence.draw.errors import EmptyCategory, TooFewEntrants
from evidence.draw.selection import check_committable, draw, duplicate_leaf, entry_stats
from tests.evidence.draw.draw_support import make_config, random_entries, reference_draw

# chi-square critical values at significance 0.001 by degrees of freedom
CHI2_CRITICAL_0_001 = {4: 18.467, 11: 31.264}


def _seed(i: int) -> bytes:
    return hashlib.sha256(b"fairness %d" % i).digest()


def _chi_square(observed: Counter[int], expected: dict[int, float]) -> float:
    return sum((observed[k] - e) ** 2 / e for k, e in expected.items())


def _random_config(rng: random.Random) -> tuple[Any, int]:
    counts = [rng.randint(1, 4) for _ in range(rng.randint(1, 3))]
    tiers = [{"name": f"t{k}", "count": n} for k, n in enumerate(counts)]
    prizes, count = sum(counts), rng.randint(0, 5)
    changes: dict[str, Any] = {"tiers": tiers, "waitingList": rng.randint(0, 6)}
    if count:
        quotas = [0] * count
        for _ in range(prizes):
            quotas[rng.randrange(count)] += 1
        changes["categories"] = [{"name": f"c{k}", "quota": q} for k, q in enumerate(quotas)]
        rule = rng.choice(["none", "pooled", "ordered"])
        order = [c["name"] for c in rng.sample(changes["categories"], rng.randint(0, count))]
        changes["cascade"] = {"rule": rule, "order": order} if rule == "ordered" else {"rule": rule}
    changes["weighted"] = rng.random() < 0.5
    return make_config(**changes), max(1, count)


def test_the_fast_selection_equals_the_literal_reference() -> None:
    rng = random.Random(2026)
    for _ in range(250):
        config, categories = _random_config(rng)
        heavy = rng.choice([3, 2**32 - 1]) if config.weighted else 1
        entries = random_entries(
            rng, rng.randint(config.prizes, 80), categories=categories, max_weight=heavy
        )
        if rng.random() < 0.2:  # repeated entries: equal keys, ties broken by leaf then index
            entries += entries[: 38 * 4]
        seed = rng.randbytes(32)
        assert draw(config, entries, seed) == reference_draw(config, entries, seed)


@pytest.mark.parametrize("weighted", [False, True])
def test_a_large_list_is_narrowed_without_changing_the_result(weighted: bool) -> None:
    config = make_config(weighted=weighted, waitingList=7)
    entries = random_entries(random.Random(5), 20000, max_weight=1000 if weighted else 1)
    assert draw(config, entries, _seed(0)) == reference_draw(config, entries, _seed(0))


def test_prefix_stability() -> None:
    for weighted in (False, True):
        entries = random_entries(random.Random(9), 500, max_weight=50 if weighted else 1)
        short = draw(make_config(weighted=weighted, waitingList=2), entries, _seed(1))
        long = draw(make_config(weighted=weighted, waitingList=40), entries, _seed(1))
        assert [e.index for e in long[: len(short)]] == [e.index for e in short]
        assert long[: len(short)] == short


def test_selection_is_uniform_without_weights() -> None:
    config = make_config(tiers=[{"name": "only", "count": 1}], waitingList=0)
    entries = random_entries(random.Random(11), 12)
    draws = 4000
    wins = Counter(draw(config, entries, _seed(i))[0].index for i in range(draws))
    statistic = _chi_square(wins, {i: draws / 12 for i in range(12)})
    assert statistic < CHI2_CRITICAL_0_001[11], statistic


def test_the_first_pick_is_proportional_to_weight() -> None:
    weights = [1, 2, 3, 4, 6]
    config = make_config(tiers=[{"name": "only", "count": 1}], waitingList=0, weighted=True)
    rng = random.Random(12)
    entries = b"".join(encode_entry(rng.randbytes(32), w, 0) for w in weights)
    draws = 4000
    wins = Counter(draw(config, entries, _seed(i))[0].index for i in range(draws))
    expected = {i: draws * w / sum(weights) for i, w in enumerate(weights)}
    statistic = _chi_square(wins, expected)
    assert statistic < CHI2_CRITICAL_0_001[4], (statistic, wins)


@pytest.mark.parametrize("rule", ["none", "pooled", "ordered"])
def test_quotas_are_met_and_the_cascade_fills_only_as_declared(rule: str) -> None:
    quotas = [4, 3, 2]
    categories = [
        {"name": n, "quota": q} for n, q in zip(["small", "mid", "big"], quotas, strict=True)
    ]
    cascade = {"rule": rule, "order": ["big"]} if rule == "ordered" else {"rule": rule}
    config = make_config(
        tiers=[{"name": "a", "count": 4}, {"name": "b", "count": 5}],
        categories=categories,
        cascade=cascade,
        waitingList=3,
    )
    rng = random.Random(13)
    for i in range(300):
        sizes = [rng.randint(1, 6), rng.randint(1, 6), rng.randint(3, 9)]
        cats = [c for c, n in enumerate(sizes) for _ in range(n)]
        entries = b"".join(encode_entry(rng.randbytes(32), 1, c) for c in cats)
        result = draw(config, entries, _seed(i))
        won = Counter(cats[e.index] for e in result if e.tier)
        first = [min(q, n) for q, n in zip(quotas, sizes, strict=True)]
        shortfall = 9 - sum(first)
        extra = {"none": 0, "pooled": shortfall, "ordered": min(shortfall, sizes[2] - first[2])}
        assert sum(won.values()) == sum(first) + min(extra[rule], sum(sizes) - sum(first))
        assert all(won[c] >= first[c] for c in range(3))
        if rule != "pooled":
            assert won[0] == first[0] and won[1] == first[1]
        assert [e.rank for e in result] == list(range(1, len(result) + 1))
        tiers = [e.tier for e in result if e.tier]
        assert tiers == sorted(tiers) and tiers.count(1) == min(4, len(tiers))
        waiting = [e for e in result if not e.tier]
        assert len(waiting) == min(3, sum(sizes) - len(tiers))


def test_commit_rules_too_few_entrants_and_empty_categories() -> None:
    config = make_config()  # three prizes
    check_committable(config, entry_stats(config, random_entries(random.Random(1), 3)))
    with pytest.raises(TooFewEntrants, match="2 entrants for 3 prizes"):
        check_committable(config, entry_stats(config, random_entries(random.Random(1), 2)))
    categories = [{"name": "a", "quota": 2}, {"name": "b", "quota": 1}]
    with_categories = make_config(categories=categories, cascade={"rule": "pooled"})
    entries = random_entries(random.Random(1), 5)  # all in category 0
    both = entries + random_entries(random.Random(2), 1, categories=2)[:36] + b"\x00\x01"
    check_committable(with_categories, entry_stats(with_categories, both))
    with pytest.raises(EmptyCategory, match="'b'"):
        check_committable(with_categories, entry_stats(with_categories, entries))


def test_entries_the_configuration_forbids_are_refused() -> None:
    leaf = bytes(32)
    with pytest.raises(ValueError, match="entry 1"):
        entry_stats(make_config(), encode_entry(leaf, 1, 0) + encode_entry(leaf, 2, 0))
    with pytest.raises(ValueError, match="entry 0"):
        entry_stats(make_config(), encode_entry(leaf, 1, 1))


def test_two_processes_give_the_same_draw() -> None:
    categories = [{"name": "a", "quota": 2}, {"name": "b", "quota": 1}]
    config = make_config(weighted=True, categories=categories, cascade={"rule": "pooled"})
    entries = random_entries(random.Random(3), 3000, categories=2, max_weight=9)
    assert draw(config, entries, _seed(2), processes=2) == draw(config, entries, _seed(2))


def test_duplicate_leaves_are_found_even_among_equal_prefixes() -> None:
    rng = random.Random(4)
    head = rng.randbytes(8)
    first, second = head + rng.randbytes(24), head + rng.randbytes(24)
    entries = [encode_entry(leaf, 1, 0) for leaf in (first, second, rng.randbytes(32))]
    assert duplicate_leaf(b"".join(entries)) is None
    assert duplicate_leaf(b"".join([*entries, encode_entry(first, 1, 0)])) == (0, 3)
    assert duplicate_leaf(entries[0]) is None
