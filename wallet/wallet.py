"""The holder's wallet: keys from one recovery phrase, DIDs, credentials and settings,
all sealed in one directory (:mod:`wallet.vault`) under the holder's passphrase.

Issue 12 item 2 ("Keystore"). The records of the vault: ``seed`` (the BIP-39 phrase,
:mod:`wallet.recovery`), ``keys`` (kind, index and private key of each derived key),
``dids`` (:class:`DidRecord`), ``config`` (:class:`WalletConfig`) and one
``credential/<id>`` per credential (:mod:`wallet.credential_store`). A :class:`Wallet`
holds the directory's process lock (:mod:`wallet.lock`) from open to close.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast

from eth_account import Account

from wallet.backup import read_backup, write_backup
from wallet.credential_store import CredentialStore
from wallet.errors import (
    DidExists,
    UnknownDid,
    UnknownKey,
    WalletError,
    WalletExists,
    WeakPassphrase,
    WrongKeyKind,
)
from wallet.files import is_empty_dir, make_private_dir
from wallet.header import WalletHeader
from wallet.kdf import DEFAULT_KDF, KEY_SIZE, KdfParams
from wallet.keys import KeyKind, WalletKey, key_name
from wallet.lock import LOCK_NAME, WalletLock
from wallet.recovery import MAX_INDEX, check_phrase, derive_secret, new_phrase
from wallet.vault import HEADER_NAME, Vault, read_header

__all__ = ["DidRecord", "Wallet", "WalletConfig"]

KINDS: tuple[KeyKind, ...] = ("secp256k1", "ed25519")


@dataclass(frozen=True)
class WalletConfig:
    hub_url: str | None = None
    rpc_url: str | None = None
    api_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DidRecord:
    did: str
    method: Literal["ethr", "key"]
    controller_key: str
    signing_keys: tuple[str, ...] = ()
    verification_methods: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "method": self.method,
            "controller_key": self.controller_key,
            "signing_keys": list(self.signing_keys),
            "verification_methods": dict(self.verification_methods),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> DidRecord:
        return cls(
            did=value["did"],
            method=value["method"],
            controller_key=value["controller_key"],
            signing_keys=tuple(value["signing_keys"]),
            verification_methods=dict(value["verification_methods"]),
        )


class Wallet:
    """An open wallet; use it as a context manager so the lock is released."""

    def __init__(self, vault: Vault, lock: WalletLock) -> None:
        self._vault = vault
        self._lock = lock
        self._credentials = CredentialStore(vault)

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        directory: Path,
        passphrase: str,
        *,
        config: WalletConfig | None = None,
        kdf: KdfParams = DEFAULT_KDF,
    ) -> tuple[Wallet, str]:
        """A new wallet in ``directory`` (missing or empty) and its recovery phrase,
        which the caller shows once: the wallet never gives it out again."""
        phrase = new_phrase()
        return cls._initialize(directory, phrase, passphrase, config, kdf), phrase

    @classmethod
    def restore(
        cls,
        directory: Path,
        phrase: str,
        passphrase: str,
        *,
        config: WalletConfig | None = None,
        kdf: KdfParams = DEFAULT_KDF,
    ) -> Wallet:
        """The wallet of ``phrase`` in a fresh ``directory``, with ``secp256k1-0`` and
        ``ed25519-0`` derived again; :class:`BadRecoveryPhrase` for an invalid phrase."""
        return cls._initialize(directory, check_phrase(phrase), passphrase, config, kdf)

    @classmethod
    def open(cls, directory: Path, passphrase: str) -> Wallet:
        read_header(directory)  # NoWallet before anything is created
        lock = WalletLock.acquire(directory)
        try:
            return cls(Vault.open(directory, passphrase), lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def restore_backup(cls, archive: Path, directory: Path, passphrase: str) -> Wallet:
        """The wallet in ``archive`` (:meth:`backup`) written to a fresh ``directory``."""
        _refuse_existing(directory)
        backup = read_backup(archive, passphrase)
        # A fresh master key (and salt): the copy shares no key with the original, so
        # files cannot be moved between the two.
        master_key = secrets.token_bytes(KEY_SIZE)
        header = WalletHeader.seal(passphrase, master_key, backup.header.kdf)
        return cls._install(directory, header, master_key, backup.records)

    @classmethod
    def _initialize(
        cls,
        directory: Path,
        phrase: str,
        passphrase: str,
        config: WalletConfig | None,
        kdf: KdfParams,
    ) -> Wallet:
        if not passphrase:
            raise WeakPassphrase("the passphrase is empty")
        _refuse_existing(directory)
        master_key = secrets.token_bytes(KEY_SIZE)
        header = WalletHeader.seal(passphrase, master_key, kdf)
        records = {
            "seed": {"phrase": phrase},
            "keys": [_key_record(phrase, kind, 0) for kind in KINDS],
            "dids": [],
            "config": _config_json(config or WalletConfig()),
        }
        return cls._install(directory, header, master_key, records)

    @classmethod
    def _install(
        cls, directory: Path, header: WalletHeader, master_key: bytes, records: dict[str, Any]
    ) -> Wallet:
        make_private_dir(directory)
        lock = WalletLock.acquire(directory)
        try:
            _refuse_existing(directory)  # again, now that no other process can race us
        except BaseException:
            lock.release()
            raise
        try:
            return cls(Vault.initialize(directory, header, master_key, records), lock)
        except BaseException:
            _discard_partial(directory)
            lock.release()
            raise

    def close(self) -> None:
        self._lock.release()

    def __enter__(self) -> Wallet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def change_passphrase(self, new_passphrase: str, *, kdf: KdfParams | None = None) -> None:
        """Re-seal the wallet under ``new_passphrase`` and, if given, new KDF parameters
        (how a wallet made under older defaults is raised to today's)."""
        self.vault.reseal(new_passphrase, kdf or self.vault.header.kdf)

    @property
    def directory(self) -> Path:
        return self._vault.directory

    @property
    def vault(self) -> Vault:
        if not self._lock.held:
            raise WalletError("the wallet is closed")
        return self._vault

    # -- settings ------------------------------------------------------------------------

    @property
    def config(self) -> WalletConfig:
        return WalletConfig(**self.vault.read("config"))

    def set_config(self, config: WalletConfig) -> None:
        self.vault.commit({"config": _config_json(config)})

    # -- keys ----------------------------------------------------------------------------

    def keys(self) -> list[WalletKey]:
        return [_key_of(record) for record in self.vault.read("keys")]

    def key(self, name: str) -> WalletKey:
        for key in self.keys():
            if key.name == name:
                return key
        raise UnknownKey(f"no key {name!r} in the wallet")

    def derive_key(self, kind: KeyKind, index: int | None = None) -> WalletKey:
        """The key of ``kind`` at ``index`` (the next unused one when ``None``), stored."""
        if kind not in KINDS:
            raise WalletError(f"a key kind is one of {', '.join(KINDS)}, not {kind!r}")
        records: list[dict[str, Any]] = self.vault.read("keys")
        used = [record["index"] for record in records if record["kind"] == kind]
        if index is None:
            index = max(used, default=-1) + 1
        if type(index) is not int or not 0 <= index <= MAX_INDEX:
            raise WalletError(f"a derivation index is an integer in 0..{MAX_INDEX}")
        if index in used:
            return self.key(key_name(kind, index))
        record = _key_record(self.vault.read("seed")["phrase"], kind, index)
        self.vault.commit({"keys": [*records, record]})
        return _key_of(record)

    def export_keystore_v3(
        self, name: str, password: str, *, iterations: int | None = None
    ) -> dict[str, Any]:
        """An Ethereum keystore v3 of a secp256k1 key, as geth and MetaMask import it (Web3
        Secret Storage, https://ethereum.org/developers/docs/data-structures-and-encoding/web3-secret-storage/:
        scrypt, AES-128-CTR, Keccak MAC); ``iterations`` is scrypt's n (default 2**18)."""
        key = self.key(name)
        if key.kind != "secp256k1":
            raise WrongKeyKind(f"{name} is not a secp256k1 key; keystore v3 holds Ethereum keys")
        if not password:
            raise WeakPassphrase("the keystore password is empty")
        return dict(Account.encrypt(key.secret_bytes(), password, iterations=iterations))

    # -- DIDs ----------------------------------------------------------------------------

    def dids(self) -> list[DidRecord]:
        return [DidRecord.from_json(value) for value in self.vault.read("dids")]

    def did(self, did: str | None = None) -> DidRecord:
        """The DID ``did``, or the wallet's default (first) DID when ``None``."""
        records = self.dids()
        for record in records:
            if did is None or record.did == did:
                return record
        if did is None:
            raise UnknownDid("the wallet has no DID yet")
        raise UnknownDid(f"no DID {did} in the wallet")

    def add_did(self, record: DidRecord) -> None:
        self._check_keys(record)
        records = self.dids()
        if any(existing.did == record.did for existing in records):
            raise DidExists(f"{record.did} is already in the wallet")
        self.vault.commit({"dids": [value.to_json() for value in [*records, record]]})

    def update_did(self, record: DidRecord) -> None:
        self._check_keys(record)
        records = self.dids()
        if not any(existing.did == record.did for existing in records):
            raise UnknownDid(f"no DID {record.did} in the wallet")
        updated = [record if existing.did == record.did else existing for existing in records]
        self.vault.commit({"dids": [value.to_json() for value in updated]})

    def _check_keys(self, record: DidRecord) -> None:
        if record.method not in ("ethr", "key"):
            raise WalletError(f"a DID method is ethr or key, not {record.method!r}")
        names = {key.name for key in self.keys()}
        wanted = {record.controller_key, *record.signing_keys, *record.verification_methods}
        missing = sorted(wanted - names)
        if missing:
            raise UnknownKey(f"{record.did} names keys the wallet does not hold: {missing}")

    # -- credentials and backups --------------------------------------------------------

    @property
    def credentials(self) -> CredentialStore:
        self.vault  # noqa: B018 - refuses a closed wallet
        return self._credentials

    def backup(self, target: Path) -> None:
        """Write the whole wallet, sealed under its passphrase, to the new file ``target``."""
        write_backup(self.vault, target)


def _refuse_existing(directory: Path) -> None:
    if (directory / HEADER_NAME).exists():
        raise WalletExists(f"there is already a wallet in {directory}")
    if not directory.exists():
        return
    if not directory.is_dir() or not is_empty_dir(directory):
        raise WalletExists(f"{directory} is not an empty directory")


def _discard_partial(directory: Path) -> None:
    """Remove what a failed creation wrote (the directory was empty under our lock), so
    the holder can simply try again."""
    for path in directory.iterdir():
        if path.name != LOCK_NAME:
            path.unlink(missing_ok=True)


def _key_record(phrase: str, kind: KeyKind, index: int) -> dict[str, Any]:
    return {"kind": kind, "index": index, "secret": derive_secret(phrase, kind, index).hex()}


def _key_of(record: dict[str, Any]) -> WalletKey:
    kind = cast(KeyKind, record["kind"])
    return WalletKey.from_secret(kind, record["index"], bytes.fromhex(record["secret"]))


def _config_json(config: WalletConfig) -> dict[str, Any]:
    return {"hub_url": config.hub_url, "rpc_url": config.rpc_url, "api_token": config.api_token}
