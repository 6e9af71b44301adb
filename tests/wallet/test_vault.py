"""The sealed wallet directory: round trip, nothing in clear, modes, and every refused
open or write leaving the directory byte for byte as it was."""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testkit.wallets import TEST_PASSPHRASE, directory_fingerprint, new_test_wallet
from wallet.errors import (
    CorruptWallet,
    CredentialRejected,
    NoWallet,
    UnknownCredential,
    UnknownKey,
    WalletError,
    WalletExists,
    WeakPassphrase,
    WrongPassphrase,
)
from wallet.files import write_atomic
from wallet.vault import HEADER_NAME, MANIFEST_NAME
from wallet.wallet import DidRecord, Wallet, WalletConfig

CREDENTIAL: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "id": "urn:uuid:6a1d2c9e-5f0b-4b7e-9a55-0c2f6d1e8b30",
    "type": ["VerifiableCredential", "CustodyLetter"],
    "issuer": "did:ethr:0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
    "validFrom": "2026-12-01T10:00:00Z",
    "credentialSubject": {"id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"},
}
CONFIG = WalletConfig(
    hub_url="https://hub.example.test", rpc_url="http://rpc.example.test:8545", api_token="tkn-42"
)


def _fill(wallet: Wallet) -> DidRecord:
    record = DidRecord(
        did="did:ethr:0x" + "ab" * 20,
        method="ethr",
        controller_key="secp256k1-0",
        signing_keys=("ed25519-0",),
        verification_methods={"ed25519-0": "did:ethr:0x" + "ab" * 20 + "#delegate-1"},
    )
    wallet.add_did(record)
    wallet.set_config(CONFIG)
    wallet.credentials.add(CREDENTIAL, source="deposit-7")
    return record


def _record_file(wallet_path: Path, name: str) -> Path:
    with Wallet.open(wallet_path, TEST_PASSPHRASE) as wallet:
        return wallet_path / wallet.vault.file_of(name)


def test_round_trip(wallet_path: Path) -> None:
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        record = _fill(wallet)
        keys = [(key.name, key.secret_bytes()) for key in list(wallet.keys())]
    with Wallet.open(wallet_path, TEST_PASSPHRASE) as reopened:
        assert [(key.name, key.secret_bytes()) for key in list(reopened.keys())] == keys
        assert reopened.dids() == [record]
        assert reopened.did() == record
        assert reopened.config == CONFIG
        stored = reopened.credentials.get(CREDENTIAL["id"])
        assert stored.document == CREDENTIAL
        assert stored.source == "deposit-7"


def test_nothing_readable_on_disk(wallet_path: Path) -> None:
    """Keys, phrase, DIDs, credential ids, URLs and the token appear in no file or file
    name: only the KDF header is in clear."""
    wallet, phrase = new_test_wallet(wallet_path)
    with wallet:
        record = _fill(wallet)
        secrets = [key.secret_bytes() for key in list(wallet.keys())]
    # The KDF header is clear by design: a phrase word that is also one of its words
    # ("version" is a BIP-39 word) would be found there without anything leaking.
    header = (wallet_path / "wallet.json").read_text()
    clear = set(re.findall(r"[a-z]+", header))
    needles = [
        *(word.encode() for word in set(phrase.split()) if len(word) > 4 and word not in clear),
        *secrets,
        *(secret.hex().encode() for secret in secrets),
        record.did.encode(),
        str(CREDENTIAL["id"]).encode(),
        b"CustodyLetter",
        b"hub.example.test",
        b"tkn-42",
    ]
    for path in wallet_path.iterdir():
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, (path.name, needle)
            assert needle.decode(errors="ignore") not in path.name


def test_modes_are_private_whatever_the_umask(wallet_path: Path) -> None:
    previous = os.umask(0)
    try:
        wallet, _ = new_test_wallet(wallet_path)
        with wallet:
            _fill(wallet)
            wallet.backup(wallet_path.parent / "backup.json")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(wallet_path.stat().st_mode) == 0o700
    files = [*wallet_path.iterdir(), wallet_path.parent / "backup.json"]
    assert len(files) >= 6
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_wrong_passphrase_is_named_and_changes_nothing(wallet_path: Path) -> None:
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        _fill(wallet)
    before = directory_fingerprint(wallet_path)
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        Wallet.open(wallet_path, TEST_PASSPHRASE + "!")
    with pytest.raises(WeakPassphrase):
        Wallet.open(wallet_path, "")
    assert directory_fingerprint(wallet_path) == before
    Wallet.open(wallet_path, TEST_PASSPHRASE).close()


def test_no_wallet(tmp_path: Path) -> None:
    with pytest.raises(NoWallet):
        Wallet.open(tmp_path / "absent", TEST_PASSPHRASE)
    with pytest.raises(NoWallet):
        Wallet.open(tmp_path, TEST_PASSPHRASE)
    assert list(tmp_path.iterdir()) == []


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _garble], ids=["truncated", "garbled"])
@pytest.mark.parametrize("target", ["header", "manifest", "keys", "credential"])
def test_damaged_file_is_corrupt_wallet_naming_it(
    wallet_path: Path, target: str, damage: Callable[[Path], None]
) -> None:
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        _fill(wallet)
    names = {"header": HEADER_NAME, "manifest": MANIFEST_NAME}
    if target in names:
        path = wallet_path / names[target]
    else:
        name = "keys" if target == "keys" else "credential/" + str(CREDENTIAL["id"])
        path = _record_file(wallet_path, name)
    if target == "header" and damage is _garble:
        # A flipped bit inside the sealed key reads as a wrong passphrase (the two are
        # indistinguishable by design); garble the JSON structure instead.
        path.write_bytes(path.read_bytes().replace(b'"version"', b'"versi\x00n"'))
    else:
        damage(path)
    before = directory_fingerprint(wallet_path)
    with pytest.raises(CorruptWallet) as refused:
        Wallet.open(wallet_path, TEST_PASSPHRASE)
    assert path.name in refused.value.message
    assert directory_fingerprint(wallet_path) == before


