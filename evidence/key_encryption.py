"""Key-encryption keys: what wraps each blob's random data key (envelope encryption).

The envelope pattern is the one of NIST SP 800-57 Part 1 Rev. 5 §5.3.2 / §6.1 (a
key-wrapping key protecting data keys) and of cloud KMS "envelope encryption": every
object gets its own data key, and only the wrapped form is stored next to it. A KMS can
implement :class:`KeyEncryptionKey` later; :class:`LocalKeyEncryptionKey` wraps with a
key derived from the hub's 32-byte master key.

Wrapping is AES-256-GCM (NIST SP 800-38D; RFC 5116 §5.2 AEAD_AES_256_GCM) rather than
AES Key Wrap (RFC 3394 / SP 800-38F): both are NIST-approved for wrapping, but GCM takes
associated data, so the wrapped key is bound to the blob header it sits in (format
version, chunk size, nonce prefix, key id) and cannot be lifted into another header,
which RFC 3394 cannot express. Each wrap draws a fresh random 96-bit nonce; SP 800-38D
§8.3 allows 2**32 such invocations per key, far beyond one wrap per stored blob.

The wrapping key is HKDF-SHA256 (RFC 5869) of the master key with its own ``info``, so
the master key that also seals the key store (``hub_kernel.keystore``) is never used
directly for two purposes. The ``key_id`` is a public fingerprint from a second HKDF
output: it tells "wrong master key" apart from "tampered blob" without revealing the key.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from evidence.errors import BlobCorrupt
from hub_kernel.keystore import MASTER_KEY_SIZE, InvalidMasterKey, load_master_key

__all__ = ["DATA_KEY_SIZE", "KeyEncryptionKey", "LocalKeyEncryptionKey"]

DATA_KEY_SIZE = 32
_NONCE_SIZE = 12
_TAG_SIZE = 16
_WRAPPED_SIZE = _NONCE_SIZE + DATA_KEY_SIZE + _TAG_SIZE
_KEK_INFO = b"notary-hub/evidence/key-encryption-key/v1"
_KEY_ID_INFO = b"notary-hub/evidence/key-encryption-key-id/v1"
_WRAP_AAD = b"notary-hub/evidence/data-key/v1\0"


@runtime_checkable
class KeyEncryptionKey(Protocol):
    """Wraps and unwraps 32-byte data keys, bound to a caller-given ``context``.

    ``key_id`` is printable ASCII (at most 255 characters) naming the key; it is stored
    in every blob header. ``unwrap`` raises :class:`~evidence.errors.BlobCorrupt` when the
    wrapped key does not authenticate under ``context`` (wrong key, altered header), and
    a remote implementation raises :class:`~evidence.errors.BlobStoreUnavailable` when it
    cannot be reached.
    """

    key_id: str

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes: ...


def _hkdf(master_key: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(master_key)


class LocalKeyEncryptionKey:
    """A :class:`KeyEncryptionKey` derived from the hub's 32-byte master key."""

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes | bytearray) or len(master_key) != MASTER_KEY_SIZE:
            raise InvalidMasterKey(f"the master key must be {MASTER_KEY_SIZE} bytes")
        master = bytes(master_key)
        # Keep only the AEAD object and the public id: neither exposes the key.
        self._aead = AESGCM(_hkdf(master, _KEK_INFO, 32))
        self.key_id = "local:" + _hkdf(master, _KEY_ID_INFO, 8).hex()

    @classmethod
    def load(cls, value: str | None, path: Path | None, *, create: bool) -> LocalKeyEncryptionKey:
        """From the master key setting: ``value`` (hex/base64url) or the file at ``path``.

        The same rules as the key store (:func:`hub_kernel.keystore.load_master_key`);
        errors are :class:`~hub_kernel.keystore.InvalidMasterKey`.
        """
        return cls(load_master_key(value, path, create=create))

    def wrap(self, data_key: bytes, *, context: bytes) -> bytes:
        if len(data_key) != DATA_KEY_SIZE:
            raise ValueError(f"a data key is {DATA_KEY_SIZE} bytes")
        nonce = secrets.token_bytes(_NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, bytes(data_key), _WRAP_AAD + context)

    def unwrap(self, wrapped: bytes, *, context: bytes) -> bytes:
        if len(wrapped) != _WRAPPED_SIZE:
            raise BlobCorrupt(f"a wrapped data key is {_WRAPPED_SIZE} bytes, not {len(wrapped)}")
        try:
            return self._aead.decrypt(
                wrapped[:_NONCE_SIZE], wrapped[_NONCE_SIZE:], _WRAP_AAD + context
            )
        except InvalidTag:
            raise BlobCorrupt(
                "the blob's data key does not unwrap: wrong master key or an altered header"
            ) from None

    def __repr__(self) -> str:
        return f"LocalKeyEncryptionKey(key_id={self.key_id!r})"
