"""``docs/draw-vectors.json`` is what the code produces, and agrees with the literal reference."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

from evidence.draw.config import parse_config_json
from evidence.draw.result import ResultEntry
from tests.evidence.draw.draw_support import reference_draw

ROOT = Path(__file__).resolve().parents[3]
VECTORS = ROOT / "docs" / "draw-vectors.json"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("draw_vectors", ROOT / "scripts/draw_vectors.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_vectors_are_current() -> None:
    assert VECTORS.read_text(encoding="utf-8") == _script().render()


def test_log2_vectors_approximate_log2() -> None:
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    for item in vectors["log2"]:
        y, value = int(item["y"]), int(item["LOG2"])
        assert abs(value / 2**32 - math.log2(y)) < 1e-9


def test_each_vector_draw_matches_the_literal_reference() -> None:
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    names = [d["name"] for d in vectors["draws"]]
    assert names == [
        "unweighted",
        "weighted",
        "cascade-none",
        "cascade-pooled",
        "cascade-ordered",
        "weighted-categories",
    ]
    for item in vectors["draws"]:
        config = parse_config_json(item["config"], canonical=True)
        expected = [
            ResultEntry(r["rank"], r["index"], bytes.fromhex(r["leaf"]), r["tier"])
            for r in item["result"]
        ]
        entries = bytes.fromhex(item["entries"])
        assert reference_draw(config, entries, bytes.fromhex(item["seed"])) == expected


def test_the_cascade_vectors_differ_by_their_rule() -> None:
    draws = {d["name"]: d for d in json.loads(VECTORS.read_text(encoding="utf-8"))["draws"]}
    winners = {
        name: sum(1 for r in draws[name]["result"] if r["tier"] > 0)
        for name in ("cascade-none", "cascade-pooled", "cascade-ordered")
    }
    # "short" has 2 entrants for 3 places: none leaves one unawarded, the others fill it.
    assert winners == {"cascade-none": 5, "cascade-pooled": 6, "cascade-ordered": 6}


def test_each_vector_receipt_checks_and_wins() -> None:
    from evidence.draw.receipt import EntryReceipt, check_receipt, receipt_outcome
    from evidence.draw.result import by_index

    for item in json.loads(VECTORS.read_text(encoding="utf-8"))["draws"]:
        receipt = EntryReceipt.from_json(item["receipt"])
        check_receipt(
            receipt,
            draw_id=receipt.draw_id,
            candidate_root=bytes.fromhex(item["candidateRoot"]),
            count=item["count"],
        )
        results = by_index(
            [
                ResultEntry(r["rank"], r["index"], bytes.fromhex(r["leaf"]), r["tier"])
                for r in item["result"]
            ]
        )
        outcome = receipt_outcome(receipt, results)
        assert (outcome.rank, outcome.tier) == (1, item["receiptOutcome"]["tier"])


def test_the_vectors_cover_the_negative_log2_term_and_every_path_agrees() -> None:
    """§4.2: ``(e - 16) · 2^32`` is negative for ``y < 2^16``; the sum is not, and the
    array path (what selection runs) gives the vectors' values there too."""
    import numpy as np

    from evidence.draw.keys import log2_fixed_array

    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    ys = [int(item["y"]) for item in vectors["log2"]]
    assert {1, 2, 3, 1000, 65535} <= {y for y in ys if y < 2**16}
    assert {0, 1} <= {int(k["x"]) for k in vectors["weightedKeys"]}
    values = log2_fixed_array(np.array([y - 1 for y in ys], dtype=np.uint64)).tolist()
    assert values == [int(item["LOG2"]) for item in vectors["log2"]]
    assert all(v >= 0 for v in values) and values[0] == 0
