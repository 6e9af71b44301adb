"""Attacks on a wallet at rest, each refused with a reason: brute force (KDF cost),
weakened header, swapped, replayed and rolled-back files, oversized inputs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from testkit.custody_sample import custody_credential
from testkit.wallets import TEST_PASSPHRASE, directory_fingerprint, new_test_wallet
from wallet.errors import CorruptWallet, WrongPassphrase
from wallet.kdf import DEFAULT_KDF, MINIMUM_KDF, KdfParams
from wallet.vault import HEADER_NAME, MANIFEST_NAME, MAX_FILE, Vault
from wallet.wallet import Wallet


def test_brute_force_costs_a_memory_hard_derivation_per_guess(tmp_path: Path) -> None:
    # RFC 9106 §4, second recommended option, is the floor; the default is above it.
    assert MINIMUM_KDF.memory_cost >= 64 * 1024 and MINIMUM_KDF.iterations >= 3
    assert DEFAULT_KDF.meets(MINIMUM_KDF)
    wallet, _ = Wallet.create(tmp_path / "w", TEST_PASSPHRASE)  # real defaults
    wallet.close()
    header = json.loads((tmp_path / "w" / HEADER_NAME).read_text())
    recorded = KdfParams.from_json(header["kdf"], HEADER_NAME)
    assert recorded == DEFAULT_KDF
    assert recorded.meets(MINIMUM_KDF)
    assert header["kdf"]["algorithm"] == "argon2id"


def test_header_edited_to_cheaper_parameters_does_not_open(wallet_path: Path) -> None:
    new_test_wallet(wallet_path)[0].close()
    header_path = wallet_path / HEADER_NAME
    header = json.loads(header_path.read_text())
    header["kdf"]["iterations"] = 1
    header["kdf"]["memory_cost"] = 512  # what a guesser would like
    header_path.write_text(json.dumps(header))
    with pytest.raises(WrongPassphrase):
        Wallet.open(wallet_path, TEST_PASSPHRASE)


@pytest.mark.parametrize(
    ("field", "value"),
    [("memory_cost", 2**40), ("iterations", 10**6), ("lanes", 0), ("memory_cost", "64")],
)
def test_header_asking_for_absurd_work_is_refused_before_deriving(
    wallet_path: Path, field: str, value: object
) -> None:
    new_test_wallet(wallet_path)[0].close()
    header_path = wallet_path / HEADER_NAME
    header = json.loads(header_path.read_text())
    header["kdf"][field] = value
    header_path.write_text(json.dumps(header))
    with pytest.raises(CorruptWallet, match="KDF parameters out of range"):
        Wallet.open(wallet_path, TEST_PASSPHRASE)


def test_deeply_nested_header_is_refused(wallet_path: Path) -> None:
    new_test_wallet(wallet_path)[0].close()
    (wallet_path / HEADER_NAME).write_text("[" * 2000 + "]" * 2000)
    with pytest.raises(CorruptWallet, match="nests too deeply"):
        Wallet.open(wallet_path, TEST_PASSPHRASE)


def test_oversized_record_file_is_refused_unread(wallet_path: Path) -> None:
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        target = wallet_path / wallet.vault.file_of("keys")
    os.truncate(target, MAX_FILE + 1)  # sparse: costs no disk
    with pytest.raises(CorruptWallet, match="larger than"):
        Wallet.open(wallet_path, TEST_PASSPHRASE)


def _two_records(wallet_path: Path) -> tuple[Path, Path]:
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        return wallet_path / wallet.vault.file_of("keys"), wallet_path / wallet.vault.file_of(
            "dids"
        )


def test_swapped_files_are_refused(wallet_path: Path) -> None:
    keys, dids = _two_records(wallet_path)
    keys_bytes, dids_bytes = keys.read_bytes(), dids.read_bytes()
    keys.write_bytes(dids_bytes)
    dids.write_bytes(keys_bytes)
    before = directory_fingerprint(wallet_path)
    with pytest.raises(CorruptWallet, match="does not match the manifest"):
        Wallet.open(wallet_path, TEST_PASSPHRASE)
    assert directory_fingerprint(wallet_path) == before


def test_swapped_ciphertexts_fail_authentication_even_past_the_manifest(
    wallet_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Second line of defence: with the manifest's digests out of the way, each file's
    associated data (role, record name, file name) still refuses a swapped ciphertext."""
    keys, dids = _two_records(wallet_path)
    keys_bytes = keys.read_bytes()
    keys.write_bytes(dids.read_bytes())
    dids.write_bytes(keys_bytes)
    monkeypatch.setattr(Vault, "_check_digest", lambda *args: None)
    with (
        Wallet.open(wallet_path, TEST_PASSPHRASE) as wallet,
        pytest.raises(CorruptWallet, match="fails authentication"),
    ):
        wallet.keys()


def test_a_file_from_another_wallet_is_refused(tmp_path: Path) -> None:
    mine, _ = _two_records(tmp_path / "mine")
    theirs, _ = _two_records(tmp_path / "theirs")
    shutil.copy(theirs, mine)
    with pytest.raises(CorruptWallet):
        Wallet.open(tmp_path / "mine", TEST_PASSPHRASE)


def test_rollback_of_one_record_is_detected(wallet_path: Path) -> None:
    """A revoked letter put back to 'valid' by restoring the older copy of its file."""
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        stored = wallet.credentials.add(custody_credential(1))
        name = "credential/" + stored.id
        old_copy = (wallet_path / wallet.vault.file_of(name)).read_bytes()
        wallet.credentials.set_status(stored.id, "revoked")
        current = wallet_path / wallet.vault.file_of(name)
    current.write_bytes(old_copy)
    with pytest.raises(CorruptWallet, match="rolled back"):
        Wallet.open(wallet_path, TEST_PASSPHRASE)


def test_rollback_of_the_manifest_is_detected(wallet_path: Path) -> None:
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        stored = wallet.credentials.add(custody_credential(1))
        old_manifest = (wallet_path / MANIFEST_NAME).read_bytes()
        wallet.credentials.set_status(stored.id, "revoked")
    (wallet_path / MANIFEST_NAME).write_bytes(old_manifest)
    with pytest.raises(CorruptWallet, match="missing"):
        Wallet.open(wallet_path, TEST_PASSPHRASE)


def test_a_deleted_credential_cannot_be_replayed(wallet_path: Path) -> None:
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        stored = wallet.credentials.add(custody_credential(1))
        path = wallet_path / wallet.vault.file_of("credential/" + stored.id)
        old = path.read_bytes()
        wallet.credentials.delete(stored.id)
    path.write_bytes(old)  # back under its own name: unreferenced, so never read
    with Wallet.open(wallet_path, TEST_PASSPHRASE) as reopened:
        assert reopened.credentials.list() == []
