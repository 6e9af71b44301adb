"""The wallet's encrypted file store: named JSON records, each in its own sealed file.

Layout of a wallet directory (0700; every file 0600):

- ``wallet.json``: the plaintext header (:mod:`wallet.header`): KDF parameters and the
  sealed master key. Nothing else is in clear.
- ``manifest.nhw``: the sealed index, ``{generation, records: {name: {file, sha256}}}``.
- ``<random>.nhw``: one sealed record per logical name (``keys``, ``dids``,
  ``credential/<id>``...). File names are random, so they leak no credential id or DID.
- ``.lock``: the process lock (:mod:`wallet.lock`).

Sealing is AES-256-GCM (NIST SP 800-38D; RFC 5116 §5.2: 96-bit random nonce, 128-bit
tag) under a key HKDF-derived (RFC 5869) from the master key. Each file's associated
data binds its role, its logical name and its file name, so a file moved, swapped or
renamed fails to open. The manifest records each file's SHA-256; :meth:`Vault.open`
checks them all, so one file replaced by an older copy of itself is refused too. What
no offline check can see is the whole directory rolled back to an older consistent
state, or the manifest alone rolled back over a change that only added records (that
state is also what a crash mid-commit leaves).

A commit writes new record files under fresh names, then replaces the manifest (the
single atomic commit point), then deletes the files it superseded; a crash leaves
either the old wallet or the new one plus unreferenced files the next commit removes.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wallet.errors import CorruptWallet, NoWallet
from wallet.files import fsync_dir, write_atomic
from wallet.header import FORMAT, NONCE_SIZE, VERSION, WalletHeader, parse_json
from wallet.kdf import KEY_SIZE, KdfParams

__all__ = ["HEADER_NAME", "MANIFEST_NAME", "RECORD_SUFFIX", "Vault", "derive_subkey", "read_header"]

HEADER_NAME = "wallet.json"
MANIFEST_NAME = "manifest.nhw"
RECORD_SUFFIX = ".nhw"
MAGIC = b"NHW1"
MAX_FILE = 16 * 1024 * 1024
_TAG_SIZE = 16


@dataclass(frozen=True)
class _Entry:
    file: str
    sha256: str


class Vault:
    """An unlocked wallet directory. The caller holds the directory's lock."""

    def __init__(self, directory: Path, header: WalletHeader, master_key: bytes) -> None:
        self.directory = directory
        self.header = header
        self._master_key = master_key
        self._aead = AESGCM(self.subkey("records"))
        self._generation = 0
        self._entries: dict[str, _Entry] = {}
        self._cache: dict[str, Any] = {}
        self._orphans: set[str] = set()

    @classmethod
    def initialize(
        cls, directory: Path, header: WalletHeader, master_key: bytes, records: Mapping[str, Any]
    ) -> Vault:
        """Write a new wallet into the empty, locked ``directory``; the header goes last,
        so a directory without one never passes for a wallet."""
        vault = cls(directory, header, master_key)
        vault.commit(records)
        write_atomic(directory / HEADER_NAME, header.to_bytes())
        return vault

    @classmethod
    def open(cls, directory: Path, passphrase: str) -> Vault:
        """Unseal the wallet in ``directory`` and check every file against the manifest."""
        header = read_header(directory)
        vault = cls(directory, header, header.unseal(passphrase))
        vault._load_manifest()
        vault._check_files()
        return vault

    def reseal(self, passphrase: str, kdf: KdfParams) -> None:
        """Seal the same master key under a new passphrase or KDF parameters: only the
        header changes (one atomic write); every record stays as it is."""
        header = WalletHeader.seal(passphrase, self._master_key, kdf)
        write_atomic(self.directory / HEADER_NAME, header.to_bytes())
        self.header = header

    def subkey(self, purpose: str) -> bytes:
        return derive_subkey(self._master_key, purpose)

    @property
    def generation(self) -> int:
        return self._generation

    def names(self, prefix: str = "") -> list[str]:
        return sorted(name for name in self._entries if name.startswith(prefix))

    def file_of(self, name: str) -> str:
        """The file holding record ``name`` (diagnostics; the name itself is random)."""
        return self._entries[name].file

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def read(self, name: str) -> Any:
        """The record ``name`` (a fresh copy); :class:`KeyError` if there is none."""
        if name not in self._cache:
            entry = self._entries[name]
            data = self._read_file(entry.file)
            self._check_digest(entry, data, name)
            plain = self._open_sealed(data, _record_aad(name, entry.file), f"{entry.file} ({name})")
            self._cache[name] = parse_json(plain, entry.file, limit=MAX_FILE)
        return copy.deepcopy(self._cache[name])

    def read_all(self) -> dict[str, Any]:
        return {name: self.read(name) for name in self.names()}

    def commit(self, changes: Mapping[str, Any]) -> None:
        """Write every record in ``changes`` (``None`` deletes one) as one atomic step."""
        entries = dict(self._entries)
        written: list[str] = []
        superseded: list[str] = []
        try:
            for name, value in changes.items():
                old = entries.pop(name, None)
                if old is not None:
                    superseded.append(old.file)
                if value is not None:
                    entries[name] = self._write_record(name, value)
                    written.append(entries[name].file)
            fsync_dir(self.directory)  # the records are durable before the manifest names them
            self._write_manifest(self._generation + 1, entries)
        except BaseException:
            for file in written:
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / file).unlink()
            raise
        # Past the rename the new manifest is the wallet: nothing it names is undone.
        fsync_dir(self.directory)
        self._generation += 1
        self._entries = entries
        for name, value in changes.items():
            self._cache.pop(name, None)
            if value is not None:
                self._cache[name] = copy.deepcopy(value)
        self._remove(superseded + sorted(self._orphans))
        self._orphans.clear()

    def _write_record(self, name: str, value: Any) -> _Entry:
        file = secrets.token_hex(16) + RECORD_SUFFIX
        plain = json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
        data = self._seal(plain, _record_aad(name, file))
        write_atomic(self.directory / file, data, replace=False, sync_dir=False)
        return _Entry(file, hashlib.sha256(data).hexdigest())

    def _write_manifest(self, generation: int, entries: Mapping[str, _Entry]) -> None:
        body = {
            "generation": generation,
            "records": {
                name: {"file": entry.file, "sha256": entry.sha256}
                for name, entry in sorted(entries.items())
            },
        }
        plain = json.dumps(body, separators=(",", ":")).encode()
        data = self._seal(plain, _manifest_aad())
        write_atomic(self.directory / MANIFEST_NAME, data, sync_dir=False)

    def _load_manifest(self) -> None:
        data = self._read_file(MANIFEST_NAME)
        plain = self._open_sealed(data, _manifest_aad(), MANIFEST_NAME)
        body = parse_json(plain, MANIFEST_NAME, limit=MAX_FILE)
        try:
            generation = body["generation"]
            records = body["records"]
            entries = {
                name: _Entry(str(entry["file"]), str(entry["sha256"]))
                for name, entry in records.items()
            }
        except (KeyError, TypeError, AttributeError):
            raise CorruptWallet(f"{MANIFEST_NAME} does not have the manifest's shape") from None
        if type(generation) is not int:
            raise CorruptWallet(f"{MANIFEST_NAME} has no generation counter")
        self._generation = generation
        self._entries = entries

    def _check_files(self) -> None:
        for name, entry in self._entries.items():
            self._check_digest(entry, self._read_file(entry.file), name)
        referenced = {entry.file for entry in self._entries.values()}
        self._orphans = {
            path.name
            for path in self.directory.glob(f"*{RECORD_SUFFIX}")
            if path.name != MANIFEST_NAME and path.name not in referenced
        }

    def _check_digest(self, entry: _Entry, data: bytes, name: str) -> None:
        digest = hashlib.sha256(data).hexdigest()
        if not hmac.compare_digest(digest, entry.sha256):
            raise CorruptWallet(
                f"wallet file {entry.file} ({name}) does not match the manifest:"
                " altered, truncated, swapped or rolled back"
            )

    def _read_file(self, file: str) -> bytes:
        path = self.directory / file
        try:
            if path.stat().st_size > MAX_FILE:
                raise CorruptWallet(f"wallet file {file} is larger than {MAX_FILE} bytes")
            return path.read_bytes()
        except FileNotFoundError:
            raise CorruptWallet(f"wallet file {file} is missing") from None

    def _seal(self, plain: bytes, aad: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_SIZE)
        return MAGIC + nonce + self._aead.encrypt(nonce, plain, aad)

    def _open_sealed(self, data: bytes, aad: bytes, where: str) -> bytes:
        if len(data) < len(MAGIC) + NONCE_SIZE + _TAG_SIZE or not data.startswith(MAGIC):
            raise CorruptWallet(f"wallet file {where} is truncated or not a wallet file")
        nonce = data[len(MAGIC) : len(MAGIC) + NONCE_SIZE]
        try:
            return self._aead.decrypt(nonce, data[len(MAGIC) + NONCE_SIZE :], aad)
        except InvalidTag:
            raise CorruptWallet(
                f"wallet file {where} fails authentication: altered, truncated or swapped"
            ) from None

    def _remove(self, files: list[str]) -> None:
        for file in files:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / file).unlink()
        if files:
            fsync_dir(self.directory)


def derive_subkey(master_key: bytes, purpose: str) -> bytes:
    """A key for one purpose, derived from the master key (HKDF-SHA256, RFC 5869)."""
    info = f"{FORMAT}/{VERSION}/{purpose}".encode()
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info)
    return hkdf.derive(master_key)


def read_header(directory: Path) -> WalletHeader:
    """The header of the wallet in ``directory``; :class:`NoWallet` if there is none."""
    path = directory / HEADER_NAME
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise NoWallet(f"no wallet in {directory}") from None
    return WalletHeader.from_bytes(data, HEADER_NAME)


def _record_aad(name: str, file: str) -> bytes:
    return f"{FORMAT}/{VERSION}/record\n{name}\n{file}".encode()


def _manifest_aad() -> bytes:
    return f"{FORMAT}/{VERSION}/manifest".encode()
