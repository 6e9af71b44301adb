"""Secret keys (node key, DID keys) stored encrypted at rest.

Encryption is AES-256-GCM (NIST SP 800-38D, "Recommendation for Block Cipher
Modes of Operation: Galois/Counter Mode"; as profiled in RFC 5116 §5.2
"AEAD_AES_256_GCM": 96-bit nonce, 128-bit tag) via ``cryptography``'s AESGCM.
The associated data binds the envelope version, the key name and the key kind,
so a file copied or renamed to another name, or relabelled as another kind,
fails to decrypt instead of handing out the wrong key.

Secret material never appears in ``repr``, in error messages or in logs.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub_kernel.errors import HubError

__all__ = [
    "MASTER_KEY_SIZE",
    "FileKeyStore",
    "InvalidKeyName",
    "InvalidMasterKey",
    "KeyDecryptionFailed",
    "KeyExists",
    "KeyNotFound",
    "KeyStore",
    "KeyStoreError",
    "MemoryKeyStore",
    "load_master_key",
    "validate_key_name",
]

MASTER_KEY_SIZE = 32
ENVELOPE_VERSION = 1
_NONCE_SIZE = 12
_FILE_SUFFIX = ".key.json"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_KIND_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")


class KeyStoreError(HubError):
    """Base class of every key store error."""

    code = "key_store_error"
    status_code = 500


class KeyNotFound(KeyStoreError):
    code = "key_not_found"
    status_code = 404


class KeyExists(KeyStoreError):
    """A ``put`` would overwrite a key and ``replace`` was not given."""

    code = "key_exists"
    status_code = 409


class InvalidKeyName(KeyStoreError):
    code = "invalid_key_name"
    status_code = 400


class KeyDecryptionFailed(KeyStoreError):
    """Wrong master key, or a stored key that was altered, moved or corrupted."""

    code = "key_decryption_failed"
    status_code = 500


class InvalidMasterKey(KeyStoreError):
    """The master key is missing or is not 32 bytes in an accepted encoding."""

    code = "invalid_master_key"
    status_code = 500


def validate_key_name(name: str) -> str:
    """``name`` if it matches ``^[a-z0-9][a-z0-9._-]{0,63}$``, else :class:`InvalidKeyName`."""
    # fullmatch, not match + "$": "$" would accept a trailing newline.
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidKeyName(f"invalid key name {name!r}")
    return name


def _validate_put(name: str, secret: bytes, kind: str) -> None:
    validate_key_name(name)
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind):
        raise ValueError(f"invalid key kind {kind!r}")
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise ValueError("a secret must be non-empty bytes")


@runtime_checkable
class KeyStore(Protocol):
    """Named secrets, each tagged with a ``kind`` such as ``secp256k1`` or ``ed25519``."""

    def put(self, name: str, secret: bytes, *, kind: str, replace: bool = False) -> None:
        """Store ``secret``; :class:`KeyExists` if ``name`` is taken and not ``replace``."""
        ...

    def get(self, name: str) -> bytes:
        """The secret stored as ``name``, or :class:`KeyNotFound`."""
        ...

    def exists(self, name: str) -> bool: ...

    def names(self) -> list[str]:
        """Every stored name, sorted."""
        ...

    def delete(self, name: str) -> None:
        """Remove ``name``, or :class:`KeyNotFound`."""
        ...


class MemoryKeyStore:
    """An ephemeral :class:`KeyStore` (tests, dev runs); nothing touches the disk."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, bytes]] = {}

    def put(self, name: str, secret: bytes, *, kind: str, replace: bool = False) -> None:
        _validate_put(name, secret, kind)
        if name in self._keys and not replace:
            raise KeyExists(f"key {name!r} already exists")
        self._keys[name] = (kind, bytes(secret))

    def get(self, name: str) -> bytes:
        validate_key_name(name)
        try:
            return self._keys[name][1]
        except KeyError:
            raise KeyNotFound(f"no key {name!r}") from None

    def exists(self, name: str) -> bool:
        return validate_key_name(name) in self._keys

    def names(self) -> list[str]:
        return sorted(self._keys)

    def delete(self, name: str) -> None:
        validate_key_name(name)
        if self._keys.pop(name, None) is None:
            raise KeyNotFound(f"no key {name!r}")

    def __repr__(self) -> str:
        return f"MemoryKeyStore(keys={len(self._keys)})"


