"""The at-rest format of a stored blob: a header, then AES-256-GCM chunks (STREAM).

Online authenticated encryption follows the STREAM construction of Hoang, Reyhanitabar,
Rogaway and Vizár, "Online Authenticated-Encryption and its Nonce-Reuse
Misuse-Resistance" (CRYPTO 2015, §7 "STREAM"), as age (age-encryption.org/v1,
"Payload") and Tink's streaming AEAD use it: the plaintext is cut into fixed-size
chunks, each sealed with AES-256-GCM (NIST SP 800-38D) under the object's own random
256-bit data key, with the 96-bit nonce ``nonce_prefix(7) ‖ counter(4, big-endian) ‖
last(1)``. The counter stops reordering and dropping chunks; the last-chunk flag stops
truncation at a chunk boundary (the chunk before the cut was sealed as not-last).

The associated data of every chunk is ``header ‖ index(8) ‖ last(1)``, and the last
chunk's also carries the plaintext SHA-256: the whole header (magic, format version,
chunk size, nonce prefix, key id, wrapped key) is authenticated by every chunk, and an
object copied to another digest's address fails to open. Readers also recompute the
SHA-256 and compare it with the address before releasing the last chunk.

Layout (integers big-endian)::

    header   = "NHBLOB" ‖ version(1) ‖ chunk_size(4) ‖ nonce_prefix(7)
               ‖ len(key_id)(1) ‖ key_id ‖ len(wrapped)(2) ‖ wrapped_key
    chunks   = (ciphertext ‖ tag(16)) * n,  every chunk but the last exactly
               chunk_size plaintext bytes, the last 0..chunk_size (so n >= 1)

The data key is wrapped by a :class:`~evidence.key_encryption.KeyEncryptionKey` with
the header bytes before ``len(wrapped)`` as its context.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from evidence.digests import Digests, MultiDigest
from evidence.errors import BlobCorrupt, EvidenceError
from evidence.key_encryption import DATA_KEY_SIZE, KeyEncryptionKey

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FORMAT_VERSION",
    "MAGIC",
    "MAX_CHUNK_SIZE",
    "MAX_HEADER_SIZE",
    "MIN_CHUNK_SIZE",
    "TAG_SIZE",
    "EnvelopeEncryptor",
    "Header",
    "Readable",
    "decrypt",
    "plaintext_size",
    "read_header",
]

MAGIC = b"NHBLOB"
FORMAT_VERSION = 1
DEFAULT_CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 1 << 10
MAX_CHUNK_SIZE = 1 << 24  # bounds what a reader allocates for a chunk a header announces
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 7
MAX_WRAPPED_SIZE = 4096  # generous for KMS ciphertext blobs
_FIXED = struct.Struct(">6sBI7sB")  # magic, version, chunk size, nonce prefix, len(key id)
_WRAPPED_LEN = struct.Struct(">H")
_NONCE_TAIL = struct.Struct(">I?")  # chunk counter, last-chunk flag
_AAD_TAIL = struct.Struct(">Q?")  # chunk index, last-chunk flag
MAX_HEADER_SIZE = _FIXED.size + 255 + _WRAPPED_LEN.size + MAX_WRAPPED_SIZE
_MAX_CHUNKS = 1 << 32


class Readable(Protocol):
    """A byte source: a file opened ``rb``, botocore's ``StreamingBody``."""

    def read(self, size: int, /) -> bytes: ...


def _check_chunk_size(chunk_size: int) -> int:
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"the chunk size must be {MIN_CHUNK_SIZE}..{MAX_CHUNK_SIZE} bytes")
    return chunk_size


@dataclass(frozen=True)
class Header:
    chunk_size: int
    nonce_prefix: bytes
    key_id: str
    wrapped_key: bytes
    version: int = FORMAT_VERSION

    def wrap_context(self) -> bytes:
        """The header bytes up to the wrapped key: what the data key is bound to."""
        key_id = self.key_id.encode("ascii")
        fixed = _FIXED.pack(MAGIC, self.version, self.chunk_size, self.nonce_prefix, len(key_id))
        return fixed + key_id

    def encode(self) -> bytes:
        return self.wrap_context() + _WRAPPED_LEN.pack(len(self.wrapped_key)) + self.wrapped_key


