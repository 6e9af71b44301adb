"""evidence.envelope and evidence.key_encryption: the at-rest format, byte by byte."""

from __future__ import annotations

import hashlib
import io
import os
import struct
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from evidence.envelope import (
    FORMAT_VERSION,
    MAGIC,
    TAG_SIZE,
    EnvelopeEncryptor,
    decrypt,
    plaintext_size,
    read_header,
)
from evidence.errors import BlobCorrupt
from evidence.key_encryption import KeyEncryptionKey, LocalKeyEncryptionKey
from hub_kernel.keystore import InvalidMasterKey

CHUNK = 1024
MASTER = bytes(range(32))


def seal(
    data: bytes, kek: KeyEncryptionKey | None = None, piece: int = 700
) -> tuple[bytes, bytes, list[bytes]]:
    """(whole ciphertext, SHA-256, [header, chunk, chunk, ...]) for ``data``."""
    parts: list[bytes] = []
    encryptor = EnvelopeEncryptor(
        kek or LocalKeyEncryptionKey(MASTER), parts.append, chunk_size=CHUNK
    )
    for start in range(0, len(data), piece):
        encryptor.update(data[start : start + piece])
    digests = encryptor.finish()
    assert digests.sha256 == hashlib.sha256(data).digest()
    return b"".join(parts), digests.sha256, parts


