"""The request bodies of the draw routes that read their body themselves (OpenAPI 3.1).

The configuration, the upload's chunks, a pasted beacon and a receipt are read from the
stream with a size cap (a chunk never whole in memory), so FastAPI cannot infer them
from the signatures; they are given with ``openapi_extra={"requestBody": ...}``. The
schemas name the shape; the full rules are ``docs/draw-algorithm.md`` §1, §2 and §5.
"""

from __future__ import annotations

from typing import Any

_JSON_OBJECT: dict[str, Any] = {"type": "object"}


def _json(description: str, schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {
        "required": required,
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


CREATE_BODY = _json(
    "The draw's configuration (docs/draw-algorithm.md §1) without `algorithm`, `drawId` "
    "and `notaryCommitment`, which the hub sets.",
    {
        "type": "object",
        "required": ["title", "tiers", "waitingList", "weighted", "cascade", "beacon"],
        "properties": {
            "title": {"type": "string"},
            "rules": {"type": "string"},
            "tiers": {"type": "array", "items": _JSON_OBJECT},
            "waitingList": {"type": "integer", "minimum": 0},
            "categories": {"type": "array", "items": _JSON_OBJECT},
            "cascade": {
                "type": "object",
                "properties": {"rule": {"type": "string", "enum": ["none", "pooled", "ordered"]}},
            },
            "weighted": {"type": "boolean"},
            "entryDeadline": {"type": "string", "format": "date-time"},
            "beacon": _JSON_OBJECT,
            "publicValues": {"type": "array", "items": _JSON_OBJECT},
        },
    },
)

START_UPLOAD_BODY = _json(
    "The list's format and its exact size in bytes.",
    {
        "type": "object",
        "required": ["format", "size"],
        "properties": {
            "format": {"type": "string", "enum": ["csv", "jsonl"]},
            "size": {"type": "integer", "minimum": 1},
        },
    },
)

CHUNK_BODY: dict[str, Any] = {
    "required": True,
    "description": "The next bytes of the list, starting at `Upload-Offset` (or "
    "`Content-Range: bytes a-b/n`).",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}

DRAW_BODY = _json(
    "Empty to take the beacon round from the hub's relays, or a beacon pasted from an "
    "air-gapped machine (verified the same) and the declared public values.",
    {
        "type": "object",
        "properties": {
            "beacon": {
                "type": "object",
                "required": ["round", "randomness", "signature"],
                "properties": {
                    "round": {"type": "integer", "minimum": 1},
                    "randomness": {"type": "string"},
                    "signature": {"type": "string"},
                },
            },
            "publicValues": {"type": "array", "items": {"type": "string"}},
        },
    },
    required=False,
)

RECEIPT_BODY = _json(
    "An entry receipt (docs/draw-algorithm.md §2.4): leaf, salt, weight, category, index "
    "and inclusion proof.",
    _JSON_OBJECT,
)

RECEIPT_CREDENTIAL_BODY = _json(
    "The entrant's entry receipt exactly as the organiser handed it out (docs/draw-algorithm.md "
    "§2.4), its `entrantId` a DID: the notary checks it against the committed list and "
    "signs it as a `DrawEntryReceiptCredential` to that DID.",
    {
        "type": "object",
        "required": [
            "drawId",
            "entrantId",
            "salt",
            "index",
            "weight",
            "category",
            "leaf",
            "proof",
            "candidateRoot",
            "count",
        ],
        "properties": {
            "drawId": {"type": "string"},
            "entrantId": {"type": "string"},
            "salt": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "index": {"type": "integer", "minimum": 0},
            "weight": {"type": "integer", "minimum": 0},
            "category": {"type": "integer", "minimum": 0},
            "leaf": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "proof": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
            "candidateRoot": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "count": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": False,
    },
)
