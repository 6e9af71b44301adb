"""The evidence blob store: encrypted, content-addressed storage of deposited files.

Content is addressed by the SHA-256 (FIPS 180-4) of its plaintext, so the same file
deposited twice is stored once; at rest it is in the format of :mod:`evidence.envelope`.
The Protocols here are what the deposit service uses; :mod:`evidence.local_blob_store`
and :mod:`evidence.s3_blob_store` implement them, both on top of
:class:`EncryptingBlobWriter`, which owns the rules every writer shares (size limit,
expected digest, nothing stored unless committed).
"""

from __future__ import annotations

import hmac
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, runtime_checkable

from evidence.digests import Digests
from evidence.envelope import EnvelopeEncryptor
from evidence.errors import DigestMismatch, EvidenceError, InvalidDeposit, UploadTooLarge
from evidence.key_encryption import KeyEncryptionKey

__all__ = [
    "DEFAULT_MAX_SIZE",
    "SHA256_SIZE",
    "BlobStore",
    "BlobWriter",
    "EncryptingBlobWriter",
    "StoredBlob",
    "check_sha256",
]

SHA256_SIZE = 32
DEFAULT_MAX_SIZE = 4 << 30  # 4 GiB, the deposit limit unless configured otherwise


@dataclass(frozen=True)
class StoredBlob:
    sha256: bytes
    sm3: bytes
    size: int
    created: bool  # False if the same content was already stored


@runtime_checkable
class BlobWriter(Protocol):
    """One upload in progress. Nothing is visible in the store before :meth:`commit`."""

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; past ``max_size`` raises UploadTooLarge and discards all."""
        ...

    def commit(self, *, expected_sha256: bytes | None = None) -> StoredBlob:
        """Store the content; DigestMismatch (nothing stored) if it is not ``expected_sha256``."""
        ...

    def abort(self) -> None:
        """Discard the upload (idempotent; a no-op after commit)."""
        ...


@runtime_checkable
class BlobStore(Protocol):
    def writer(self, *, max_size: int) -> BlobWriter: ...

    def open(self, sha256: bytes) -> Iterator[bytes]:
        """The decrypted content, chunk by chunk; BlobNotFound, or BlobCorrupt on tampering.

        The iterator verifies every chunk and the final SHA-256 before yielding the last
        chunk; close it (``.close()``) when stopping early.
        """
        ...

    def exists(self, sha256: bytes) -> bool: ...

    def delete(self, sha256: bytes) -> None:
        """Remove the content, or BlobNotFound."""
        ...

    def stat(self, sha256: bytes) -> int | None:
        """The plaintext size, or None if nothing is stored for ``sha256``."""
        ...


def check_sha256(sha256: object) -> bytes:
    if not isinstance(sha256, bytes) or len(sha256) != SHA256_SIZE:
        raise InvalidDeposit(f"a SHA-256 digest is {SHA256_SIZE} bytes")
    return sha256


class EncryptingBlobWriter(ABC):
    """A :class:`BlobWriter` that encrypts into a store-specific temporary place.

    Subclasses set up their temporary storage, then call ``super().__init__``; they
    implement :meth:`_sink` (append ciphertext), :meth:`_store` (make the temporary
    object the one for ``sha256``; False if that content was already there) and
    :meth:`_discard` (drop the temporary object; must not raise).
    """

    def __init__(self, kek: KeyEncryptionKey, *, max_size: int, chunk_size: int) -> None:
        if not isinstance(max_size, int) or max_size < 0:
            raise ValueError("max_size must be a non-negative int")
        self._max_size = max_size
        self._state = "open"
        try:
            self._encryptor = EnvelopeEncryptor(kek, self._sink, chunk_size=chunk_size)
        except BaseException:
            self._state = "aborted"
            self._discard()
            raise

    @abstractmethod
    def _sink(self, ciphertext: bytes) -> None: ...

    @abstractmethod
    def _store(self, digests: Digests) -> bool: ...

    @abstractmethod
    def _discard(self) -> None: ...

    def _require_open(self) -> None:
        if self._state != "open":
            raise EvidenceError(f"the blob writer is {self._state}")

    def write(self, chunk: bytes) -> None:
        self._require_open()
        if self._encryptor.size + len(chunk) > self._max_size:
            self.abort()
            raise UploadTooLarge(f"the upload exceeds the limit of {self._max_size} bytes")
        try:
            self._encryptor.update(chunk)
        except BaseException:
            self.abort()
            raise

    def commit(self, *, expected_sha256: bytes | None = None) -> StoredBlob:
        self._require_open()
        try:
            if expected_sha256 is not None:
                check_sha256(expected_sha256)
            digests = self._encryptor.finish()
            if expected_sha256 is not None and not hmac.compare_digest(
                digests.sha256, expected_sha256
            ):
                raise DigestMismatch(
                    f"the content's SHA-256 is {digests.sha256.hex()}, "
                    f"not the declared {expected_sha256.hex()}"
                )
            created = self._store(digests)
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        return StoredBlob(digests.sha256, digests.sm3, digests.size, created)

    def abort(self) -> None:
        if self._state == "open":
            self._state = "aborted"
            self._discard()

    def __enter__(self) -> EncryptingBlobWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.abort()
