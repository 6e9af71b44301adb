"""A draw and its uploads as the API and the public page show them (JSON).

Public: everything here but the uploads is what the export publishes anyway (the
configuration, the commitment, the beacon, the reveal once drawn, the result root); no
entrant identity is ever in it.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from evidence.draw.drand import BeaconConfig, round_time
from evidence.draw.models import DrawRecord, DrawState
from evidence.draw.uploads import UploadRecord

PREFIX = "/draws"
EXPORT_FILES = (
    "config.json",
    "entries.bin",
    "beacon.json",
    "reveal.json",
    "result.jsonl",
    "chain.json",
)
# Which export files exist in which state (§6): the configuration from the start, the
# entries once committed, the rest once drawn.
PUBLISHED: dict[DrawState, tuple[str, ...]] = {
    DrawState.CREATED: ("config.json",),
    DrawState.UPLOADING: ("config.json",),
    DrawState.COMMITTED: ("config.json", "entries.bin"),
    DrawState.DRAWN: EXPORT_FILES,
}


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def unix_iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def draw_json(record: DrawRecord) -> dict[str, Any]:
    links = {"self": f"{PREFIX}/{record.id}", "page": f"{PREFIX}/{record.id}/page"}
    for name in PUBLISHED[record.state]:
        links[name] = f"{PREFIX}/{record.id}/export/{name}"
    if record.state is DrawState.DRAWN:
        links["winners"] = f"{PREFIX}/{record.id}/winners"
    cfg = BeaconConfig.from_config(record.config["beacon"])
    due = round_time(cfg, cfg.round)
    body: dict[str, Any] = {
        "id": record.id,
        "state": record.state.value,
        "title": record.config.get("title"),
        "config": record.config,
        "configHash": record.config_hash.hex(),
        "beacon": {"round": cfg.round, "network": cfg.network, "roundTime": unix_iso(due)},
        "createdAt": iso(record.created_at),
        "entries": _entries(record),
        "commitment": _commitment(record),
        "result": _result(record),
        "links": links,
    }
    return body


def _entries(record: DrawRecord) -> dict[str, Any] | None:
    if record.entry_count is None or record.candidate_root is None:
        return None
    return {
        "count": record.entry_count,
        "candidateRoot": record.candidate_root.hex(),
        "perCategory": list(record.category_counts or ()),
    }


def _commitment(record: DrawRecord) -> dict[str, Any] | None:
    if record.commitment is None:
        return None
    return {**record.commitment, "tsa": record.tsa, "committedAt": iso(record.committed_at)}


def _result(record: DrawRecord) -> dict[str, Any] | None:
    if record.state is not DrawState.DRAWN or record.seed is None or record.result_root is None:
        return None
    beacon = record.beacon or {}
    return {
        "round": beacon.get("round"),
        "seed": record.seed.hex(),
        "resultRoot": record.result_root.hex(),
        "winners": record.winners,
        "resultTx": record.result_tx,
        "drawnAt": iso(record.drawn_at),
        "beacon": beacon,
        "reveal": record.reveal,
    }


def upload_json(record: UploadRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "draw": record.draw_id,
        "format": record.format,
        "state": record.state.value,
        "size": record.size,
        "offset": record.offset,
        "chunks": record.chunks,
        "problems": list(record.problems),
        "links": {
            "self": f"{PREFIX}/{record.draw_id}/uploads/{record.id}",
            "finish": f"{PREFIX}/{record.draw_id}/uploads/{record.id}/finish",
        },
    }


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")
