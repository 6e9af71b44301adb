"""Entry receipts: handed to the organiser, checked for anyone (issue 14 items 3 and 9).

The organiser's receipts come from its mapping (the encrypted blob of identifiers and
salts) and the committed ``entries.bin`` with its chunk roots: one JSON line per entrant,
in entry order, each with its inclusion proof (:func:`evidence.draw.receipt.build_receipts`).
They exist once the list is committed (before, it may still be replaced).

A check takes a receipt and answers against what the draw published, never against
what the receipt claims: the committed root and count, then the result. A forged or
damaged receipt is refused (:class:`~evidence.draw.errors.InvalidReceipt`, 422).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

from evidence.draw.candidates import CandidateTree, open_entries
from evidence.draw.entrants import read_mapping
from evidence.draw.errors import DrawStateConflict
from evidence.draw.lists import CHUNK_ROOTS_FILE, ChunkStream
from evidence.draw.models import DrawRecord, DrawState
from evidence.draw.publication import read_result_index
from evidence.draw.receipt import EntryReceipt, build_receipts, check_receipt, receipt_outcome
from evidence.draw.service import DrawService
from evidence.principal import Principal

HASH_SIZE = 32


class EntryReceipts:
    def __init__(self, service: DrawService) -> None:
        self._service = service

    def _tree(self, draw_id: str) -> CandidateTree:
        directory = self._service.draw_dir(draw_id)
        roots_blob = (directory / CHUNK_ROOTS_FILE).read_bytes()
        roots = [roots_blob[i : i + HASH_SIZE] for i in range(0, len(roots_blob), HASH_SIZE)]
        return CandidateTree(open_entries(self._service.entries_path(draw_id)), roots)

    def for_organiser(self, principal: Principal, draw_id: str) -> Iterator[bytes]:
        """Every entrant's receipt, one JSON line each, in entry order."""
        record = self._service.owned(principal, draw_id)
        self._service.require(record, DrawState.COMMITTED, DrawState.DRAWN)
        mapping_sha256 = self._service.column(draw_id, "mapping_sha256")
        tree = self._tree(draw_id)  # opened now: a missing file is an error, not a cut body
        blob = self._service.blobs.open(bytes(mapping_sha256))
        return _lines(
            build_receipts(
                draw_id, read_mapping(io.BufferedReader(ChunkStream(blob), 1 << 20)), tree
            )
        )

    def check(self, draw_id: str, body: object) -> dict[str, Any]:
        """A receipt checked against the published list and, once drawn, the result."""
        record = self._service.record(draw_id)
        if record.state not in (DrawState.COMMITTED, DrawState.DRAWN):
            raise DrawStateConflict(f"draw {draw_id} is {record.state.value}: not committed yet")
        assert record.candidate_root is not None and record.entry_count is not None
        receipt = EntryReceipt.from_json(body if isinstance(body, dict) else {})
        check_receipt(
            receipt, draw_id=draw_id, candidate_root=record.candidate_root, count=record.entry_count
        )
        answer: dict[str, Any] = {"draw": draw_id, "index": receipt.index, "entered": True}
        if record.state is DrawState.DRAWN:
            outcome = receipt_outcome(receipt, self._result_entry(record, receipt.index))
            answer.update(drawn=outcome.drawn, rank=outcome.rank, tier=outcome.tier)
        return answer

    def _result_entry(self, record: DrawRecord, index: int) -> Any:
        return read_result_index(self._service.draw_dir(record.id), index)


def _lines(receipts: Iterator[EntryReceipt]) -> Iterator[bytes]:
    batch: list[bytes] = []
    for receipt in receipts:
        batch.append(json.dumps(receipt.to_json(), ensure_ascii=False).encode() + b"\n")
        if len(batch) == 1024:
            yield b"".join(batch)
            batch.clear()
    if batch:
        yield b"".join(batch)
