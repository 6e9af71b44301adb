"""The recovery phrase and the keys it derives.

- The phrase is a BIP-39 mnemonic (https://github.com/bitcoin/bips/blob/master/bip-0039.mediawiki):
  24 English words (256 bits of entropy) at creation; any valid BIP-39 length restores.
  The seed is BIP-39's PBKDF2 of the phrase with an empty BIP-39 passphrase.
- secp256k1 keys: BIP-32/BIP-44 at ``m/44'/60'/0'/0/i``, Ethereum's path, derived by
  eth-account, so index 0 is the account MetaMask or ethers shows for the same phrase.
- Ed25519 keys: SLIP-0010 (https://github.com/satoshilabs/slips/blob/master/slip-0010.md)
  at ``m/44'/60'/0'/0'/i'`` (Ed25519 has hardened derivation only), derived by SatoshiLabs'
  reference implementation ``slip10``.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from eth_account import Account
from mnemonic import Mnemonic
from slip10 import SLIP10

from wallet.errors import BadRecoveryPhrase

__all__ = [
    "MAX_INDEX",
    "KeyKind",
    "check_phrase",
    "derivation_path",
    "derive_secret",
    "new_phrase",
]

KeyKind = Literal["secp256k1", "ed25519"]
MAX_INDEX = 2**31 - 1  # BIP-32: indices at or above 2^31 are the hardened range
PHRASE_WORDS = 24
_VALID_LENGTHS = (12, 15, 18, 21, 24)
_ENGLISH = Mnemonic("english")

# eth-account gates BIP-32 derivation behind this switch; the derivation is tested
# against ethers' and the BIP-39 vectors (tests/wallet/test_recovery.py).
Account.enable_unaudited_hdwallet_features()


def new_phrase() -> str:
    """A fresh 24-word phrase from the OS's CSPRNG (the library uses ``secrets``)."""
    return _ENGLISH.generate(strength=PHRASE_WORDS * 32 // 3)


def check_phrase(phrase: str) -> str:
    """``phrase`` normalised (NFKD, lower case, single spaces) if it is a valid BIP-39
    mnemonic; :class:`BadRecoveryPhrase` otherwise. Messages never repeat the words."""
    words = unicodedata.normalize("NFKD", phrase).lower().split()
    if len(words) not in _VALID_LENGTHS:
        raise BadRecoveryPhrase(
            f"a recovery phrase has 12, 15, 18, 21 or 24 words, this one has {len(words)}"
        )
    wordlist = set(_ENGLISH.wordlist)
    unknown = [position for position, word in enumerate(words, 1) if word not in wordlist]
    if unknown:
        where = ", ".join(str(position) for position in unknown)
        raise BadRecoveryPhrase(f"word(s) at position {where} are not BIP-39 English words")
    normalized = " ".join(words)
    if not _ENGLISH.check(normalized):
        raise BadRecoveryPhrase("the recovery phrase's checksum does not match (a word is wrong)")
    return normalized


def derivation_path(kind: KeyKind, index: int) -> str:
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f"a derivation index is in 0..{MAX_INDEX}")
    if kind == "secp256k1":
        return f"m/44'/60'/0'/0/{index}"
    return f"m/44'/60'/0'/0'/{index}'"


def derive_secret(phrase: str, kind: KeyKind, index: int) -> bytes:
    """The 32-byte private key (secp256k1 scalar or Ed25519 seed) at ``index``."""
    path = derivation_path(kind, index)
    if kind == "secp256k1":
        account = Account.from_mnemonic(phrase, account_path=path)
        return bytes(account.key)
    seed = Mnemonic.to_seed(phrase)
    return bytes(SLIP10.from_seed(seed, curve_name="ed25519").get_privkey_from_path(path))
