"""The WARC of a capture session read back with warcio (the hub's venv), as a court would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator


@dataclass(frozen=True)
class Record:
    kind: str
    uri: str
    fields: dict[str, str]
    http_head: bytes  # the status or request line and header lines, as recorded
    body: bytes  # the bytes after the head, as recorded
    payload: bytes  # the entity with any transfer coding undone (warcio's reading)

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def read_warc(path: Path) -> list[Record]:
    """Every record, its digests checked by warcio, its block split here untouched."""
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream, check_digests="raise"):
            record.content_stream().read()  # block and payload digests checked as read
    records = []
    with path.open("rb") as stream:
        # no_record_parse: the block exactly as stored (warcio would re-serialise a parsed head)
        for record in ArchiveIterator(stream, no_record_parse=True):
            fields = dict(record.rec_headers.headers)
            block = record.raw_stream.read()
            head, body = b"", block
            if fields.get("Content-Type", "").startswith("application/http"):
                head, _, body = block.partition(b"\r\n\r\n")
                head += b"\r\n\r\n"
            chunked = b"transfer-encoding: chunked" in head.lower()
            payload = _dechunk(body) if chunked else body
            uri = fields.get("WARC-Target-URI", "")
            records.append(Record(record.rec_type, uri, fields, head, body, payload))
    return records


def _dechunk(raw: bytes) -> bytes:
    out, rest = b"", raw
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out, rest = out + rest[:size], rest[size + 2 :]


def responses(records: list[Record], uri: str) -> list[Record]:
    return [r for r in records if r.kind == "response" and r.uri == uri]
