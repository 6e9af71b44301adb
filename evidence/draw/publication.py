"""What a draw publishes: the export's files (``docs/draw-algorithm.md`` §6) and the winners.

Each file exists from the state that fixes it (:data:`evidence.draw.views.PUBLISHED`):
``config.json`` from creation (the JCS bytes), ``entries.bin`` once committed (before,
the list may still change), the beacon, the reveal, the result and ``chain.json`` once
drawn. None of it names an entrant: the organiser's mapping is never exported.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from evidence.draw.config import canonical_json
from evidence.draw.drawing import RESULT_FILE
from evidence.draw.errors import DrawStateConflict
from evidence.draw.models import DrawRecord
from evidence.draw.result import ResultEntry, iter_result
from evidence.draw.service import DrawService
from evidence.draw.service_errors import InvalidDrawRequest
from evidence.draw.views import EXPORT_FILES, PUBLISHED

FILE_CHUNK = 1 << 20
MAX_PAGE = 1000
MEDIA_TYPES = {
    "config.json": "application/json",
    "entries.bin": "application/octet-stream",
    "beacon.json": "application/json",
    "reveal.json": "application/json",
    "result.jsonl": "application/jsonl",
    "chain.json": "application/json",
}


@dataclass(frozen=True)
class ExportFile:
    name: str
    media_type: str
    chunks: Iterator[bytes]
    size: int | None = None


def chain_json(record: DrawRecord, token: bytes | None) -> dict[str, Any]:
    """``chain.json``: where the record is, its transactions, the commitment's RFC 3161 token."""
    commitment = dict(record.commitment or {})
    return {
        "chainId": commitment.get("chainId"),
        "contract": commitment.get("contract"),
        "drawKey": commitment.get("drawKey"),
        "commitTx": commitment.get("commitTx"),
        "commitBlock": commitment.get("commitBlock"),
        "resultTx": record.result_tx,
        "timestampToken": base64.b64encode(token).decode("ascii") if token else None,
        "tsa": record.tsa,
    }


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


class DrawPublication:
    def __init__(self, service: DrawService) -> None:
        self._service = service

    def export_file(self, draw_id: str, name: str) -> ExportFile:
        if name not in EXPORT_FILES:
            raise InvalidDrawRequest(f"the export's files are {', '.join(EXPORT_FILES)}")
        record = self._service.record(draw_id)
        if name not in PUBLISHED[record.state]:
            raise DrawStateConflict(
                f"draw {draw_id} is {record.state.value}: {name} is not out yet"
            )
        media = MEDIA_TYPES[name]
        if name in ("entries.bin", "result.jsonl"):
            path = self._service.draw_dir(draw_id) / (
                RESULT_FILE if name == "result.jsonl" else "entries.bin"
            )
            return ExportFile(name, media, _read(path.open("rb")), path.stat().st_size)
        data = self._small_file(record, name)
        return ExportFile(name, media, iter([data]), len(data))

    def _small_file(self, record: DrawRecord, name: str) -> bytes:
        if name == "config.json":
            return canonical_json(record.config)
        if name == "beacon.json":
            return _json_bytes(record.beacon)
        if name == "reveal.json":
            return _json_bytes(record.reveal)
        token = self._service.column(record.id, "timestamp_token")
        return _json_bytes(chain_json(record, bytes(token) if token else None))

    def winners(self, draw_id: str, offset: int, limit: int) -> dict[str, Any]:
        """A page of the result (winners by rank, then the waiting list)."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise InvalidDrawRequest(f"offset ≥ 0 and a limit of 1 to {MAX_PAGE}")
        record = self._service.record(draw_id)
        if "result.jsonl" not in PUBLISHED[record.state]:
            raise DrawStateConflict(f"draw {draw_id} is {record.state.value}: no result yet")
        path = self._service.draw_dir(draw_id) / RESULT_FILE
        with path.open("rb") as stream:
            items = [json.loads(line) for line in islice(stream, offset, offset + limit + 1)]
        more = len(items) > limit
        body: dict[str, Any] = {"items": items[:limit], "offset": offset}
        if more:
            body["next"] = f"/draws/{draw_id}/winners?offset={offset + limit}&limit={limit}"
        return body


def read_result_index(directory: Path, index: int) -> dict[int, ResultEntry]:
    """The result entry of entry ``index``, if it is in the result (by entry index)."""
    with (directory / RESULT_FILE).open("rb") as stream:
        for entry in iter_result(stream):
            if entry.index == index:
                return {index: entry}
    return {}


def _read(stream: Any) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(FILE_CHUNK):
            yield chunk
