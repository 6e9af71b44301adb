"""§2 entry receipts: built from the mapping, checked against the published list; forgeries."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from evidence.draw.candidates import CandidateTree
from evidence.draw.entrants import read_mapping
from evidence.draw.errors import InvalidReceipt
from evidence.draw.receipt import EntryReceipt, build_receipts, check_receipt, receipt_outcome
from evidence.draw.result import by_index
from tests.evidence.draw.draw_support import BuiltDraw, build_draw, csv_list


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltDraw:
    return build_draw(tmp_path_factory.mktemp("draw"), csv_list(40, weights=True), weighted=True)


def _receipts(built: BuiltDraw) -> list[EntryReceipt]:
    mapping = read_mapping(io.BytesIO(built.mapping))
    return list(build_receipts(built.config.draw_id, mapping, CandidateTree(built.entries)))


def _check(built: BuiltDraw, receipt: EntryReceipt) -> None:
    check_receipt(
        receipt,
        draw_id=built.config.draw_id,
        candidate_root=built.chain.candidate_root,
        count=built.chain.count,
    )


def test_every_receipt_checks_and_finds_its_outcome(built: BuiltDraw) -> None:
    receipts = _receipts(built)
    assert len(receipts) == 40
    results = by_index(built.result)
    outcomes = []
    for receipt in receipts:
        parsed = EntryReceipt.from_json(receipt.to_json())
        assert parsed == receipt
        _check(built, parsed)
        outcomes.append(receipt_outcome(parsed, results))
    drawn = sorted((o.rank, o.tier) for o in outcomes if o.drawn)
    assert drawn == [(e.rank, e.tier) for e in built.result]
    assert sum(1 for o in outcomes if not o.drawn) == 40 - len(built.result)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"salt": bytes(16)}, "wrong identifier or salt"),
        ({"entrant_id": "person-999"}, "wrong identifier or salt"),
        ({"index": 5}, "inclusion proof"),
        ({"weight": 5}, "inclusion proof"),
        ({"proof": (bytes(32),) * 6}, "inclusion proof"),
        ({"candidate_root": bytes(32)}, "another candidate list"),
        ({"count": 41}, "another candidate list"),
        ({"draw_id": "another-draw"}, "is for draw"),
    ],
)
def test_a_forged_receipt_is_refused_with_a_reason(
    built: BuiltDraw, change: dict[str, object], reason: str
) -> None:
    receipt = _receipts(built)[3]
    with pytest.raises(InvalidReceipt, match=reason):
        _check(built, replace(receipt, **change))  # type: ignore[arg-type]


def test_a_self_consistent_receipt_for_another_list_is_refused(
    built: BuiltDraw, tmp_path: Path
) -> None:
    other = build_draw(tmp_path, csv_list(40, weights=True), salt_seed=8, weighted=True)
    with pytest.raises(InvalidReceipt, match="another candidate list"):
        _check(built, _receipts(other)[0])


def test_malformed_receipts_and_a_result_that_disagrees(built: BuiltDraw) -> None:
    document = _receipts(built)[0].to_json()
    for broken in ({**document, "salt": "zz"}, {**document, "index": -1}, {"drawId": "x"}):
        with pytest.raises(InvalidReceipt, match="receipt"):
            EntryReceipt.from_json(broken)
    winner = built.result[0]
    receipt = next(r for r in _receipts(built) if r.index == winner.index)
    with pytest.raises(InvalidReceipt, match="another leaf"):
        receipt_outcome(replace(receipt, leaf=bytes(32)), by_index(built.result))
