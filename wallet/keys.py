"""A wallet key: its name, kind, derivation index and private key (``cryptography`` objects).

Public encodings are the ones the DID methods use: a compressed secp256k1 point (SEC 1
§2.3.3, 33 bytes) and a raw Ed25519 public key (RFC 8032 §5.1.5, 32 bytes); the EIP-55
checksummed address (https://eips.ethereum.org/EIPS/eip-55) names a did:ethr.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eth_account import Account

from wallet.errors import WrongKeyKind
from wallet.recovery import KeyKind

__all__ = ["KeyKind", "WalletKey", "key_name"]


def key_name(kind: KeyKind, index: int) -> str:
    return f"{kind}-{index}"


@dataclass(frozen=True)
class WalletKey:
    name: str
    kind: KeyKind
    index: int
    private_key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey = field(repr=False, compare=False)

    @classmethod
    def from_secret(cls, kind: KeyKind, index: int, secret: bytes) -> WalletKey:
        private_key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey
        if kind == "secp256k1":
            private_key = ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256K1())
        else:
            private_key = Ed25519PrivateKey.from_private_bytes(secret)
        return cls(key_name(kind, index), kind, index, private_key)

    def public_bytes(self) -> bytes:
        if isinstance(self.private_key, Ed25519PrivateKey):
            return self.private_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )

    def secret_bytes(self) -> bytes:
        if isinstance(self.private_key, Ed25519PrivateKey):
            return self.private_key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        return self.private_key.private_numbers().private_value.to_bytes(32, "big")

    @property
    def address(self) -> str:
        """The EIP-55 Ethereum address of a secp256k1 key."""
        if self.kind != "secp256k1":
            raise WrongKeyKind(
                f"{self.name} is an Ed25519 key; only secp256k1 keys have an address"
            )
        return str(Account.from_key(self.secret_bytes()).address)
