"""The request bodies of the routes that read their body themselves, for the OpenAPI document.

``POST /evidence/deposits`` and ``POST /evidence/verify`` stream their bodies through
:mod:`evidence.http_body` (a file never spooled, never whole in memory), so FastAPI
cannot infer a schema from their signatures: these are given with
``openapi_extra={"requestBody": ...}``. ``format: binary`` on ``file`` makes Swagger UI
offer a file picker, so a deposit can be sent from the docs page.
"""

from __future__ import annotations

from typing import Any

from evidence.deposit.batch import KEY_FIELD, MAX_BATCH_BYTES, MAX_BATCH_ITEMS
from evidence.deposit.models import (
    DESCRIPTION_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    MEDIA_TYPE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
)
from evidence.deposit.request import MAX_TAGS
from evidence.multipart import FILE_FIELD

_DIGEST = "hex, or a multibase (`u`/`z`) multihash"
_METADATA: dict[str, Any] = {
    "title": {"type": "string", "maxLength": TITLE_MAX_LENGTH},
    "description": {"type": "string", "maxLength": DESCRIPTION_MAX_LENGTH},
    "mediaType": {
        "type": "string",
        "maxLength": MEDIA_TYPE_MAX_LENGTH,
        "description": "RFC 6838 `type/subtype`",
    },
}
_SHA256: dict[str, Any] = {"type": "string", "description": f"the content's SHA-256: {_DIGEST}"}
_SM3: dict[str, Any] = {"type": "string", "description": f"the content's SM3: {_DIGEST}"}

DEPOSIT_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "A file (multipart/form-data) or a digest (JSON).",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "properties": {
                    FILE_FIELD: {"type": "string", "format": "binary"},
                    **_METADATA,
                    "tags": {
                        "type": "string",
                        "description": "a comma-separated list, or a JSON array of strings",
                    },
                    "sha256": {**_SHA256, "description": "declared SHA-256, checked"},
                    "sm3": {**_SM3, "description": "declared SM3, checked"},
                },
            },
        },
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["sha256"],
                "properties": {
                    "sha256": _SHA256,
                    "sm3": _SM3,
                    **_METADATA,
                    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_TAGS},
                    "fileName": {"type": "string"},
                },
            },
        },
    },
}

_DIGEST_DEPOSIT: dict[str, Any] = DEPOSIT_REQUEST_BODY["content"]["application/json"]["schema"]

BATCH_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": (
        f"Up to {MAX_BATCH_ITEMS} digest deposits (at most {MAX_BATCH_BYTES} bytes of JSON), "
        "each with its own idempotencyKey; each is a deposit of its own."
    ),
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["items"],
                "additionalProperties": False,
                "properties": {
                    "items": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_BATCH_ITEMS,
                        "items": {
                            **_DIGEST_DEPOSIT,
                            "required": ["sha256", KEY_FIELD],
                            "properties": {
                                **_DIGEST_DEPOSIT["properties"],
                                KEY_FIELD: {
                                    "type": "string",
                                    "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}

BATCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "One result per item, in order: status 201 (new) or 200 (a replay) with the "
            "deposit, or a 4xx status with the item's error; and the counts"
        ),
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["index", "status"],
                                "properties": {
                                    "index": {"type": "integer"},
                                    "status": {"type": "integer"},
                                    "deposit": {"type": "object"},
                                    "error": {"type": "object"},
                                },
                            },
                        },
                        "created": {"type": "integer"},
                        "replayed": {"type": "integer"},
                        "refused": {"type": "integer"},
                    },
                },
            },
        },
    },
    413: {
        "description": f"over {MAX_BATCH_ITEMS} items or {MAX_BATCH_BYTES} bytes: batch_too_large"
    },
}

_LETTER_OBJECT: dict[str, Any] = {
    "type": "object",
    "description": "the custody letter (a DataDepositCredential)",
}

VERIFY_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "The letter alone (JSON), or the letter and the file it attests (multipart).",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["letter"],
                "properties": {"letter": _LETTER_OBJECT},
            },
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["letter"],
                "properties": {
                    "letter": {"type": "string", "description": "the custody letter as JSON"},
                    FILE_FIELD: {"type": "string", "format": "binary"},
                },
            },
        },
    },
}
