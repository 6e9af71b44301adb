"""The wallet's plaintext header: KDF parameters, salt and the master key sealed under them.

The passphrase never encrypts data directly: Argon2id (:mod:`wallet.kdf`) turns it into
a key-encryption key that seals a random 32-byte master key with AES-256-GCM (NIST SP
800-38D). Opening that seal is the "encrypted check value": a wrong passphrase fails its
tag and is reported as :class:`WrongPassphrase` before any data file is touched. The
associated data binds the format version and the KDF parameters, so a header edited to
cheaper parameters cannot open either. The same header heads a backup file.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub_kernel.json_guard import too_deep
from wallet.errors import CorruptWallet, WrongPassphrase
from wallet.kdf import KEY_SIZE, SALT_SIZE, KdfParams

__all__ = ["FORMAT", "NONCE_SIZE", "VERSION", "WalletHeader", "b64", "unb64"]

FORMAT = "notary-hub-wallet"
VERSION = 1
NONCE_SIZE = 12  # RFC 5116 §5.2 AEAD_AES_256_GCM
_MAX_HEADER = 4096


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise CorruptWallet(f"{where}: a binary field is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CorruptWallet(f"{where}: a binary field is not base64") from None


@dataclass(frozen=True)
class WalletHeader:
    kdf: KdfParams
    salt: bytes
    nonce: bytes
    sealed_key: bytes  # AES-256-GCM of the master key, tag included

    @classmethod
    def seal(cls, passphrase: str, master_key: bytes, kdf: KdfParams) -> WalletHeader:
        salt = secrets.token_bytes(SALT_SIZE)
        nonce = secrets.token_bytes(NONCE_SIZE)
        kek = kdf.derive(passphrase, salt)
        sealed = AESGCM(kek).encrypt(nonce, master_key, _aad(kdf, salt))
        return cls(kdf, salt, nonce, sealed)

    def unseal(self, passphrase: str) -> bytes:
        """The master key; :class:`WrongPassphrase` if the passphrase does not open it."""
        kek = self.kdf.derive(passphrase, self.salt)
        try:
            master_key = AESGCM(kek).decrypt(self.nonce, self.sealed_key, _aad(self.kdf, self.salt))
        except InvalidTag:
            raise WrongPassphrase("wrong passphrase for this wallet") from None
        if len(master_key) != KEY_SIZE:
            raise CorruptWallet("the sealed master key has the wrong length")
        return master_key

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "kdf": self.kdf.to_json(),
            "salt": b64(self.salt),
            "nonce": b64(self.nonce),
            "sealed_key": b64(self.sealed_key),
        }

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, value: object, where: str) -> WalletHeader:
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            raise CorruptWallet(f"{where} is not a Notary Hub wallet header")
        if value.get("version") != VERSION:
            raise CorruptWallet(f"{where}: unsupported wallet version {value.get('version')!r}")
        kdf = KdfParams.from_json(value.get("kdf"), where)
        salt = unb64(value.get("salt"), where)
        nonce = unb64(value.get("nonce"), where)
        sealed = unb64(value.get("sealed_key"), where)
        if len(salt) != SALT_SIZE or len(nonce) != NONCE_SIZE or len(sealed) != KEY_SIZE + 16:
            raise CorruptWallet(f"{where}: a header field has the wrong length")
        return cls(kdf, salt, nonce, sealed)

    @classmethod
    def from_bytes(cls, data: bytes, where: str) -> WalletHeader:
        return cls.from_json(parse_json(data, where, limit=_MAX_HEADER), where)


def parse_json(data: bytes, where: str, *, limit: int) -> Any:
    """Untrusted JSON from disk, bounded in size and depth; :class:`CorruptWallet` otherwise."""
    if len(data) > limit:
        raise CorruptWallet(f"{where} is larger than {limit} bytes")
    try:
        text = data.decode()
        if too_deep(text):
            raise CorruptWallet(f"{where} nests too deeply")
        return json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise CorruptWallet(f"{where} is not valid JSON (truncated or garbled)") from None


def _aad(kdf: KdfParams, salt: bytes) -> bytes:
    bound = json.dumps({"kdf": kdf.to_json(), "salt": b64(salt)}, sort_keys=True)
    return f"{FORMAT}/{VERSION}/master-key\n{bound}".encode()
