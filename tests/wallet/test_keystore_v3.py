"""Keystore v3 export: eth-account and ethers (what MetaMask uses) both decrypt it."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from eth_account import Account

from testkit.npm import REPO
from wallet.errors import UnknownKey, WeakPassphrase, WrongKeyKind
from wallet.wallet import Wallet

NODE = shutil.which("node")
PASSWORD = "keystore pass 7"
LIGHT_SCRYPT_N = 1 << 10


def test_eth_account_decrypts_the_default_scrypt_keystore(wallet: Wallet) -> None:
    key = wallet.key("secp256k1-0")
    keystore = wallet.export_keystore_v3("secp256k1-0", PASSWORD)
    assert keystore["version"] == 3
    assert keystore["crypto"]["kdf"] == "scrypt"
    assert keystore["crypto"]["kdfparams"]["n"] >= 1 << 18  # geth's "standard" scrypt
    assert keystore["address"].lower() == key.address[2:].lower()
    assert bytes(Account.decrypt(keystore, PASSWORD)) == key.secret_bytes()
    with pytest.raises(ValueError, match="MAC mismatch"):
        Account.decrypt(keystore, PASSWORD + "x")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_ethers_decrypts_it(wallet: Wallet) -> None:
    key = wallet.derive_key("secp256k1")
    keystore = wallet.export_keystore_v3(key.name, PASSWORD, iterations=LIGHT_SCRYPT_N)
    script = (
        "const {ethers} = require('ethers');"
        "const [json, password] = JSON.parse(process.argv[1]);"
        "ethers.Wallet.fromEncryptedJson(json, password)"
        "  .then(w => console.log(JSON.stringify([w.address, w.privateKey])));"
    )
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", script, json.dumps([json.dumps(keystore), PASSWORD])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    address, private_key = json.loads(done.stdout)
    assert address == key.address
    assert private_key == "0x" + key.secret_bytes().hex()


def test_refusals(wallet: Wallet) -> None:
    with pytest.raises(WrongKeyKind):
        wallet.export_keystore_v3("ed25519-0", PASSWORD)
    with pytest.raises(UnknownKey):
        wallet.export_keystore_v3("secp256k1-9", PASSWORD)
    with pytest.raises(WeakPassphrase):
        wallet.export_keystore_v3("secp256k1-0", "")
