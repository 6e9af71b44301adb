"""The fingerprint of a deposit request, stored with its ``Idempotency-Key``.

draft-ietf-httpapi-idempotency-key-header §2.7
(https://datatracker.ietf.org/doc/html/draft-ietf-httpapi-idempotency-key-header#section-2.7):
a key reused "for a different request payload" is refused with 422; a true retry gets
the first answer. A request is identified by what it asks the hub to record, not by its
bytes (a multipart boundary or JSON member order differs between retries): SHA-256 over
the canonical JSON (RFC 8785-style: sorted keys, no whitespace) of the depositor, the
content's digests, whether the content is stored, and the metadata.
"""

from __future__ import annotations

import hashlib
import json

from evidence.deposit.request import DepositMetadata

FINGERPRINT_VERSION = 1


def request_fingerprint(
    depositor: str,
    metadata: DepositMetadata,
    *,
    sha256: bytes,
    sm3: bytes | None,
    stored: bool,
) -> bytes:
    """32 bytes naming what one deposit request asks for (the key itself excluded)."""
    document = {
        "v": FINGERPRINT_VERSION,
        "depositor": depositor,
        "sha256": sha256.hex(),
        "sm3": sm3.hex() if sm3 is not None else None,
        "stored": stored,
        "title": metadata.title,
        "description": metadata.description,
        "tags": list(metadata.tags),
        "mediaType": metadata.media_type,
        "fileName": metadata.file_name,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).digest()
