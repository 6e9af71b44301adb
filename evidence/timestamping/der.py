"""Just enough DER (ITU-T X.690 §8, §10) to splice a time-stamp token together.

The embedded TSA encodes a token's constant parts once with asn1crypto and each
token's few variable ones here: tag, definite length, contents. Only what a token
needs: SEQUENCE, SET OF (elements given already in DER order), INTEGER (non-negative),
OCTET STRING, GeneralizedTime to the second, and context-specific tags.
"""

from __future__ import annotations

from datetime import UTC, datetime

_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_OCTET_STRING = 0x04
_GENERALIZED_TIME = 0x18
_CONTEXT_CONSTRUCTED = 0xA0


def length(size: int) -> bytes:
    """X.690 §8.1.3: the short form below 128, else the long form in the fewest octets."""
    if size < 0x80:
        return bytes((size,))
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def tlv(tag: int, contents: bytes) -> bytes:
    return bytes((tag,)) + length(len(contents)) + contents


def sequence(*elements: bytes) -> bytes:
    return tlv(_SEQUENCE, b"".join(elements))


def set_of(*elements: bytes) -> bytes:
    """A SET OF whose ``elements`` the caller gave in DER order (X.690 §11.6)."""
    return tlv(_SET, b"".join(elements))


def integer(value: int) -> bytes:
    """X.690 §8.3: two's complement in the fewest octets (a leading 0 keeps it positive)."""
    if value < 0:
        raise ValueError("only non-negative integers are encoded here")
    return tlv(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def octet_string(value: bytes) -> bytes:
    return tlv(_OCTET_STRING, value)


def generalized_time(value: datetime) -> bytes:
    """X.690 §11.7: UTC, ``Z``, no fraction (the TSA's genTime is whole seconds)."""
    utc = value.astimezone(UTC)
    if utc.microsecond:
        raise ValueError("a GeneralizedTime here is whole seconds")
    return tlv(_GENERALIZED_TIME, utc.strftime("%Y%m%d%H%M%SZ").encode("ascii"))


def explicit(number: int, encoded: bytes) -> bytes:
    """``[number] EXPLICIT``: the encoded value wrapped in a constructed context tag."""
    return tlv(_CONTEXT_CONSTRUCTED | number, encoded)


def implicit(number: int, encoded: bytes) -> bytes:
    """``[number] IMPLICIT`` over a constructed value: its tag replaced, contents kept."""
    if not encoded or not encoded[0] & 0x20 or encoded[0] & 0x1F == 0x1F:
        raise ValueError("an implicit tag here replaces a one-octet constructed tag")
    return bytes((_CONTEXT_CONSTRUCTED | number,)) + encoded[1:]