def _read_exact(source: Readable, size: int) -> bytes:
    """``size`` bytes, or fewer only at the end of ``source``."""
    data = source.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = source.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def read_header(source: Readable) -> tuple[Header, bytes]:
    """The parsed header and its exact bytes; :class:`BlobCorrupt` if malformed."""
    fixed = _read_exact(source, _FIXED.size)
    if len(fixed) != _FIXED.size:
        raise BlobCorrupt("the blob is shorter than its header")
    magic, version, chunk_size, nonce_prefix, key_id_len = _FIXED.unpack(fixed)
    if magic != MAGIC:
        raise BlobCorrupt("the blob does not start with the blob format's magic bytes")
    if version != FORMAT_VERSION:
        raise BlobCorrupt(f"unknown blob format version {version}")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise BlobCorrupt(f"the header announces an invalid chunk size {chunk_size}")
    key_id_raw = _read_exact(source, key_id_len)
    length_raw = _read_exact(source, _WRAPPED_LEN.size)
    if len(key_id_raw) != key_id_len or len(length_raw) != _WRAPPED_LEN.size:
        raise BlobCorrupt("the blob's header is truncated")
    (wrapped_len,) = _WRAPPED_LEN.unpack(length_raw)
    wrapped = _read_exact(source, wrapped_len) if wrapped_len <= MAX_WRAPPED_SIZE else b""
    if not 0 < len(wrapped) == wrapped_len:
        raise BlobCorrupt("the blob's wrapped key is missing, truncated or too long")
    try:
        key_id = key_id_raw.decode("ascii")
    except UnicodeDecodeError:
        raise BlobCorrupt("the blob's key id is not ASCII") from None
    header = Header(chunk_size, nonce_prefix, key_id, wrapped, version)
    return header, fixed + key_id_raw + length_raw + wrapped


