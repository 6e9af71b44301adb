"""A declared SM3 digest (GB/T 32905-2016), checked while the content streams in.

The blob store checks SHA-256 itself; SM3 is hashed a second time only when a depositor
declares one, so a mismatch aborts the upload before anything is stored.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes

from evidence.blob_store import BlobWriter, StoredBlob
from evidence.errors import DigestMismatch


class Sm3CheckingWriter:
    """A blob writer that also checks a declared SM3 digest before it commits.

    The blob store checks SHA-256 itself; SM3 is hashed a second time only when a
    depositor declares one, so a mismatch aborts the upload before anything is stored.
    """

    def __init__(self, writer: BlobWriter, expected: bytes) -> None:
        self._writer = writer
        self.expected = expected
        self._sm3 = hashes.Hash(hashes.SM3())

    def write(self, chunk: bytes) -> None:
        self._sm3.update(chunk)
        self._writer.write(chunk)

    def commit(self, *, expected_sha256: bytes | None = None) -> StoredBlob:
        actual = self._sm3.finalize()
        if not hmac.compare_digest(actual, self.expected):
            self._writer.abort()
            raise DigestMismatch(
                f"the content's SM3 is {actual.hex()}, not the declared {self.expected.hex()}"
            )
        return self._writer.commit(expected_sha256=expected_sha256)

    def abort(self) -> None:
        self._writer.abort()
