"""The recovery phrase: BIP-39 checks, BIP-44 secp256k1 keys (cross-checked with ethers),
SLIP-0010 Ed25519 keys (the published vectors), and a restore that gives the same keys."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from mnemonic import Mnemonic
from slip10 import HARDENED_INDEX, SLIP10

from testkit.npm import REPO
from testkit.wallets import TEST_KDF, TEST_PASSPHRASE, new_test_wallet
from wallet.errors import BadRecoveryPhrase
from wallet.recovery import check_phrase, derive_secret, new_phrase
from wallet.wallet import Wallet

NODE = shutil.which("node")
# BIP-39's first test vector (entropy 0x00 * 16); index 0 is the address every
# Ethereum wallet shows for it.
ABANDON_12 = " ".join(["abandon"] * 11 + ["about"])
ABANDON_12_ADDRESS = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
# BIP-39 vector 5 (entropy 0x00 * 32, passphrase "TREZOR").
ABANDON_24 = " ".join(["abandon"] * 23 + ["art"])
ABANDON_24_TREZOR_SEED = (
    "bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3"
    "cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8"
)

# SLIP-0010 (https://github.com/satoshilabs/slips/blob/master/slip-0010.md) "Test vector
# 1/2 for ed25519": (seed, hardened chain, chain code, private key).
SLIP10_VECTORS = [
    (
        "000102030405060708090a0b0c0d0e0f",
        [],
        "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb",
        "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7",
    ),
    (
        "000102030405060708090a0b0c0d0e0f",
        [0, 1, 2],
        "2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c",
        "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9",
    ),
    (
        "000102030405060708090a0b0c0d0e0f",
        [0, 1, 2, 2, 1000000000],
        "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230",
        "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793",
    ),
    (
        "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a"
        "8784817e7b7875726f6c696663605d5a5754514e4b484542",
        [0, 2147483647, 1, 2147483646, 2],
        "5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4",
        "551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d",
    ),
]


def _spec_ed25519(seed: bytes, chain: list[int]) -> tuple[bytes, bytes]:
    """SLIP-0010's ed25519 master and hardened CKDpriv, written from the spec text: an
    independent check of the library the wallet uses."""
    digest = hmac.new(b"ed25519 seed", seed, hashlib.sha512).digest()
    key, code = digest[:32], digest[32:]
    for index in chain:
        data = b"\x00" + key + (index | 0x80000000).to_bytes(4, "big")
        digest = hmac.new(code, data, hashlib.sha512).digest()
        key, code = digest[:32], digest[32:]
    return code, key


@pytest.mark.parametrize(("seed", "chain", "code", "key"), SLIP10_VECTORS)
def test_slip10_published_vectors(seed: str, chain: list[int], code: str, key: str) -> None:
    node = SLIP10.from_seed(bytes.fromhex(seed), curve_name="ed25519")
    path = [index + HARDENED_INDEX for index in chain]
    assert node.get_extended_privkey_from_path(path) == (bytes.fromhex(code), bytes.fromhex(key))
    assert _spec_ed25519(bytes.fromhex(seed), chain) == (bytes.fromhex(code), bytes.fromhex(key))


@pytest.mark.parametrize("index", [0, 1, 7])
def test_ed25519_keys_follow_slip10_at_the_wallet_path(index: int) -> None:
    seed = Mnemonic.to_seed(ABANDON_24)
    _, expected = _spec_ed25519(seed, [44, 60, 0, 0, index])
    assert derive_secret(ABANDON_24, "ed25519", index) == expected


def test_bip39_seed_vector() -> None:
    assert Mnemonic.to_seed(ABANDON_24, "TREZOR").hex() == ABANDON_24_TREZOR_SEED


def test_bip44_index_0_is_the_well_known_address(tmp_path: Path) -> None:
    with Wallet.restore(tmp_path / "w", ABANDON_12, TEST_PASSPHRASE, kdf=TEST_KDF) as wallet:
        assert wallet.key("secp256k1-0").address == ABANDON_12_ADDRESS


def _ethers_addresses(phrase: str, count: int) -> list[str]:
    assert NODE is not None
    script = (
        "const {ethers} = require('ethers');"
        "const [phrase, count] = JSON.parse(process.argv[1]);"
        "const out = [];"
        "for (let i = 0; i < count; i++) {"
        "  const path = `m/44'/60'/0'/0/${i}`;"
        "  out.push(ethers.HDNodeWallet.fromPhrase(phrase, undefined, path).address);"
        "}"
        "console.log(JSON.stringify(out));"
    )
    done = subprocess.run(
        [NODE, "-e", script, json.dumps([phrase, count])],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    addresses: list[str] = json.loads(done.stdout)
    return addresses


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("phrase", [ABANDON_12, new_phrase()], ids=["bip39-vector", "fresh-24"])
def test_secp256k1_keys_match_ethers(tmp_path: Path, phrase: str) -> None:
    expected = _ethers_addresses(phrase, 3)
    assert expected[0] == _ethers_addresses(phrase, 1)[0]
    with Wallet.restore(tmp_path / "w", phrase, TEST_PASSPHRASE, kdf=TEST_KDF) as wallet:
        got = [wallet.derive_key("secp256k1", index).address for index in range(3)]
    assert got == expected


def test_new_phrase_is_24_valid_words() -> None:
    phrase = new_phrase()
    assert len(phrase.split()) == 24
    assert check_phrase(phrase) == phrase
    assert new_phrase() != phrase


def _bad_checksum(phrase: str) -> str:
    words = phrase.split()
    wordlist = Mnemonic("english").wordlist
    for candidate in wordlist:
        attempt = " ".join([*words[:-1], candidate])
        if candidate != words[-1] and not Mnemonic("english").check(attempt):
            return attempt
    raise AssertionError("every last word passes the checksum")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_bad_checksum, "checksum"),
        (lambda p: " ".join([*p.split()[:3], "notaword", *p.split()[4:]]), "position 4"),
        (lambda p: " ".join(p.split()[:23]), "has 23"),
        (lambda p: "", "has 0"),
    ],
    ids=["checksum", "unknown-word", "23-words", "empty"],
)
def test_bad_phrase_is_refused_without_echo_or_disk_change(
    tmp_path: Path, make: Callable[[str], str], message: str
) -> None:
    phrase = new_phrase()
    bad = make(phrase)
    with pytest.raises(BadRecoveryPhrase, match=message) as refused:
        Wallet.restore(tmp_path / "w", bad, TEST_PASSPHRASE, kdf=TEST_KDF)
    words = phrase.split()
    # The message may share a common word with the phrase ("match"), never a run of it.
    runs = [" ".join(pair) for pair in itertools.pairwise(words)]
    assert not any(run in refused.value.message for run in runs)
    assert not (tmp_path / "w").exists()


def test_restore_gives_back_the_same_keys(tmp_path: Path) -> None:
    wallet, phrase = new_test_wallet(tmp_path / "first")
    with wallet:
        wallet.derive_key("secp256k1")
        wallet.derive_key("ed25519", 5)
        derived = wallet.keys()
        original = {key.name: key.secret_bytes() for key in derived}
    assert set(original) == {"secp256k1-0", "secp256k1-1", "ed25519-0", "ed25519-5"}
    # Typed back by a person: other case, stray spaces.
    typed = "  " + "   ".join(phrase.upper().split()) + "\n"
    with Wallet.restore(tmp_path / "second", typed, "another passphrase", kdf=TEST_KDF) as again:
        restored = again.keys()
        assert {key.name for key in restored} == {"secp256k1-0", "ed25519-0"}
        again.derive_key("secp256k1", 1)
        again.derive_key("ed25519", 5)
        rederived = again.keys()
        assert {key.name: key.secret_bytes() for key in rederived} == original