def plaintext_size(header_size: int, chunk_size: int, stored_size: int) -> int:
    """The plaintext byte count of a well-formed object of ``stored_size`` bytes."""
    body = stored_size - header_size
    sealed = chunk_size + TAG_SIZE
    chunks = max(1, -(-body // sealed))
    size = body - chunks * TAG_SIZE
    if size < 0 or (body % sealed and body % sealed < TAG_SIZE):
        raise BlobCorrupt("the stored object has an impossible size")
    return size


class _Chunks:
    """Nonces and associated data for one object's chunks."""

    __slots__ = ("_aad_prefix", "_nonce_prefix")

    def __init__(self, header: Header, header_bytes: bytes) -> None:
        self._nonce_prefix = header.nonce_prefix
        self._aad_prefix = header_bytes

    def nonce(self, index: int, last: bool) -> bytes:
        if index >= _MAX_CHUNKS:
            raise EvidenceError("a blob cannot have more than 2**32 chunks")
        return self._nonce_prefix + _NONCE_TAIL.pack(index, last)

    def aad(self, index: int, last: bool, sha256: bytes = b"") -> bytes:
        return self._aad_prefix + _AAD_TAIL.pack(index, last) + sha256


class EnvelopeEncryptor:
    """Encrypts content in one pass while hashing it, handing ciphertext to ``sink``.

    ``sink`` first receives the header, then one sealed chunk at a time (``chunk_size``
    + 16 bytes). A full chunk is only sealed once more data shows it is not the last,
    so at most one chunk of plaintext is buffered. :meth:`finish` seals the last chunk
    (bound to the SHA-256) and returns the digests.
    """

    def __init__(
        self,
        kek: KeyEncryptionKey,
        sink: Callable[[bytes], object],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._chunk_size = _check_chunk_size(chunk_size)
        if not (kek.key_id.isascii() and kek.key_id.isprintable() and 0 < len(kek.key_id) < 256):
            raise ValueError("a key id is 1..255 printable ASCII characters")
        data_key = secrets.token_bytes(DATA_KEY_SIZE)
        unwrapped = Header(chunk_size, secrets.token_bytes(NONCE_PREFIX_SIZE), kek.key_id, b"")
        wrapped = kek.wrap(data_key, context=unwrapped.wrap_context())
        if not 0 < len(wrapped) <= MAX_WRAPPED_SIZE:
            raise EvidenceError("the key-encryption key returned an oversized wrapped key")
        self.header = Header(chunk_size, unwrapped.nonce_prefix, kek.key_id, wrapped)
        header_bytes = self.header.encode()
        self._chunks = _Chunks(self.header, header_bytes)
        self._aead = AESGCM(data_key)
        self._digest = MultiDigest()
        self._taken = 0
        self._buffer = bytearray(chunk_size)
        self._view = memoryview(self._buffer)
        self._filled = 0
        self._index = 0
        self._sink = sink
        self._finished = False
        sink(header_bytes)

    @property
    def size(self) -> int:
        """Plaintext bytes taken so far."""
        return self._taken

    def _seal(self, plaintext: bytes | bytearray | memoryview, *, last: bool) -> None:
        # Hashing per chunk (not per caller write) lets SM3 overlap encrypting and writing.
        with self._digest.hashing(plaintext):
            nonce = self._chunks.nonce(self._index, last)
            aad = self._chunks.aad(self._index, last)
            self._sink(self._aead.encrypt(nonce, plaintext, aad))
        self._index += 1

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if self._finished:
            raise EvidenceError("the encryptor has already finished")
        view = memoryview(data).cast("B")
        self._taken += len(view)
        size = self._chunk_size
        while view:
            if self._filled == size:  # more data follows, so the buffered chunk is not last
                self._seal(self._buffer, last=False)
                self._filled = 0
            if self._filled == 0 and len(view) > size:
                # Seal straight from the caller's buffer: no copy into ours.
                self._seal(view[:size], last=False)
                view = view[size:]
                continue
            take = min(size - self._filled, len(view))
            self._view[self._filled : self._filled + take] = view[:take]
            self._filled += take
            view = view[take:]

    def finish(self) -> Digests:
        if self._finished:
            raise EvidenceError("the encryptor has already finished")
        self._finished = True
        # The last chunk's associated data carries the SHA-256, so hash it first.
        self._digest.update(self._view[: self._filled])
        digests = self._digest.finalize()
        nonce = self._chunks.nonce(self._index, True)
        aad = self._chunks.aad(self._index, True, digests.sha256)
        self._sink(self._aead.encrypt(nonce, self._view[: self._filled], aad))
        return digests


def decrypt(source: Readable, kek: KeyEncryptionKey, sha256: bytes) -> Iterator[bytes]:
    """The plaintext of the object stored for ``sha256``, one chunk at a time.

    The header is read and the data key unwrapped before this returns, so a foreign or
    mangled object fails here. The iterator raises :class:`BlobCorrupt` at the first
    chunk that does not authenticate, and checks the SHA-256 before yielding the last
    chunk: a consumer that got every chunk got exactly the content of that digest.
    """
    header, header_bytes = read_header(source)
    if header.key_id != kek.key_id:
        raise BlobCorrupt(
            f"the blob was encrypted under key {header.key_id!r}, not the configured "
            f"{kek.key_id!r} (wrong master key, or an altered header)"
        )
    data_key = kek.unwrap(header.wrapped_key, context=header.wrap_context())
    return _decrypt_chunks(source, header, header_bytes, AESGCM(data_key), sha256)


def _decrypt_chunks(
    source: Readable, header: Header, header_bytes: bytes, aead: AESGCM, sha256: bytes
) -> Iterator[bytes]:
    chunks = _Chunks(header, header_bytes)
    sealed_size = header.chunk_size + TAG_SIZE
    hasher = hashlib.sha256()
    index = 0
    pending = _read_exact(source, sealed_size)
    while True:
        # A full chunk is the last only if nothing follows it: read one chunk ahead.
        following = _read_exact(source, sealed_size) if len(pending) == sealed_size else b""
        last = not following
        if len(pending) < TAG_SIZE:
            raise BlobCorrupt(f"chunk {index} is truncated")
        aad = chunks.aad(index, last, sha256 if last else b"")
        try:
            plaintext = aead.decrypt(chunks.nonce(index, last), pending, aad)
        except InvalidTag:
            raise BlobCorrupt(
                f"chunk {index} fails authentication (altered, reordered, truncated or moved)"
            ) from None
        hasher.update(plaintext)
        if last:
            if not hmac.compare_digest(hasher.digest(), sha256):
                raise BlobCorrupt("the decrypted content does not have the expected SHA-256")
            yield plaintext
            return
        yield plaintext
        pending = following
        index += 1
