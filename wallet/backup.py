"""A whole wallet in one file, sealed under the wallet's passphrase.

The file is JSON: the wallet's header (:mod:`wallet.header`: KDF parameters and the
sealed master key, so the backup opens with the same passphrase), the time it was
made, and every record of the vault sealed as one AES-256-GCM ciphertext under a key
HKDF-derived for backups. The associated data binds the format, the header and the
time, so the archive is integrity-checked as a whole: any altered byte of the payload
is :class:`CorruptWallet`. (A header edited so that it no longer opens reads as a wrong
passphrase: the two cannot be told apart without the passphrase.)
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wallet.errors import CorruptWallet
from wallet.files import write_atomic
from wallet.header import NONCE_SIZE, WalletHeader, b64, parse_json, unb64
from wallet.vault import Vault, derive_subkey

__all__ = ["BACKUP_FORMAT", "Backup", "read_backup", "write_backup"]

BACKUP_FORMAT = "notary-hub-wallet-backup"
BACKUP_VERSION = 1
MAX_BACKUP = 256 * 1024 * 1024
REQUIRED_RECORDS = ("seed", "keys", "dids", "config")


@dataclass(frozen=True)
class Backup:
    header: WalletHeader
    master_key: bytes
    records: dict[str, Any]


def write_backup(vault: Vault, target: Path) -> None:
    """Write the whole of ``vault`` to ``target`` (0600); an existing file is refused
    (:class:`FileExistsError`), never overwritten."""
    created = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    payload = json.dumps({"records": vault.read_all()}, separators=(",", ":")).encode()
    nonce = secrets.token_bytes(NONCE_SIZE)
    header = vault.header.to_json()
    sealed = AESGCM(vault.subkey("backup")).encrypt(nonce, payload, _aad(header, created))
    document = {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "created": created,
        "header": header,
        "nonce": b64(nonce),
        "ciphertext": b64(sealed),
    }
    write_atomic(target, json.dumps(document, indent=1).encode() + b"\n", replace=False)


def read_backup(archive: Path, passphrase: str) -> Backup:
    """Open ``archive``: :class:`WrongPassphrase`, or :class:`CorruptWallet` naming it."""
    where = f"backup {archive.name}"
    if archive.stat().st_size > MAX_BACKUP:
        raise CorruptWallet(f"{where} is larger than {MAX_BACKUP} bytes")
    document = parse_json(archive.read_bytes(), where, limit=MAX_BACKUP)
    if not isinstance(document, dict) or document.get("format") != BACKUP_FORMAT:
        raise CorruptWallet(f"{where} is not a Notary Hub wallet backup")
    if document.get("version") != BACKUP_VERSION:
        raise CorruptWallet(f"{where}: unsupported backup version {document.get('version')!r}")
    header_json, created = document.get("header"), document.get("created")
    if not isinstance(header_json, dict) or not isinstance(created, str):
        raise CorruptWallet(f"{where} lacks its header or creation time")
    header = WalletHeader.from_json(header_json, where)
    nonce = unb64(document.get("nonce"), where)
    sealed = unb64(document.get("ciphertext"), where)
    if len(nonce) != NONCE_SIZE:
        raise CorruptWallet(f"{where}: the nonce has the wrong length")
    master_key = header.unseal(passphrase)
    aead = AESGCM(derive_subkey(master_key, "backup"))
    try:
        payload = aead.decrypt(nonce, sealed, _aad(header_json, created))
    except InvalidTag:
        raise CorruptWallet(f"{where} fails authentication: altered or truncated") from None
    records = parse_json(payload, where, limit=MAX_BACKUP).get("records")
    if not isinstance(records, dict) or any(name not in records for name in REQUIRED_RECORDS):
        raise CorruptWallet(f"{where} does not hold a whole wallet")
    return Backup(header, master_key, records)


def _aad(header: dict[str, Any], created: str) -> bytes:
    bound = json.dumps({"created": created, "header": header}, sort_keys=True)
    return f"{BACKUP_FORMAT}/{BACKUP_VERSION}\n{bound}".encode()
