"""Errors of the holder's wallet (:mod:`wallet`).

Codes are snake_case (the rule is in :mod:`hub_kernel.errors`). A wallet error is a
request that cannot be carried out on this wallet: 4xx, never a bug. Messages name
the file or the record involved, never a secret.
"""

from __future__ import annotations

from hub_kernel.errors import HubError

__all__ = [
    "AmbiguousCredential",
    "BadRecoveryPhrase",
    "CorruptWallet",
    "CredentialRejected",
    "DidExists",
    "NoWallet",
    "UnknownCredential",
    "UnknownDid",
    "UnknownKey",
    "WalletBusy",
    "WalletError",
    "WalletExists",
    "WeakPassphrase",
    "WrongKeyKind",
    "WrongPassphrase",
]


class WalletError(HubError):
    code = "wallet_error"
    status_code = 400


class WrongPassphrase(WalletError):
    code = "wrong_passphrase"


class WeakPassphrase(WalletError):
    """An empty passphrase or keystore password."""

    code = "weak_passphrase"


class CorruptWallet(WalletError):
    """A wallet file (or backup) that is truncated, garbled, swapped or rolled back."""

    code = "corrupt_wallet"


class BadRecoveryPhrase(WalletError):
    code = "bad_recovery_phrase"


class WalletBusy(WalletError):
    """Another process holds the wallet's lock."""

    code = "wallet_busy"
    status_code = 409


class WalletExists(WalletError):
    code = "wallet_exists"
    status_code = 409


class NoWallet(WalletError):
    code = "no_wallet"
    status_code = 404


class UnknownCredential(WalletError):
    code = "unknown_credential"
    status_code = 404


class AmbiguousCredential(WalletError):
    """An id prefix that matches more than one stored credential."""

    code = "ambiguous_credential"


class UnknownKey(WalletError):
    code = "unknown_key"
    status_code = 404


class WrongKeyKind(WalletError):
    """An operation asked of a key of the other kind (keystore v3 is secp256k1 only)."""

    code = "wrong_key_kind"


class UnknownDid(WalletError):
    code = "unknown_did"
    status_code = 404


class DidExists(WalletError):
    code = "did_exists"
    status_code = 409


class CredentialRejected(WalletError):
    """A document that is not a credential the wallet can store (or a duplicate)."""

    code = "credential_rejected"
    status_code = 422
