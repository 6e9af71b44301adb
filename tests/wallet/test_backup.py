"""Backup and restore of a whole wallet: one sealed file, restored only into an empty
directory; a tampered backup or a wrong passphrase is refused before anything is written."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from testkit.custody_sample import custody_credential
from testkit.wallets import TEST_PASSPHRASE, directory_fingerprint, new_test_wallet
from wallet.errors import CorruptWallet, WalletExists, WrongPassphrase
from wallet.wallet import DidRecord, Wallet, WalletConfig


@pytest.fixture
def backup_file(tmp_path: Path) -> Path:
    wallet, _ = new_test_wallet(tmp_path / "source", config=WalletConfig("https://hub.test"))
    with wallet:
        wallet.derive_key("ed25519", 4)
        wallet.add_did(DidRecord("did:key:z6Mkb", "key", "ed25519-4", ("ed25519-4",), {}))
        wallet.credentials.add(custody_credential(9), source="deposit-9")
        wallet.backup(tmp_path / "wallet.backup")
    return tmp_path / "wallet.backup"


def test_round_trip(tmp_path: Path, backup_file: Path) -> None:
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600
    with Wallet.open(tmp_path / "source", TEST_PASSPHRASE) as source:
        keys = {key.name: key.secret_bytes() for key in list(source.keys())}
        dids = source.dids()
        credentials = source.credentials.list()
    with Wallet.restore_backup(backup_file, tmp_path / "copy", TEST_PASSPHRASE) as copy:
        assert {key.name: key.secret_bytes() for key in list(copy.keys())} == keys
        assert copy.dids() == dids
        assert copy.credentials.list() == credentials
        assert copy.config == WalletConfig("https://hub.test")
        copy.derive_key("ed25519")  # the seed came along: derivation goes on
    with Wallet.open(tmp_path / "copy", TEST_PASSPHRASE) as reopened:
        assert reopened.key("ed25519-5").kind == "ed25519"


def test_backup_is_sealed(tmp_path: Path, backup_file: Path) -> None:
    text = backup_file.read_text()
    for needle in ("did:key:z6Mkb", "DataDepositCredential", "deposit-9", "hub.test"):
        assert needle not in text


def test_backup_never_overwrites(tmp_path: Path, backup_file: Path) -> None:
    before = backup_file.read_bytes()
    with (
        Wallet.open(tmp_path / "source", TEST_PASSPHRASE) as wallet,
        pytest.raises(FileExistsError),
    ):
        wallet.backup(backup_file)
    assert backup_file.read_bytes() == before


def _rewrite(backup_file: Path, field: str, flip_at: int) -> None:
    document = json.loads(backup_file.read_text())
    data = bytearray(base64.b64decode(document[field]))
    data[flip_at] ^= 0x80
    document[field] = base64.b64encode(bytes(data)).decode()
    backup_file.write_text(json.dumps(document))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda path: _rewrite(path, "ciphertext", 10),
        lambda path: _rewrite(path, "ciphertext", -1),
        lambda path: _rewrite(path, "nonce", 0),
        lambda path: path.write_text(path.read_text().replace('"created": "', '"created": "1')),
        lambda path: path.write_bytes(path.read_bytes()[:-200]),
        lambda path: path.write_text(json.dumps({"format": "something else"})),
    ],
    ids=["payload", "tag", "nonce", "created", "truncated", "not-a-backup"],
)
def test_tampered_backup_is_corrupt_and_nothing_is_written(
    tmp_path: Path, backup_file: Path, tamper: Callable[[Path], object]
) -> None:
    tamper(backup_file)
    with pytest.raises(CorruptWallet, match=r"backup wallet\.backup"):
        Wallet.restore_backup(backup_file, tmp_path / "copy", TEST_PASSPHRASE)
    assert not (tmp_path / "copy").exists()


def test_wrong_passphrase(tmp_path: Path, backup_file: Path) -> None:
    with pytest.raises(WrongPassphrase):
        Wallet.restore_backup(backup_file, tmp_path / "copy", "not it")
    assert not (tmp_path / "copy").exists()


def test_non_empty_target_is_refused(tmp_path: Path, backup_file: Path) -> None:
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    before = directory_fingerprint(target)
    with pytest.raises(WalletExists):
        Wallet.restore_backup(backup_file, target, TEST_PASSPHRASE)
    source_before = directory_fingerprint(tmp_path / "source")
    with pytest.raises(WalletExists):
        Wallet.restore_backup(backup_file, tmp_path / "source", TEST_PASSPHRASE)
    assert directory_fingerprint(target) == before
    assert directory_fingerprint(tmp_path / "source") == source_before


def test_restored_copy_shares_no_key_with_the_original(tmp_path: Path, backup_file: Path) -> None:
    Wallet.restore_backup(backup_file, tmp_path / "copy", TEST_PASSPHRASE).close()
    original = json.loads((tmp_path / "source" / "wallet.json").read_text())
    copy = json.loads((tmp_path / "copy" / "wallet.json").read_text())
    assert original["kdf"] == copy["kdf"]
    assert original["salt"] != copy["salt"]
    assert original["sealed_key"] != copy["sealed_key"]
