"""Streaming SHA-256 + SM3 digests of evidence, and declared digests in hex or multibase.

- SHA-256: FIPS 180-4; SM3: GB/T 32905-2016 (also ISO/IEC 10118-3:2018), both through
  OpenSSL (``hashlib``; ``cryptography``'s ``hashes.SM3`` where hashlib lacks SM3).
- ``digestMultibase``: VC Data Model 2.0 §5.3 "Integrity of Related Resources", which
  refers to VC Data Integrity 1.0 §2.6 "Resource Integrity": a Multibase-encoded
  Multihash. Multihash (draft-multiformats-multihash) is ``varint(code) ‖ varint(length)
  ‖ digest``; the codes come from the multicodec table
  (https://github.com/multiformats/multicodec/blob/master/table.csv): ``sha2-256`` is
  ``0x12`` and ``sm3-256`` is ``0x534d``. Multibase (draft-multiformats-multibase):
  we write ``z`` (base58btc) and read ``z`` or ``u`` (base64url without padding), the two
  headers Controlled Identifiers 1.0 §2.4 requires.

Only the allow-listed algorithms exist here; anything else is
:class:`~evidence.errors.UnsupportedHashAlgorithm`, and malformed input is
:class:`~evidence.errors.InvalidDeposit`.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import hmac
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.hazmat.primitives import hashes

from evidence.errors import InvalidDeposit, UnsupportedHashAlgorithm
from hub_kernel.multiformats import multibase_decode, multibase_encode, varint_decode, varint_encode

__all__ = [
    "HASH_ALGORITHMS",
    "SHA256",
    "SM3",
    "DeclaredDigest",
    "Digests",
    "HashAlgorithm",
    "MultiDigest",
    "digest_multibase",
    "hash_algorithm",
    "parse_digest",
]


@dataclass(frozen=True)
class HashAlgorithm:
    name: str  # our (and the deposit API's) name
    multihash_code: int
    multicodec_name: str
    size: int  # digest bytes


SHA256 = "sha-256"
SM3 = "sm3"

HASH_ALGORITHMS: Mapping[str, HashAlgorithm] = MappingProxyType(
    {
        SHA256: HashAlgorithm(SHA256, 0x12, "sha2-256", 32),
        SM3: HashAlgorithm(SM3, 0x534D, "sm3-256", 32),
    }
)
_BY_CODE = {algorithm.multihash_code: algorithm for algorithm in HASH_ALGORITHMS.values()}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# SM3 is the slowest step of storing evidence (~360 MB/s in OpenSSL, a fifth of SHA-256
# with SHA-NI). hashlib's OpenSSL SM3 releases the GIL on large updates (cryptography's
# hashes.SM3, the same OpenSSL code, holds it), so a worker thread overlaps it with the rest.
_SM3_POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="sm3")
_PARALLEL_MIN = 64 << 10  # below this the hand-off costs more than it saves


def hash_algorithm(name: str) -> HashAlgorithm:
    """The allow-listed algorithm called ``name`` (case-insensitive), else an error."""
    if isinstance(name, str):
        found = HASH_ALGORITHMS.get(name.lower())
        if found is not None:
            return found
    allowed = ", ".join(sorted(HASH_ALGORITHMS))
    raise UnsupportedHashAlgorithm(f"hash algorithm {name!r} is not supported (use {allowed})")


@dataclass(frozen=True)
class Digests:
    """What one pass over some content gave: both digests and the byte count."""

    sha256: bytes
    sm3: bytes
    size: int

    def get(self, algorithm: str) -> bytes:
        return self.sha256 if hash_algorithm(algorithm).name == SHA256 else self.sm3

    def matches(self, declared: DeclaredDigest) -> bool:
        """Whether ``declared`` is this content's digest (constant-time comparison)."""
        return hmac.compare_digest(self.get(declared.algorithm), declared.value)


class _CryptographySM3:
    """hashes.SM3 with hashlib's interface, where the system OpenSSL lacks SM3."""

    def __init__(self) -> None:
        self._hash = hashes.Hash(hashes.SM3())

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.finalize()


def _new_sm3() -> hashlib._Hash | _CryptographySM3:
    try:
        return hashlib.new("sm3")
    except ValueError:
        return _CryptographySM3()