def open_all(stored: bytes, sha256: bytes, kek: KeyEncryptionKey | None = None) -> bytes:
    return b"".join(decrypt(io.BytesIO(stored), kek or LocalKeyEncryptionKey(MASTER), sha256))


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + CHUNK // 2]
)
@pytest.mark.parametrize("piece", [1, 333, CHUNK, 5000])
def test_round_trip_and_layout(size: int, piece: int) -> None:
    data = os.urandom(size)
    stored, sha256, parts = seal(data, piece=piece)
    header, header_bytes = read_header(io.BytesIO(stored))
    assert parts[0] == header_bytes
    chunks = parts[1:]
    # Every chunk but the last is full; the last holds 0..CHUNK bytes (1 chunk when empty).
    assert len(chunks) == max(1, -(-size // CHUNK))
    assert all(len(chunk) == CHUNK + TAG_SIZE for chunk in chunks[:-1])
    assert len(chunks[-1]) == size - CHUNK * (len(chunks) - 1) + TAG_SIZE
    assert plaintext_size(len(header_bytes), header.chunk_size, len(stored)) == size
    assert open_all(stored, sha256) == data


def test_header_fields() -> None:
    kek = LocalKeyEncryptionKey(MASTER)
    stored, _, _ = seal(b"hello", kek)
    header, header_bytes = read_header(io.BytesIO(stored))
    assert stored.startswith(MAGIC + bytes([FORMAT_VERSION]))
    assert header.version == FORMAT_VERSION
    assert header.chunk_size == CHUNK
    assert len(header.nonce_prefix) == 7
    assert header.key_id == kek.key_id
    assert len(header.wrapped_key) == 12 + 32 + 16
    assert header.encode() == header_bytes


def test_each_object_has_its_own_key_and_nonces() -> None:
    first, _, _ = seal(b"same content" * 100)
    second, _, _ = seal(b"same content" * 100)
    one, two = read_header(io.BytesIO(first))[0], read_header(io.BytesIO(second))[0]
    assert one.nonce_prefix != two.nonce_prefix
    assert one.wrapped_key != two.wrapped_key
    assert first[-50:] != second[-50:]


def test_decrypt_yields_chunk_by_chunk() -> None:
    data = os.urandom(3 * CHUNK + 10)
    stored, sha256, _ = seal(data)
    pieces = list(decrypt(io.BytesIO(stored), LocalKeyEncryptionKey(MASTER), sha256))
    assert [len(piece) for piece in pieces] == [CHUNK, CHUNK, CHUNK, 10]


class _Trickle(io.BytesIO):
    """A source that returns at most 100 bytes per read, like a slow socket."""

    def read(self, size: int | None = -1, /) -> bytes:
        return super().read(min(100, size if size is not None and size >= 0 else 100))


def test_short_reads_from_the_source() -> None:
    data = os.urandom(2 * CHUNK + 5)
    stored, sha256, _ = seal(data)
    assert b"".join(decrypt(_Trickle(stored), LocalKeyEncryptionKey(MASTER), sha256)) == data


# -- tampering -------------------------------------------------------------------------------


def _corrupt(stored: bytes, sha256: bytes, kek: KeyEncryptionKey | None = None) -> None:
    with pytest.raises(BlobCorrupt):
        open_all(stored, sha256, kek)


def test_every_header_byte_is_authenticated() -> None:
    stored, sha256, parts = seal(os.urandom(2 * CHUNK + 3))
    for position in range(len(parts[0])):
        altered = bytearray(stored)
        altered[position] ^= 0x01
        _corrupt(bytes(altered), sha256)


def test_flipped_bits_in_chunks_and_tags() -> None:
    data = os.urandom(3 * CHUNK + CHUNK // 2)
    stored, sha256, parts = seal(data)
    header_size = len(parts[0])
    positions = [
        header_size,  # first ciphertext byte
        header_size + CHUNK + TAG_SIZE - 1,  # first chunk's tag
        header_size + CHUNK + TAG_SIZE + 17,  # inside the second chunk
        len(stored) - TAG_SIZE - 1,  # last ciphertext byte
        len(stored) - 1,  # last chunk's tag
    ]
    for position in positions:
        altered = bytearray(stored)
        altered[position] ^= 0x80
        _corrupt(bytes(altered), sha256)


def test_truncation_reordering_and_splicing() -> None:
    stored, sha256, parts = seal(os.urandom(3 * CHUNK + CHUNK // 2))
    header, chunks = parts[0], parts[1:]
    cases = {
        "header only": header,
        "cut at a chunk boundary": header + b"".join(chunks[:2]),
        "last chunk dropped": header + b"".join(chunks[:3]),
        "cut inside a chunk": stored[: len(header) + CHUNK + 100],
        "cut inside the tag": stored[:-3],
        "half a header": header[:20],
        "nothing": b"",
        "chunks swapped": header + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "middle chunk dropped": header + chunks[0] + b"".join(chunks[2:]),
        "chunk repeated": header + chunks[0] + b"".join(chunks),
        "garbage appended": stored + b"\0",
        "last chunk twice": stored + chunks[-1],
    }
    for label, candidate in cases.items():
        with pytest.raises(BlobCorrupt):
            open_all(candidate, sha256)
            pytest.fail(label)


def test_chunks_from_another_object_do_not_fit() -> None:
    kek = LocalKeyEncryptionKey(MASTER)
    data = os.urandom(2 * CHUNK + 1)
    _, sha256, one = seal(data, kek)
    _, _, two = seal(data, kek)  # same content, same KEK: still different keys and nonces
    _corrupt(one[0] + two[1] + one[2] + one[3], sha256, kek)
    # A header with another object's wrapped key and nonce prefix.
    _corrupt(two[0] + b"".join(one[1:]), sha256, kek)


def test_an_object_under_another_digest_fails_before_the_last_chunk() -> None:
    data = os.urandom(CHUNK + 1)
    stored, _, _ = seal(data)
    other = hashlib.sha256(b"something else").digest()
    pieces = decrypt(io.BytesIO(stored), LocalKeyEncryptionKey(MASTER), other)
    assert next(pieces) == data[:CHUNK]  # earlier chunks are not bound to the digest ...
    with pytest.raises(BlobCorrupt):
        next(pieces)  # ... but the last one is, and it is never released


def test_empty_content_is_bound_to_its_digest() -> None:
    stored, sha256, _ = seal(b"")
    assert open_all(stored, sha256) == b""
    _corrupt(stored, hashlib.sha256(b"x").digest())
    _corrupt(stored[:-TAG_SIZE], sha256)


def test_invalid_headers() -> None:
    stored, sha256, parts = seal(b"content")
    header_size = len(parts[0])

    def with_fixed(version: int = FORMAT_VERSION, chunk_size: int = CHUNK) -> bytes:
        return stored[:6] + struct.pack(">BI", version, chunk_size) + stored[11:]

    cases = {
        "magic": b"XXBLOB" + stored[6:],
        "version": with_fixed(version=2),
        "chunk size too small": with_fixed(chunk_size=16),
        "chunk size too large": with_fixed(chunk_size=1 << 30),
        "wrapped key length zero": stored[: header_size - 62] + b"\0\0" + stored[header_size:],
        "wrapped key length huge": stored[: header_size - 62]
        + b"\xff\xff"
        + stored[header_size - 60 :],
    }
    for label, candidate in cases.items():
        with pytest.raises(BlobCorrupt):
            open_all(candidate, sha256)
            pytest.fail(label)


def test_plaintext_size_rejects_impossible_sizes() -> None:
    with pytest.raises(BlobCorrupt):
        plaintext_size(100, CHUNK, 100 + 15)  # no room for a tag
    with pytest.raises(BlobCorrupt):
        plaintext_size(100, CHUNK, 100 + CHUNK + TAG_SIZE + 5)  # a 5-byte last chunk


# -- key-encryption keys ---------------------------------------------------------------------


class _SameIdOtherKey(LocalKeyEncryptionKey):
    """Another master key that claims the id of MASTER's (a forged or colliding key id)."""

    def __init__(self) -> None:
        super().__init__(bytes(32))
        self.key_id = LocalKeyEncryptionKey(MASTER).key_id


def test_wrong_master_key() -> None:
    stored, sha256, _ = seal(b"secret evidence")
    with pytest.raises(BlobCorrupt, match="encrypted under key"):
        open_all(stored, sha256, LocalKeyEncryptionKey(os.urandom(32)))
    with pytest.raises(BlobCorrupt, match="does not unwrap"):
        open_all(stored, sha256, _SameIdOtherKey())


def test_local_kek_wrap_binds_the_context() -> None:
    kek = LocalKeyEncryptionKey(MASTER)
    data_key = os.urandom(32)
    wrapped = kek.wrap(data_key, context=b"header one")
    assert len(wrapped) == 60
    assert kek.unwrap(wrapped, context=b"header one") == data_key
    assert kek.wrap(data_key, context=b"header one") != wrapped  # fresh nonce every time
    with pytest.raises(BlobCorrupt):
        kek.unwrap(wrapped, context=b"header two")
    with pytest.raises(BlobCorrupt):
        kek.unwrap(wrapped[:-1], context=b"header one")
    with pytest.raises(ValueError):
        kek.wrap(b"short", context=b"")
    assert isinstance(kek, KeyEncryptionKey)


def test_local_kek_id_and_repr() -> None:
    kek = LocalKeyEncryptionKey(MASTER)
    assert kek.key_id == LocalKeyEncryptionKey(bytes(MASTER)).key_id
    assert kek.key_id != LocalKeyEncryptionKey(bytes(32)).key_id
    assert kek.key_id.startswith("local:") and len(kek.key_id) == 6 + 16
    assert MASTER.hex() not in repr(kek) and MASTER.hex()[:16] not in kek.key_id
    # The wrapping key is derived: the raw master key cannot unwrap.
    wrapped = kek.wrap(bytes(32), context=b"")
    with pytest.raises(InvalidTag):
        AESGCM(MASTER).decrypt(wrapped[:12], wrapped[12:], b"notary-hub/evidence/data-key/v1\0")


def test_local_kek_from_the_master_key_setting(tmp_path: Path) -> None:
    assert LocalKeyEncryptionKey.load(MASTER.hex(), None, create=False).key_id == (
        LocalKeyEncryptionKey(MASTER).key_id
    )
    path = tmp_path / "master.key"
    created = LocalKeyEncryptionKey.load(None, path, create=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert LocalKeyEncryptionKey.load(None, path, create=False).key_id == created.key_id
    with pytest.raises(InvalidMasterKey):
        LocalKeyEncryptionKey.load("too short", None, create=False)
    with pytest.raises(InvalidMasterKey):
        LocalKeyEncryptionKey.load(None, tmp_path / "missing", create=False)
    with pytest.raises(InvalidMasterKey):
        LocalKeyEncryptionKey(b"\0" * 31)


def test_encryptor_rejects_bad_settings() -> None:
    kek = LocalKeyEncryptionKey(MASTER)
    for chunk_size in (0, 1023, (1 << 24) + 1):
        with pytest.raises(ValueError):
            EnvelopeEncryptor(kek, lambda _: None, chunk_size=chunk_size)
    bad_id = LocalKeyEncryptionKey(MASTER)
    bad_id.key_id = "caf\u00e9"
    with pytest.raises(ValueError):
        EnvelopeEncryptor(bad_id, lambda _: None, chunk_size=CHUNK)
