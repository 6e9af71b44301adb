"""Streaming a stored deposit back, re-checked against its recorded SHA-256.

The last chunk is held back until the whole content is known to have the digest the
deposit recorded (FIPS 180-4 SHA-256), so a corrupt blob ends the body with an error
instead of completing it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

from evidence.errors import BlobCorrupt


def close_chunks(chunks: Iterator[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def checked_chunks(first: bytes, chunks: Iterator[bytes], sha256: bytes) -> Iterator[bytes]:
    """``first`` then ``chunks``, holding each back until the next is read, and the last
    until the whole content is known to have the recorded SHA-256."""
    digest = hashlib.sha256()
    pending = first
    try:
        for chunk in chunks:
            digest.update(pending)
            yield pending
            pending = chunk
        digest.update(pending)
        if not hmac.compare_digest(digest.digest(), sha256):
            raise BlobCorrupt("the stored content does not have the deposit's SHA-256")
        yield pending
    finally:
        close_chunks(chunks)
