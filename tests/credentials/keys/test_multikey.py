"""Multikey encoding (Controlled Identifiers §2.2.2) of Ed25519 and secp256k1 keys."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credentials.errors import KeyResolutionError, UnsupportedAlgorithm
from credentials.keys.multikey import (
    InvalidMultikey,
    decode_public_key,
    decode_secret_key,
    encode_public_key,
    encode_secret_key,
    multibase_decode,
)
from hub_kernel.multiformats import b58encode, multibase_encode, varint_encode

# The key pair of the eddsa-rdfc-2022 test vectors (vc-di-eddsa Appendix B.1).
VECTOR_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
VECTOR_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"


def test_vector_secret_key_derives_the_vector_public_key() -> None:
    secret = decode_secret_key(VECTOR_SECRET)
    assert encode_public_key(secret.public_key()) == VECTOR_PUBLIC
    assert encode_secret_key(secret) == VECTOR_SECRET


def test_ed25519_public_key_round_trip_and_prefix() -> None:
    key = Ed25519PrivateKey.generate().public_key()
    text = encode_public_key(key)
    assert text.startswith("z6Mk")  # 0xed01 under base58btc
    assert multibase_decode(text)[:2] == bytes.fromhex("ed01")
    decoded = decode_public_key(text)
    assert isinstance(decoded, Ed25519PublicKey)
    assert decoded.public_bytes_raw() == key.public_bytes_raw()


def test_secp256k1_public_key_round_trip_is_compressed() -> None:
    key = ec.generate_private_key(ec.SECP256K1()).public_key()
    text = encode_public_key(key)
    assert text.startswith("zQ3s")  # 0xe701 + 33-byte compressed point
    raw = multibase_decode(text)
    assert raw[:2] == bytes.fromhex("e701") and len(raw) == 2 + 33
    decoded = decode_public_key(text)
    assert isinstance(decoded, ec.EllipticCurvePublicKey)
    assert decoded.public_numbers() == key.public_numbers()


def test_secret_key_round_trip_and_prefix() -> None:
    secret = Ed25519PrivateKey.generate()
    text = encode_secret_key(secret)
    assert multibase_decode(text)[:2] == bytes.fromhex("8026")
    assert decode_secret_key(text).private_bytes_raw() == secret.private_bytes_raw()


def test_p256_public_key_is_not_encoded() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        encode_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())


def _multikey(codec: int, raw: bytes) -> str:
    return multibase_encode(varint_encode(codec) + raw)


P256_POINT = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
)


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", InvalidMultikey, "start with 'z'"),
        ("uAe0B", InvalidMultikey, "start with 'z'"),  # base64url multibase: not accepted
        ("z6Mk0OIl", InvalidMultikey, "base58btc"),
        ("z" + "2" * 300, InvalidMultikey, "longer than"),
        ("z" + b58encode(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), InvalidMultikey, "varint"),
        (_multikey(0xED, b"\x01" * 31), InvalidMultikey, "32 bytes"),
        (_multikey(0xED, bytes(32)), InvalidMultikey, "small-order"),  # identity-ish point
        (_multikey(0xE7, b"\x02" + b"\xff" * 32), InvalidMultikey, "invalid"),
        (_multikey(0xE7, b"\x04" + b"\x01" * 32), InvalidMultikey, "invalid"),
        (_multikey(0x1200, P256_POINT), UnsupportedAlgorithm, "0x1200"),
        (_multikey(0xEC, b"\x01" * 32), UnsupportedAlgorithm, "0xec"),
        (VECTOR_SECRET, UnsupportedAlgorithm, "0x1300"),
    ],
    ids=[
        "no-prefix", "base64url", "bad-base58", "too-long", "bad-varint", "short-ed25519",
        "small-order-ed25519", "secp256k1-off-curve", "secp256k1-uncompressed-tag", "p256",
        "x25519", "secret-as-public",
    ],
)  # fmt: skip
def test_bad_public_keys(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        decode_public_key(text)


def test_invalid_multikey_is_a_key_resolution_error() -> None:
    with pytest.raises(KeyResolutionError) as caught:
        decode_public_key("not multibase")
    assert caught.value.code == "INVALID_VERIFICATION_METHOD"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (VECTOR_PUBLIC, UnsupportedAlgorithm, "not Ed25519"),
        (_multikey(0x1300, b"\x01" * 31), InvalidMultikey, "32 bytes"),
        (_multikey(0x1300, b"\x01" * 64), InvalidMultikey, "32 bytes"),
        ("z", InvalidMultikey, "varint"),
    ],
    ids=["public-as-secret", "short", "expanded-64-bytes", "empty"],
)
def test_bad_secret_keys(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        decode_secret_key(text)