def _aad(name: str, kind: str) -> bytes:
    # Names and kinds are validated to exclude NUL, so the encoding is unambiguous.
    return f"notary-hub-keystore\0v{ENVELOPE_VERSION}\0{name}\0{kind}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.b64decode(text, validate=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileKeyStore:
    """One JSON envelope per key in ``directory``, sealed with a 32-byte master key.

    The directory is kept at mode 0o700 and every file at 0o600. Writes are
    atomic (temporary file, fsync, then link or rename, then directory fsync),
    so a crash leaves either the old key or the new one, never a torn file.
    """

    def __init__(self, directory: Path, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_SIZE:
            raise InvalidMasterKey(f"the master key must be {MASTER_KEY_SIZE} bytes")
        self._dir = Path(directory)
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self._dir, 0o700)  # mkdir's mode is filtered by umask and ignored if it existed
        # Keep only the AEAD object: it does not expose the key in repr or attributes.
        self._aead = AESGCM(bytes(master_key))

    @property
    def directory(self) -> Path:
        return self._dir

    def _path(self, name: str) -> Path:
        return self._dir / (validate_key_name(name) + _FILE_SUFFIX)

    def put(self, name: str, secret: bytes, *, kind: str, replace: bool = False) -> None:
        _validate_put(name, secret, kind)
        path = self._path(name)
        nonce = secrets.token_bytes(_NONCE_SIZE)
        envelope = {
            "version": ENVELOPE_VERSION,
            "kind": kind,
            "alg": "A256GCM",
            "nonce": _b64(nonce),
            "ciphertext": _b64(self._aead.encrypt(nonce, bytes(secret), _aad(name, kind))),
        }
        data = json.dumps(envelope, separators=(",", ":")).encode()
        # A leading dot keeps temporary files out of names(): valid names never start with one.
        tmp = self._dir / f".{name}.{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            if replace:
                os.replace(tmp, path)
            else:
                # link() fails if the target exists, so two racing puts cannot both win.
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    raise KeyExists(f"key {name!r} already exists") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(self._dir)

    def get(self, name: str) -> bytes:
        path = self._path(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise KeyNotFound(f"no key {name!r}") from None
        try:
            envelope = json.loads(raw)
            if not isinstance(envelope, dict) or envelope.get("version") != ENVELOPE_VERSION:
                raise ValueError("unknown envelope version")
            kind = envelope["kind"]
            if not isinstance(kind, str):
                raise ValueError("kind is not a string")
            nonce = _unb64(envelope["nonce"])
            ciphertext = _unb64(envelope["ciphertext"])
            if len(nonce) != _NONCE_SIZE:
                raise ValueError("bad nonce length")
        except (ValueError, KeyError, binascii.Error) as exc:
            raise KeyDecryptionFailed(f"key {name!r}: malformed envelope ({exc})") from None
        try:
            return self._aead.decrypt(nonce, ciphertext, _aad(name, kind))
        except InvalidTag:
            raise KeyDecryptionFailed(
                f"key {name!r}: wrong master key, or the file was altered or moved"
            ) from None

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def names(self) -> list[str]:
        found = []
        for entry in self._dir.iterdir():
            stem = entry.name.removesuffix(_FILE_SUFFIX)
            if stem != entry.name and _NAME_RE.fullmatch(stem) and entry.is_file():
                found.append(stem)
        return sorted(found)

    def delete(self, name: str) -> None:
        try:
            os.unlink(self._path(name))
        except FileNotFoundError:
            raise KeyNotFound(f"no key {name!r}") from None
        _fsync_dir(self._dir)

    def __repr__(self) -> str:
        return f"FileKeyStore(directory={str(self._dir)!r})"


def _decode_master_key(text: str) -> bytes:
    """32 bytes from 64 hex digits or base64 / base64url (padding optional)."""
    text = text.strip()
    if len(text) == 2 * MASTER_KEY_SIZE and all(c in "0123456789abcdefABCDEF" for c in text):
        return bytes.fromhex(text)
    try:
        std = text.replace("-", "+").replace("_", "/")
        key = base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMasterKey("the master key is neither hex nor base64") from None
    if len(key) != MASTER_KEY_SIZE:
        raise InvalidMasterKey(
            f"the master key decodes to {len(key)} bytes, {MASTER_KEY_SIZE} are needed"
        )
    return key


def _create_master_key_file(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(MASTER_KEY_SIZE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


def load_master_key(value: str | None, path: Path | None, *, create: bool) -> bytes:
    """The 32-byte master key, from ``value`` if given, else from the file at ``path``.

    ``value`` (typically an environment variable) is hex or base64url. The file
    holds either the raw 32 bytes or that text. With ``create`` (dev mode) a
    missing file is made, mode 0o600, with fresh random bytes. Errors are
    :class:`InvalidMasterKey` and never quote the key.
    """
    if value:
        return _decode_master_key(value)
    if path is None:
        raise InvalidMasterKey("no master key given (neither a value nor a file)")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise InvalidMasterKey(f"no master key file at {path}") from None
        try:
            return _create_master_key_file(path)
        except FileExistsError:  # created concurrently: use that one
            raw = path.read_bytes()
    if len(raw) == MASTER_KEY_SIZE:
        return raw
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidMasterKey(
            f"the master key file {path} holds {len(raw)} bytes, {MASTER_KEY_SIZE} are needed"
        ) from None
    return _decode_master_key(text)
