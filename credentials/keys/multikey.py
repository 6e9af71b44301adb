"""Multikey: public and secret keys as multibase text.

W3C Controlled Identifiers v1.0 §2.2.2 "Multikey" (https://www.w3.org/TR/cid-1.0/#Multikey):
``publicKeyMultibase`` / ``secretKeyMultibase`` are ``z`` + base58btc(varint(multicodec)
‖ raw key). Multicodec table (https://github.com/multiformats/multicodec):

- Ed25519 public key ``0xed`` (``0xed01``), 32 bytes (RFC 8032 §5.1.5);
- Ed25519 secret key ``0x1300`` (``0x8026``), the 32-byte seed (RFC 8032 §5.1.5);
- secp256k1 public key ``0xe7`` (``0xe701``), a 33-byte SEC 1 compressed point.

The base58btc, varint, multibase and multicodec codecs are the kernel's
(:mod:`hub_kernel.multiformats`); the public-key checks (Ed25519 small-order points,
points on the curve) are the did:key resolver's: a did:key's method-specific id is a
Multikey public key, so both read keys the same way.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credentials.errors import KeyResolutionError, UnsupportedAlgorithm
from did_registry.did_key import multibase_key
from did_registry.verification_methods import (
    InvalidVerificationMethod,
    UnsupportedKey,
)
from did_registry.verification_methods import public_key_from_raw as did_public_key
from hub_kernel.multiformats import (
    ED25519,
    ED25519_PRIV,
    SECP256K1,
    b58decode,
    multibase_encode,
    multicodec_decode,
    multicodec_encode,
)

ED25519_PUB = ED25519  # 0xed
SECP256K1_PUB = SECP256K1  # 0xe7
MAX_MULTIBASE_LENGTH = 200  # well above any supported key; bounds the quadratic base58 decode

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey


class InvalidMultikey(KeyResolutionError):
    """Multibase text that is not a well-formed key of its declared type."""


def multibase_decode(text: str) -> bytes:
    """The bytes of base58btc multibase ``text`` (``z`` + base58btc), or InvalidMultikey."""
    if not isinstance(text, str) or not text.startswith("z"):
        raise InvalidMultikey("a multibase value must be a base58btc string (start with 'z')")
    if len(text) > MAX_MULTIBASE_LENGTH:
        raise InvalidMultikey(f"multibase value longer than {MAX_MULTIBASE_LENGTH} characters")
    try:
        return b58decode(text[1:])
    except ValueError as exc:
        raise InvalidMultikey(f"malformed base58btc: {exc}") from None


def _split(text: str) -> tuple[int, bytes]:
    data = multibase_decode(text)
    try:
        return multicodec_decode(data)
    except ValueError as exc:
        raise InvalidMultikey(f"malformed multicodec prefix: {exc}") from None


def public_key_from_raw(codec: int, raw: bytes) -> PublicKey:
    """A checked public key from its multicodec and raw bytes (Ed25519 or secp256k1): the
    DID layer's check (:func:`did_registry.verification_methods.public_key_from_raw`),
    its refusals named as the credentials' errors."""
    try:
        return did_public_key(codec, raw)
    except UnsupportedKey as exc:
        raise UnsupportedAlgorithm(exc.message) from None
    except InvalidVerificationMethod as exc:
        raise InvalidMultikey(exc.message) from None


def decode_public_key(text: str) -> PublicKey:
    """A ``publicKeyMultibase`` value as a key: Ed25519 (``0xed01``) or secp256k1 (``0xe701``)."""
    codec, raw = _split(text)
    return public_key_from_raw(codec, raw)


def encode_public_key(key: PublicKey) -> str:
    """``publicKeyMultibase`` of an Ed25519 or (compressed) secp256k1 public key."""
    if isinstance(key, Ed25519PublicKey):
        return multibase_key(ED25519_PUB, key.public_bytes_raw())
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256K1):
        point = key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        return multibase_key(SECP256K1_PUB, point)
    raise UnsupportedAlgorithm(f"no Multikey encoding here for {type(key).__name__}")


def decode_secret_key(text: str) -> Ed25519PrivateKey:
    """A ``secretKeyMultibase`` value (``0x8026`` + 32-byte seed) as an Ed25519 private key."""
    codec, raw = _split(text)
    if codec != ED25519_PRIV:
        raise UnsupportedAlgorithm(f"secret key multicodec {codec:#x} is not Ed25519 (0x1300)")
    if len(raw) != 32:
        raise InvalidMultikey(f"an Ed25519 secret key is 32 bytes, not {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def encode_secret_key(key: Ed25519PrivateKey) -> str:
    """``secretKeyMultibase`` of an Ed25519 private key (its seed); secret: never log it."""
    return multibase_encode(multicodec_encode(ED25519_PRIV, key.private_bytes_raw()))
