"""Multiformats: base58btc, unsigned varints, multibase and multicodec prefixes.

- base58btc: draft-msporny-base58 (https://datatracker.ietf.org/doc/draft-msporny-base58/),
  the Bitcoin alphabet; each leading zero byte is one leading ``1``;
- unsigned varint: https://github.com/multiformats/unsigned-varint (7 bits a byte, least
  significant group first, at most 9 bytes, minimal encodings only);
- multibase: https://github.com/multiformats/multibase, the two bases Controlled
  Identifiers 1.0 §2.4 requires: ``z`` (base58btc) and ``u`` (base64url, no padding);
- multicodec: https://github.com/multiformats/multicodec (``table.csv``): a value is
  ``varint(code) ‖ bytes``. Public-key codes are named after their key type
  (:data:`ED25519` is ``ed25519-pub``); the secret-key code says so (:data:`ED25519_PRIV`).

No installed dependency offers base58btc (checked: no ``base58``, ``multiformats`` or
``multibase`` package in the environment), so these small codecs are ours; they encode
public data (and key bytes the caller protects), no cryptography. Malformed input is
``ValueError``; callers turn it into their own errors. Decoding base58 is quadratic in
the length: callers bound what they decode.
"""

from __future__ import annotations

import base64
from typing import Final

__all__ = [
    "B58_ALPHABET",
    "BASE58BTC",
    "BASE64URL",
    "BLS12_381_G1",
    "BLS12_381_G1G2",
    "BLS12_381_G2",
    "ED25519",
    "ED25519_PRIV",
    "P256",
    "P384",
    "P521",
    "RSA",
    "SECP256K1",
    "X25519",
    "b58decode",
    "b58encode",
    "multibase_decode",
    "multibase_encode",
    "multicodec_decode",
    "multicodec_encode",
    "varint_decode",
    "varint_encode",
]

# -- multicodec codes (table.csv, tag "key") ------------------------------------------------
ED25519: Final = 0xED  # ed25519-pub
X25519: Final = 0xEC  # x25519-pub
SECP256K1: Final = 0xE7  # secp256k1-pub
P256: Final = 0x1200  # p256-pub
P384: Final = 0x1201  # p384-pub
P521: Final = 0x1202  # p521-pub
BLS12_381_G1: Final = 0xEA  # bls12_381-g1-pub
BLS12_381_G2: Final = 0xEB  # bls12_381-g2-pub
BLS12_381_G1G2: Final = 0xEE  # bls12_381-g1g2-pub
RSA: Final = 0x1205  # rsa-pub
ED25519_PRIV: Final = 0x1300  # ed25519-priv

# -- multibase prefixes -----------------------------------------------------------------------
BASE58BTC: Final = "z"
BASE64URL: Final = "u"

# -- base58btc (draft-msporny-base58, Bitcoin alphabet) -----------------------------------

B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: value for value, char in enumerate(B58_ALPHABET)}
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, digit = divmod(number, 58)
        digits.append(B58_ALPHABET[digit])
    # Each leading zero byte is one leading "1"; the number itself drops them.
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        value = _B58_INDEX.get(char)
        if value is None:
            raise ValueError(f"{char!r} is not a base58btc character")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * zeros + body


# -- unsigned varint (multiformats/unsigned-varint) -----------------------------------------


def varint_encode(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def varint_decode(data: bytes) -> tuple[int, int]:
    """(value, bytes used); the spec allows 9 bytes at most and only minimal encodings."""
    value = 0
    for position, byte in enumerate(data[:9]):
        value |= (byte & 0x7F) << (7 * position)
        if not byte & 0x80:
            if byte == 0 and position > 0:
                raise ValueError("varint is not minimally encoded")
            return value, position + 1
    raise ValueError("truncated or overlong varint")


# -- multibase ----------------------------------------------------------------------------------


def multibase_encode(data: bytes, base: str = BASE58BTC) -> str:
    """``z`` + base58btc (the default) or ``u`` + base64url without padding."""
    if base == BASE58BTC:
        return BASE58BTC + b58encode(data)
    if base == BASE64URL:
        return BASE64URL + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    raise ValueError(f"multibase prefix {base!r} is not supported (use 'z' or 'u')")


def multibase_decode(text: str) -> bytes:
    """The bytes of a ``z`` (base58btc) or ``u`` (canonical unpadded base64url) value."""
    body = text[1:]
    if text[:1] == BASE58BTC:
        return b58decode(body)
    if text[:1] == BASE64URL:
        if not set(body) <= _B64URL:
            raise ValueError("not base64url")
        # b64decode ignores stray padding bits only when told to validate; keep canonical.
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != body:
            raise ValueError("non-canonical base64url")
        return raw
    raise ValueError(f"multibase prefix {text[:1]!r} is not supported (use 'z' or 'u')")


# -- multicodec -----------------------------------------------------------------------------------


def multicodec_encode(code: int, data: bytes) -> bytes:
    """``varint(code) ‖ data``."""
    return varint_encode(code) + data


def multicodec_decode(data: bytes) -> tuple[int, bytes]:
    """(code, the bytes after the prefix); ``ValueError`` for a malformed varint."""
    code, used = varint_decode(data)
    return code, data[used:]