class MultiDigest:
    """SHA-256 and SM3 updated together, so content is read exactly once.

    ``update`` takes any bytes-like object (a ``memoryview`` slice costs no copy); both
    hashes run in OpenSSL.
    """

    __slots__ = ("_sha256", "_size", "_sm3")

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._sm3 = _new_sm3()
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._sha256.update(data)
        self._sm3.update(data)
        self._size += len(data) if not isinstance(data, memoryview) else data.nbytes

    @contextlib.contextmanager
    def hashing(self, data: bytes | bytearray | memoryview) -> Iterator[None]:
        """Hash ``data`` while the ``with`` block runs, SM3 on a worker thread.

        The block (encrypting, writing) overlaps with SM3; ``data`` must not change
        before the block ends, which is when both hashes have taken it.
        """
        size = len(data) if not isinstance(data, memoryview) else data.nbytes
        if size < _PARALLEL_MIN:
            self.update(data)
            yield
            return
        pending = _SM3_POOL.submit(self._sm3.update, data)
        try:
            self._sha256.update(data)
            yield
        finally:
            pending.result()
        self._size += size

    def finalize(self) -> Digests:
        """Both digests of everything hashed so far."""
        return Digests(self._sha256.digest(), self._sm3.digest(), self._size)


@dataclass(frozen=True)
class DeclaredDigest:
    """A digest someone declared for content: the algorithm and the raw digest bytes."""

    algorithm: str
    value: bytes

    def multibase(self) -> str:
        return digest_multibase(self.algorithm, self.value)


def digest_multibase(algorithm: str, digest: bytes) -> str:
    """``z`` + base58btc(multihash): a ``digestMultibase`` value (VC Data Integrity §2.6)."""
    spec = hash_algorithm(algorithm)
    if not isinstance(digest, bytes) or len(digest) != spec.size:
        raise InvalidDeposit(f"a {spec.name} digest is {spec.size} bytes")
    return multibase_encode(varint_encode(spec.multihash_code) + varint_encode(spec.size) + digest)


def _parse_multihash(raw: bytes) -> DeclaredDigest:
    code, used = varint_decode(raw)
    spec = _BY_CODE.get(code)
    if spec is None:
        raise UnsupportedHashAlgorithm(f"multihash code {code:#x} is not an allowed algorithm")
    length, used_length = varint_decode(raw[used:])
    value = raw[used + used_length :]
    if length != spec.size or len(value) != spec.size:
        raise InvalidDeposit(f"a {spec.name} multihash must carry {spec.size} digest bytes")
    return DeclaredDigest(spec.name, value)


_DISPLAY = {SHA256: "SHA-256", SM3: "SM3"}


def parse_digest(
    text: str, algorithm: str | None = None, field: str | None = None
) -> DeclaredDigest:
    """A declared digest: hex (needs ``algorithm``) or a multibase multihash.

    A multibase value names its own algorithm; if ``algorithm`` is given too, the two
    must agree. Hex is the plain digest, upper or lower case (``sha256sum`` and
    ``openssl dgst`` output). Hex and multibase cannot be confused: ``z`` and ``u`` are
    not hex digits. A refusal names ``field`` (the request member) and both accepted
    forms: "sha256 must be 64 hex digits or a multibase (u/z) SHA-256 multihash".
    """
    wanted = hash_algorithm(algorithm) if algorithm is not None else None
    if not isinstance(text, str) or not text:
        raise InvalidDeposit(f"{field or 'a digest'} must be a non-empty string")
    if set(text) <= _HEX_DIGITS:
        if wanted is None:
            raise InvalidDeposit("a hex digest needs its hash algorithm")
        if len(text) != 2 * wanted.size:
            raise _malformed(wanted, field, f"{len(text)} hex digits")
        return DeclaredDigest(wanted.name, bytes.fromhex(text))
    try:
        raw = multibase_decode(text)
        declared = _parse_multihash(raw)
    except (ValueError, binascii.Error, UnsupportedHashAlgorithm) as exc:
        if wanted is not None:
            raise _malformed(wanted, field, f"neither: {exc}") from None
        if isinstance(exc, UnsupportedHashAlgorithm):
            raise
        raise InvalidDeposit(
            f"{field or 'the digest'} is not a multibase (u/z) multihash ({exc})"
        ) from None
    if wanted is not None and declared.algorithm != wanted.name:
        raise InvalidDeposit(
            f"the digest is a {declared.algorithm} multihash, but {wanted.name} was declared"
        )
    return declared


def _malformed(wanted: HashAlgorithm, field: str | None, got: str) -> InvalidDeposit:
    name = _DISPLAY.get(wanted.name, wanted.name)
    return InvalidDeposit(
        f"{field or 'a ' + wanted.name + ' digest'} must be {2 * wanted.size} hex digits "
        f"or a multibase (u/z) {name} multihash ({got})"
    )
