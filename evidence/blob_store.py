"""The evidence blob store: encrypted, content-addressed storage of deposited files.

Content is addressed by the SHA-256 (FIPS 180-4) of its plaintext, so the same file
deposited twice is stored once; at rest it is in the format of :mod:`evidence.envelope`.
The Protocols here are what the deposit service uses; :mod:`evidence.local_blob_store`
and :mod:`evidence.s3_blob_store` implement them, both on top of
:class:`EncryptingBlobWriter`, which owns the rules every writer shares (size limit,
expected digest, nothing stored unless committed).

Where a blob is stored is not its digest but :class:`BlobNames` of it (issue 9 item 11):
HMAC-SHA256 (RFC 2104, FIPS 198-1) of the SHA-256 under a key that HKDF-SHA256
(RFC 5869) derives from the master key with its own ``info``. Whoever can list the
store cannot confirm that a file they hold is in it (the digest of a known file would
otherwise be its name); the name is still a function of the content, so storing the
same file twice still stores it once.
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from evidence.digests import Digests
from evidence.envelope import EnvelopeEncryptor
from evidence.errors import DigestMismatch, EvidenceError, InvalidDeposit, UploadTooLarge
from evidence.key_encryption import KeyEncryptionKey
from hub_kernel.keystore import MASTER_KEY_SIZE, InvalidMasterKey, load_master_key

__all__ = [
    "DEFAULT_MAX_SIZE",
    "SHA256_SIZE",
    "BlobNames",
    "BlobStore",
    "BlobWriter",
    "EncryptingBlobWriter",
    "StoredBlob",
    "check_sha256",
]

SHA256_SIZE = 32
DEFAULT_MAX_SIZE = 4 << 30  # 4 GiB, the deposit limit unless configured otherwise
# Its own HKDF info: the naming key is never the key-encryption key (nor the master key).
_NAMES_INFO = b"notary-hub/evidence/blob-names/v1"


class BlobNames:
    """Stored names of blobs: 64 hex digits of HMAC-SHA256(naming key, SHA-256 of content).

    The naming key is HKDF-SHA256 of the hub's 32-byte master key with ``info``
    ``notary-hub/evidence/blob-names/v1`` (no salt, as the key-encryption key is derived).
    A name reveals nothing about the content to whoever lacks the master key, and the
    same content always gets the same name (content addressing, dedupe).
    """

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes | bytearray) or len(master_key) != MASTER_KEY_SIZE:
            raise InvalidMasterKey(f"the master key must be {MASTER_KEY_SIZE} bytes")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_NAMES_INFO)
        self._key = hkdf.derive(bytes(master_key))

    @classmethod
    def load(cls, value: str | None, path: Path | None, *, create: bool) -> BlobNames:
        """From the master key setting, as :meth:`LocalKeyEncryptionKey.load` reads it."""
        return cls(load_master_key(value, path, create=create))

    def name(self, sha256: bytes) -> str:
        return hmac.new(self._key, check_sha256(sha256), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "BlobNames(HMAC-SHA256, key derived from the master key)"


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
