"""W3C Bitstring Status List v1.0: the bitstring, its encoding, entries, list credentials.

https://www.w3.org/TR/vc-bitstring-status-list/ — §2.1 BitstringStatusListEntry,
§2.2 BitstringStatusListCredential, §3.1 Generate Algorithm, §3.2 Validate Algorithm,
§3.3 Bitstring Generation Algorithm, §3.4 Bitstring Expansion Algorithm. Pure: no I/O.

Index 0 is the left-most bit of the bitstring, i.e. the most significant bit of its
first byte. Only ``statusSize`` 1 is supported (§1.3 lets conforming processors do
so); the purposes the hub issues are ``revocation`` (permanent) and ``suspension``
(reversible), one list per purpose. Errors carry the spec's §3.5 error names as codes.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from credentials.errors import StatusError
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1
from hub_kernel.multiformats import BASE64URL, multibase_encode

MIN_ENTRIES = 131_072  # §3.2 step 2: 16 KB of 1-bit entries
MAX_LIST_BYTES = 16 * 1024 * 1024  # decompressed: refuses gzip bombs (128 Mi entries)
# gzip of incompressible data is a little larger than the data; base64 adds a third.
MAX_ENCODED_CHARS = 1 + (MAX_LIST_BYTES + MAX_LIST_BYTES // 64 + 1024) * 4 // 3
MAX_INDEX_DIGITS = 18  # far beyond any list this module accepts
DEFAULT_TTL_MS = 300_000  # §2.2 ttl: the default when absent

REVOCATION = "revocation"
SUSPENSION = "suspension"
PURPOSES = (REVOCATION, SUSPENSION)

ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_INDEX = re.compile(r"[0-9]+")


class MalformedStatusValue(StatusError):
    """§3.5 MALFORMED_VALUE_ERROR: an entry or list that breaks a MUST of §2."""

    code = "MALFORMED_VALUE_ERROR"


class StatusVerificationError(StatusError):
    """§3.5 STATUS_VERIFICATION_ERROR: the list does not apply to the entry, or is untrusted."""

    code = "STATUS_VERIFICATION_ERROR"


class StatusListLengthError(StatusError):
    """§3.5 STATUS_LIST_LENGTH_ERROR: fewer than the minimum number of entries."""

    code = "STATUS_LIST_LENGTH_ERROR"


class StatusRangeError(StatusError):
    """VC Data Model 2.0 RANGE_ERROR: the index is outside the list."""

    code = "RANGE_ERROR"


class Bitstring:
    """A mutable bitstring of ``len(self)`` bits, a whole number of bytes."""

    __slots__ = ("_bits",)

    def __init__(self, size: int = MIN_ENTRIES) -> None:
        if size <= 0 or size % 8:
            raise ValueError(f"a bitstring is a positive whole number of bytes, not {size} bits")
        self._bits = bytearray(size // 8)

    @classmethod
    def from_bytes(cls, data: bytes) -> Bitstring:
        if not data:
            raise ValueError("a bitstring is at least one byte")
        bitstring = cls(8)
        bitstring._bits = bytearray(data)
        return bitstring

    def __len__(self) -> int:
        return len(self._bits) * 8

    def __bytes__(self) -> bytes:
        return bytes(self._bits)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bitstring) and self._bits == other._bits

    def __hash__(self) -> int:
        return hash(bytes(self._bits))

    def get(self, index: int) -> bool:
        byte, mask = self._position(index)
        return bool(self._bits[byte] & mask)

    def set(self, index: int, value: bool) -> None:
        byte, mask = self._position(index)
        if value:
            self._bits[byte] |= mask
        else:
            self._bits[byte] &= ~mask & 0xFF

    def count(self) -> int:
        """How many bits are set."""
        return int.from_bytes(self._bits, "big").bit_count()

    def unset_positions(self) -> list[int]:
        """Every index whose bit is 0, in order."""
        free: list[int] = []
        for byte_index, byte in enumerate(self._bits):
            if byte != 0xFF:
                base = byte_index * 8
                free.extend(base + bit for bit in range(8) if not byte & (0x80 >> bit))
        return free

    def _position(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self):
            raise StatusRangeError(f"index {index} is outside the {len(self)}-bit status list")
        return index // 8, 0x80 >> (index % 8)


# -- encodedList (§2.2, §3.3, §3.4) -------------------------------------------------------


def compress_bits(bits: Bitstring) -> bytes:
    """§3.3 step 2: the GZIP-compressed bitstring (the bytes an ``encodedList`` carries).

    ``mtime=0`` keeps the output a function of the bits alone.
    """
    return gzip.compress(bytes(bits), compresslevel=9, mtime=0)


def encode_list(bits: Bitstring) -> str:
    """``encodedList``: multibase 'u' + base64url (no padding) of the GZIP-compressed bits."""
    return multibase_encode(compress_bits(bits), BASE64URL)


def encoded_list_bytes(encoded: object) -> bytes:
    """§3.4 step 1: the GZIP bytes of an ``encodedList`` (multibase base64url decoded)."""
    if not isinstance(encoded, str):
        raise MalformedStatusValue("encodedList must be a string")
    if not encoded.startswith("u"):
        raise MalformedStatusValue("encodedList must be multibase base64url (start with 'u')")
    body = encoded[1:]
    if len(encoded) > MAX_ENCODED_CHARS:
        raise MalformedStatusValue(f"encodedList is longer than {MAX_ENCODED_CHARS} characters")
    if not _BASE64URL.fullmatch(body) or len(body) % 4 == 1:
        raise MalformedStatusValue("encodedList is not base64url without padding")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error as exc:
        raise MalformedStatusValue(f"encodedList is not base64url: {exc}") from exc


def expand_bits(compressed: bytes, *, max_bytes: int = MAX_LIST_BYTES) -> Bitstring:
    """§3.4 step 2: inflate GZIP bytes to the bitstring, refusing more than ``max_bytes``."""
    data = _gunzip(compressed, max_bytes)
    if not data:
        raise MalformedStatusValue("encodedList decompresses to an empty bitstring")
    return Bitstring.from_bytes(data)


def decode_list(encoded: object, *, max_bytes: int = MAX_LIST_BYTES) -> Bitstring:
    """The Bitstring Expansion Algorithm, refusing more than ``max_bytes`` decompressed."""
    return expand_bits(encoded_list_bytes(encoded), max_bytes=max_bytes)


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """RFC 1952 members one after another, never inflating more than ``max_bytes + 1``."""
    out = bytearray()
    while True:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, max_bytes + 1 - len(out))
        except zlib.error as exc:
            raise MalformedStatusValue(f"encodedList is not GZIP data: {exc}") from exc
        if len(out) > max_bytes or inflater.unconsumed_tail:
            raise MalformedStatusValue(
                f"encodedList decompresses to more than {max_bytes} bytes; refused"
            )
        if not inflater.eof:
            raise MalformedStatusValue("encodedList is truncated GZIP data")
        data = inflater.unused_data
        if not data:
            return bytes(out)


# -- entries (§2.1) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusEntry:
    purpose: str
    index: int
    list_url: str
    id: str | None = None

    def to_json(self) -> dict[str, str]:
        return build_entry(self.list_url, self.purpose, self.index, entry_id=self.id)


def build_entry(
    list_url: str, purpose: str, index: int, *, entry_id: str | None = None
) -> dict[str, str]:
    """A ``credentialStatus`` entry; its ``id`` defaults to ``<list url>#<index>``."""
    if index < 0:
        raise ValueError("a status list index is not negative")
    return {
        "id": entry_id if entry_id is not None else f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def parse_entry(entry: object) -> StatusEntry:
    """Check a BitstringStatusListEntry against §2.1."""
    if not isinstance(entry, Mapping):
        raise MalformedStatusValue("a credentialStatus entry must be an object")
    if _types(entry.get("type")) != [ENTRY_TYPE]:
        raise MalformedStatusValue(f"the status entry's type must be {ENTRY_TYPE}")
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise MalformedStatusValue("statusPurpose must be a non-empty string")
    raw_index = entry.get("statusListIndex")
    if not isinstance(raw_index, str) or not _INDEX.fullmatch(raw_index):
        raise MalformedStatusValue("statusListIndex must be a base-10 integer as a string")
    if len(raw_index) > MAX_INDEX_DIGITS:
        raise StatusRangeError(f"statusListIndex {raw_index[:24]}… is beyond any status list")
    size = entry.get("statusSize", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise MalformedStatusValue("statusSize must be an integer greater than zero")
    if size != 1:
        raise MalformedStatusValue(f"statusSize {size} is not supported (only 1)")
    list_url = entry.get("statusListCredential")
    if not isinstance(list_url, str) or not is_url(list_url):
        raise MalformedStatusValue("statusListCredential must be an http(s) URL")
    entry_id = entry.get("id")
    if entry_id is not None and not isinstance(entry_id, str):
        raise MalformedStatusValue("the status entry's id must be a string")
    if entry_id == list_url:
        raise MalformedStatusValue("the status entry's id must not be the status list's URL")
    return StatusEntry(purpose=purpose, index=int(raw_index), list_url=list_url, id=entry_id)


def is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("https", "http") and bool(parts.netloc) and value.isprintable()


# -- list credentials (§2.2, §3.1) --------------------------------------------------------


def build_list_credential(
    *,
    list_url: str,
    issuer: str,
    purpose: str,
    bits: Bitstring,
    valid_from: str,
    anchor: Mapping[str, Any] | None = None,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """An unsigned BitstringStatusListCredential (§3.1 steps 2-4), ready for a proof.

    ``anchor`` (the on-chain ``statusListAnchor``) brings in the hub's context.
    """
    if len(bits) < MIN_ENTRIES:
        raise StatusListLengthError(f"a status list has at least {MIN_ENTRIES} entries")
    subject: dict[str, Any] = {
        "id": f"{list_url}#list",
        "type": LIST_TYPE,
        "statusPurpose": purpose,
        "encodedList": encode_list(bits),
    }
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2, NOTARY_HUB_V1] if anchor is not None else [CREDENTIALS_V2],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": subject,
    }
    if anchor is not None:
        credential["statusListAnchor"] = dict(anchor)
    return credential


@dataclass(frozen=True, slots=True)
class StatusList:
    """The parts of a list credential the Validate Algorithm reads."""

    url: str | None  # the credential's id
    issuer: str
    purposes: tuple[str, ...]
    bits: Bitstring


def parse_list_credential(
    credential: object, *, max_bytes: int = MAX_LIST_BYTES, min_entries: int = MIN_ENTRIES
) -> StatusList:
    """Check a BitstringStatusListCredential against §2.2 and expand its bitstring."""
    if not isinstance(credential, Mapping):
        raise MalformedStatusValue("a status list credential must be an object")
    if LIST_CREDENTIAL_TYPE not in _types(credential.get("type")):
        raise StatusVerificationError(f"the status list credential is not a {LIST_CREDENTIAL_TYPE}")
    url = credential.get("id")
    if url is not None and not isinstance(url, str):
        raise MalformedStatusValue("the status list credential's id must be a string")
    issuer = issuer_id(credential)
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise MalformedStatusValue("the status list credential needs one credentialSubject object")
    if _types(subject.get("type")) != [LIST_TYPE]:
        raise MalformedStatusValue(f"the status list's credentialSubject type must be {LIST_TYPE}")
    purposes = subject.get("statusPurpose")
    listed = [purposes] if isinstance(purposes, str) else purposes
    if not isinstance(listed, list) or not listed or not all(isinstance(p, str) for p in listed):
        raise MalformedStatusValue("the status list's statusPurpose must be one or more strings")
    bits = decode_list(subject.get("encodedList"), max_bytes=max_bytes)
    if len(bits) < min_entries:  # §3.2 step 9, with statusSize 1
        raise StatusListLengthError(
            f"the status list has {len(bits)} entries, fewer than the minimum {min_entries}"
        )
    return StatusList(url=url, issuer=issuer, purposes=tuple(listed), bits=bits)


def issuer_id(credential: Mapping[str, Any]) -> str:
    """A credential's issuer: the string, or the ``id`` of the issuer object."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not issuer:
        raise MalformedStatusValue("the credential has no issuer id")
    return issuer


def lookup(entry: StatusEntry, status_list: StatusList) -> bool:
    """§3.2 steps 5 and 10: the entry's bit in a list that applies to it (True: set)."""
    if status_list.url is not None and status_list.url != entry.list_url:
        raise StatusVerificationError(
            f"the status list is {status_list.url}, not the entry's {entry.list_url}"
        )
    if entry.purpose not in status_list.purposes:
        raise StatusVerificationError(
            f"the entry's statusPurpose {entry.purpose!r} is not the list's "
            f"({', '.join(status_list.purposes)})"
        )
    return status_list.bits.get(entry.index)


def status_of(entry: object, list_credential: object) -> bool:
    """The Validate Algorithm for a list credential whose proof the caller has checked.

    True when the entry's bit is set (revoked, suspended); False when it is not.
    """
    return lookup(parse_entry(entry), parse_list_credential(list_credential))


def _types(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return list(value)
    return []
