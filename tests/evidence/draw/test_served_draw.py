"""Issue 14's done-when check at a small size: a draw through a served hub's HTTP API on a
Hardhat chain, then the hub stopped and both verifiers reproducing it (the journey:
:mod:`tests.fixtures.served_draw`; ``bench/draw_end_to_end.py`` runs it at 1,000,000).

About 140 s on the shared 2-core machine, not the minute a test should take: 60 s of it
is §3.1's minimum lead between the commit and the beacon round, which the served hub and
the contract both enforce on their own clocks (nothing can skip it for a hub in another
process); most of the rest is process starts (the operator's ``init`` and ``chain
deploy``, the hub, four ``notary-hub draw verify`` runs). Hence ``slow``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.draw_bench import Clock, make_list
from evidence.draw.verify import CHAIN_RECORD_MEMBERS
from testkit.npm import npm_package
from tests.fixtures.hardhat import HardhatNode
from tests.fixtures.served_draw import DrawShape, served_draw

pytestmark = [
    pytest.mark.slow,
    pytest.mark.hardhat,
    pytest.mark.skipif(
        not (npm_package("@noble/curves") and npm_package("canonicalize")),
        reason="node_modules missing: run `npm ci`",
    ),
]

SHAPE = DrawShape(entrants=3000, tiers=(1, 2, 3), waiting=3)


def test_a_served_draw_is_reproduced_by_both_verifiers_with_the_hub_stopped(
    own_hardhat: HardhatNode, tmp_path: Path
) -> None:
    listing = tmp_path / "list.csv"
    make_list(listing, SHAPE.entrants, True, SHAPE.category)
    clock = Clock()
    verified = served_draw(own_hardhat, tmp_path, SHAPE, listing, clock, lead=68)

    assert verified.python == verified.js == (verified.seed, verified.winners)
    assert verified.winners == SHAPE.prizes  # the cascade filled remote's missing place
    result = [json.loads(x) for x in (tmp_path / "export" / "result.jsonl").read_text().split()]
    assert len(result) == SHAPE.prizes + SHAPE.waiting
    assert [r["tier"] for r in result] == [1, 2, 2, 3, 3, 3, 0, 0, 0]
    record = json.loads((tmp_path / "chain-record.json").read_text())
    assert sorted(record) == sorted(CHAIN_RECORD_MEMBERS) and record["seed"] == verified.seed
    assert set(verified.tampered.values()) == {
        ("commitment", "commitment"),
        ("reveal", "reveal"),
        ("selection", "selection"),
    }
    assert verified.hub_peak_rss_mib > 0 and clock.figures["wait"] < 120