def test_another_wallets_manifest_is_refused(tmp_path: Path) -> None:
    first, _ = new_test_wallet(tmp_path / "a")
    second, _ = new_test_wallet(tmp_path / "b")
    first.close()
    second.close()
    shutil.copy(tmp_path / "b" / MANIFEST_NAME, tmp_path / "a" / MANIFEST_NAME)
    with pytest.raises(CorruptWallet, match=r"manifest\.nhw fails authentication"):
        Wallet.open(tmp_path / "a", TEST_PASSPHRASE)


def _refusals() -> list[tuple[str, Callable[[Wallet, Path], object]]]:
    def duplicate(wallet: Wallet, path: Path) -> object:
        return wallet.credentials.add(CREDENTIAL)

    def unknown_delete(wallet: Wallet, path: Path) -> object:
        wallet.credentials.delete("urn:uuid:ffffffff")
        return None

    def unknown_status(wallet: Wallet, path: Path) -> object:
        return wallet.credentials.set_status("nope", "revoked")

    def bad_status(wallet: Wallet, path: Path) -> object:
        return wallet.credentials.set_status(str(CREDENTIAL["id"]), "lost")

    def not_a_credential(wallet: Wallet, path: Path) -> object:
        return wallet.credentials.add({"type": "Diploma", "issuer": "did:example:1"})

    def did_with_unknown_key(wallet: Wallet, path: Path) -> object:
        wallet.add_did(DidRecord("did:key:z6Mkx", "key", "ed25519-9", ("ed25519-9",), {}))
        return None

    def create_over_wallet(wallet: Wallet, path: Path) -> object:
        return Wallet.create(path, TEST_PASSPHRASE)

    def bad_index(wallet: Wallet, path: Path) -> object:
        return wallet.derive_key("ed25519", 2**31)

    return [
        ("duplicate credential", duplicate),
        ("unknown credential", unknown_delete),
        ("unknown credential status", unknown_status),
        ("bad status", bad_status),
        ("not a credential", not_a_credential),
        ("DID naming an unknown key", did_with_unknown_key),
        ("create over a wallet", create_over_wallet),
        ("derivation index out of range", bad_index),
    ]


@pytest.mark.parametrize(("what", "operation"), _refusals(), ids=[r[0] for r in _refusals()])
def test_refused_operations_change_nothing(
    wallet_path: Path, what: str, operation: Callable[[Wallet, Path], object]
) -> None:
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        _fill(wallet)
        before = directory_fingerprint(wallet_path)
        with pytest.raises((WalletError, CredentialRejected, UnknownCredential, UnknownKey)):
            operation(wallet, wallet_path)
        assert directory_fingerprint(wallet_path) == before
        with pytest.raises(WalletExists):
            Wallet.create(wallet_path, TEST_PASSPHRASE)
        assert directory_fingerprint(wallet_path) == before


def test_interrupted_commit_leaves_the_old_wallet(
    wallet_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash before the manifest is replaced: the new record file is gone, the wallet
    is the old one, byte for byte."""
    wallet, _ = new_test_wallet(wallet_path)

    def failing(path: Path, data: bytes, **kwargs: bool) -> None:
        if path.name == MANIFEST_NAME:
            raise OSError("disk full")
        write_atomic(path, data, **kwargs)

    with wallet:
        before = directory_fingerprint(wallet_path)
        monkeypatch.setattr("wallet.vault.write_atomic", failing)
        with pytest.raises(OSError, match="disk full"):
            wallet.credentials.add(CREDENTIAL)
        monkeypatch.undo()
        assert directory_fingerprint(wallet_path) == before
        assert wallet.credentials.list() == []


def test_leftover_of_a_crash_is_ignored_then_removed(wallet_path: Path) -> None:
    """A record file no manifest names (what a crash after writing it leaves) does not
    block opening, and the next commit deletes it."""
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        leftover = wallet_path / ("0" * 32 + ".nhw")
        shutil.copy(wallet_path / wallet.vault.file_of("keys"), leftover)
    with Wallet.open(wallet_path, TEST_PASSPHRASE) as reopened:
        assert leftover.exists()
        reopened.credentials.add(CREDENTIAL)
        assert not leftover.exists()


def test_failed_creation_leaves_an_empty_directory(
    wallet_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(path: Path, data: bytes, **kwargs: bool) -> None:
        if path.name == HEADER_NAME:
            raise OSError("disk full")
        write_atomic(path, data, **kwargs)

    monkeypatch.setattr("wallet.vault.write_atomic", failing)
    with pytest.raises(OSError, match="disk full"):
        new_test_wallet(wallet_path)
    monkeypatch.undo()
    assert [path.name for path in wallet_path.iterdir()] == [".lock"]
    new_test_wallet(wallet_path)[0].close()
