"""The Wallet API: keys, DIDs, settings, where the wallet lives, and creation refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from testkit.wallets import TEST_KDF, TEST_PASSPHRASE, new_test_wallet
from wallet.errors import (
    DidExists,
    UnknownDid,
    UnknownKey,
    WalletError,
    WalletExists,
    WeakPassphrase,
    WrongKeyKind,
    WrongPassphrase,
)
from wallet.kdf import KdfParams
from wallet.paths import wallet_dir
from wallet.wallet import DidRecord, Wallet, WalletConfig

ETHR = "did:ethr:0x" + "12" * 20
ABANDON_12 = " ".join(["abandon"] * 11 + ["about"])


def test_a_new_wallet_has_one_key_of_each_kind(wallet: Wallet) -> None:
    secp, ed = wallet.key("secp256k1-0"), wallet.key("ed25519-0")
    assert (secp.kind, secp.index, ed.kind, ed.index) == ("secp256k1", 0, "ed25519", 0)
    assert isinstance(secp.private_key, ec.EllipticCurvePrivateKey)
    assert isinstance(ed.private_key, Ed25519PrivateKey)
    assert len(secp.public_bytes()) == 33 and secp.public_bytes()[0] in (2, 3)
    assert len(ed.public_bytes()) == 32
    assert len(secp.secret_bytes()) == len(ed.secret_bytes()) == 32
    assert secp.address.startswith("0x") and secp.address != secp.address.lower()
    with pytest.raises(WrongKeyKind):
        _ = ed.address
    assert "private" not in repr(secp) and secp.secret_bytes().hex() not in repr(secp)


def test_derive_key_next_explicit_and_idempotent(wallet: Wallet) -> None:
    assert wallet.derive_key("ed25519").name == "ed25519-1"
    assert wallet.derive_key("ed25519", 9).name == "ed25519-9"
    assert wallet.derive_key("ed25519").name == "ed25519-10"
    again = wallet.derive_key("ed25519", 9)
    assert again.secret_bytes() == wallet.key("ed25519-9").secret_bytes()
    names = [key.name for key in list(wallet.keys())]
    assert names.count("ed25519-9") == 1
    with pytest.raises(UnknownKey):
        wallet.key("ed25519-2")
    with pytest.raises(WalletError):
        wallet.derive_key("p256", 0)  # type: ignore[arg-type]
    with pytest.raises(WalletError):
        wallet.derive_key("secp256k1", -1)


def test_dids(wallet: Wallet) -> None:
    with pytest.raises(UnknownDid, match="no DID yet"):
        wallet.did()
    ethr = DidRecord(ETHR, "ethr", "secp256k1-0")
    key = DidRecord("did:key:z6Mkq", "key", "ed25519-0", ("ed25519-0",), {"ed25519-0": "#z6Mkq"})
    wallet.add_did(ethr)
    wallet.add_did(key)
    assert wallet.did() == ethr
    assert wallet.did("did:key:z6Mkq") == key
    with pytest.raises(DidExists):
        wallet.add_did(ethr)
    wallet.derive_key("ed25519")
    delegated = DidRecord(
        ETHR, "ethr", "secp256k1-0", ("ed25519-1",), {"ed25519-1": ETHR + "#delegate-1"}
    )
    wallet.update_did(delegated)
    assert wallet.dids() == [delegated, key]
    with pytest.raises(UnknownDid):
        wallet.update_did(DidRecord("did:key:z6Mkother", "key", "ed25519-0"))
    with pytest.raises(UnknownDid):
        wallet.did("did:key:z6Mkother")
    with pytest.raises(UnknownKey):
        wallet.update_did(DidRecord(ETHR, "ethr", "secp256k1-0", ("ed25519-7",)))
    with pytest.raises(WalletError):
        wallet.add_did(DidRecord("did:web:x", "web", "ed25519-0"))  # type: ignore[arg-type]


def test_config_is_kept_and_the_token_not_shown(wallet_path: Path) -> None:
    config = WalletConfig("https://hub.test", "http://127.0.0.1:8545", "secret-token")
    wallet, _ = new_test_wallet(wallet_path, config=config)
    with wallet:
        assert wallet.config == config
        assert "secret-token" not in repr(wallet.config)
        wallet.set_config(WalletConfig(hub_url="https://other.test"))
    with Wallet.open(wallet_path, TEST_PASSPHRASE) as reopened:
        assert reopened.config == WalletConfig("https://other.test", None, None)


def test_create_refusals(tmp_path: Path) -> None:
    with pytest.raises(WeakPassphrase):
        Wallet.create(tmp_path / "w", "", kdf=TEST_KDF)
    assert not (tmp_path / "w").exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(WalletExists, match="not an empty directory"):
        Wallet.create(tmp_path / "busy", TEST_PASSPHRASE, kdf=TEST_KDF)
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(WalletExists):
        Wallet.create(tmp_path / "file", TEST_PASSPHRASE, kdf=TEST_KDF)
    new_test_wallet(tmp_path / "made")[0].close()
    with pytest.raises(WalletExists, match="already a wallet"):
        Wallet.restore(
            tmp_path / "made", " ".join(["abandon"] * 11 + ["about"]), "pw", kdf=TEST_KDF
        )


def test_an_empty_existing_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir(mode=0o755)
    new_test_wallet(tmp_path / "w")[0].close()
    assert (tmp_path / "w").stat().st_mode & 0o777 == 0o700


def test_wallet_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOTARY_HUB_WALLET", str(tmp_path / "env"))
    assert wallet_dir(tmp_path / "option") == tmp_path / "option"
    assert wallet_dir(None) == tmp_path / "env"
    monkeypatch.delenv("NOTARY_HUB_WALLET")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert wallet_dir(None) == tmp_path / "home" / ".notary-hub" / "wallet"


def test_change_passphrase_and_raise_the_kdf(wallet_path: Path) -> None:
    wallet, _ = new_test_wallet(wallet_path)
    with wallet:
        secret = wallet.key("ed25519-0").secret_bytes()
        with pytest.raises(WeakPassphrase):
            wallet.change_passphrase("")
        raised = KdfParams(TEST_KDF.memory_cost * 2, TEST_KDF.iterations + 1, 1)
        wallet.change_passphrase("new passphrase", kdf=raised)
    with pytest.raises(WrongPassphrase):
        Wallet.open(wallet_path, TEST_PASSPHRASE)
    with Wallet.open(wallet_path, "new passphrase") as reopened:
        assert reopened.key("ed25519-0").secret_bytes() == secret
        assert reopened.vault.header.kdf == raised
