"""One entry of a capture's hash chain: its members, its hash, its line.

Spec: ``docs/capture-hash-chain.md`` §1 (the members), §2 (the line: RFC 8785,
https://www.rfc-editor.org/rfc/rfc8785, then a line feed) and §4 steps 1-3 (what a line
must be, and how it links to the one before).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import rfc8785

from evidence.capture.errors import CaptureChainBroken, InvalidCaptureItem

__all__ = [
    "KINDS",
    "TIMESTAMP",
    "ZERO_HASH",
    "ChainEntry",
    "Stamp",
    "check_link",
    "format_time",
    "make_entry",
    "parse_line",
    "recomputed_hash",
]

TIMESTAMP = "timestamp"
#: §1: the kinds of item a chain records.
KINDS = frozenset(
    {
        "preflight",
        "screenshot",
        "warc-record",
        "video-segment",
        "action",
        "note",
        "original",
        TIMESTAMP,
    }
)
#: §1: the ``prev`` of entry 0.
ZERO_HASH = "0" * 64
MAX_REF = 1024

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
_BASE = frozenset({"seq", "kind", "sha256", "time", "prev", "hash"})
_STAMP = frozenset({"head_seq", "head", "token", "certs"})


@dataclass(frozen=True)
class Stamp:
    """What a ``timestamp`` entry adds: the head it stamps and the RFC 3161 token."""

    head_seq: int
    head: str
    #: DER TimeStampToken.
    token: bytes
    #: DER certificates completing the token's chain, leaf first.
    certs: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class ChainEntry:
    seq: int
    kind: str
    #: Hex SHA-256 of the item (of the token, for a ``timestamp``).
    sha256: str
    time: str
    prev: str
    hash: str
    ref: str | None = None
    stamp: Stamp | None = None

    def body(self) -> dict[str, Any]:
        """The entry without ``hash``: what the hash is over."""
        body: dict[str, Any] = {
            "seq": self.seq,
            "kind": self.kind,
            "sha256": self.sha256,
            "time": self.time,
            "prev": self.prev,
        }
        if self.ref is not None:
            body["ref"] = self.ref
        if self.stamp is not None:
            body["head_seq"] = self.stamp.head_seq
            body["head"] = self.stamp.head
            body["token"] = _b64(self.stamp.token)
            body["certs"] = [_b64(cert) for cert in self.stamp.certs]
        return body

    def line(self) -> bytes:
        """§2: the entry's line in the chain file."""
        return rfc8785.dumps({**self.body(), "hash": self.hash}) + b"\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _hash_of(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(dict(body))).hexdigest()


def recomputed_hash(entry: ChainEntry) -> str:
    """§1 ``hash``: SHA-256 of the JCS of the entry without ``hash``."""
    return _hash_of(entry.body())


def format_time(moment: datetime) -> str:
    """§1 ``time``: UTC, microseconds, ``Z``."""
    if moment.tzinfo is None:
        raise InvalidCaptureItem("an entry's time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_entry(
    seq: int,
    kind: str,
    digest: bytes,
    moment: datetime,
    prev: str,
    *,
    ref: str | None = None,
    stamp: Stamp | None = None,
) -> ChainEntry:
    """A new entry over an item's SHA-256 ``digest`` (32 bytes), its hash computed."""
    if kind not in KINDS:
        raise InvalidCaptureItem(f"unknown item kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    if (kind == TIMESTAMP) != (stamp is not None):
        raise InvalidCaptureItem("a timestamp entry, and only one, carries a token")
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise InvalidCaptureItem("an item's SHA-256 is 32 bytes")
    if ref is not None and not 1 <= len(ref) <= MAX_REF:
        raise InvalidCaptureItem(f"an item's reference has 1 to {MAX_REF} characters")
    draft = ChainEntry(seq, kind, digest.hex(), format_time(moment), prev, "", ref, stamp)
    return replace(draft, hash=_hash_of(draft.body()))


# -- reading -----------------------------------------------------------------------------


def _fail(seq: int, why: str) -> CaptureChainBroken:
    return CaptureChainBroken(f"chain entry {seq}: {why}", seq)


def _member(value: Mapping[str, Any], name: str, kind: type, seq: int) -> Any:
    member = value[name]
    if not isinstance(member, kind) or isinstance(member, bool):
        raise _fail(seq, f"{name} is not a {kind.__name__}")
    return member


def _hex(value: Mapping[str, Any], name: str, seq: int) -> str:
    member: str = _member(value, name, str, seq)
    if not _HEX64.match(member):
        raise _fail(seq, f"{name} is not 64 lowercase hex digits")
    return member


def _base64(text: Any, name: str, seq: int) -> bytes:
    if not isinstance(text, str):
        raise _fail(seq, f"{name} is not a string")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(seq, f"{name} is not base64") from None
    if _b64(data) != text:
        raise _fail(seq, f"{name} is not canonical base64")
    return data


def _members(value: Any, seq: int) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _fail(seq, "not a JSON object")
    kind = value.get("kind")
    if kind not in KINDS:
        raise _fail(seq, f"unknown kind {kind!r}")
    expected = _BASE | _STAMP if kind == TIMESTAMP else _BASE
    names = value.keys() - {"ref"}
    if names != expected:
        odd = sorted((names - expected) | (expected - names))[0]
        raise _fail(seq, f"member {odd!r} is missing or not allowed")
    return value


def _stamp(value: Mapping[str, Any], seq: int) -> Stamp:
    certs = value["certs"]
    if not isinstance(certs, list):
        raise _fail(seq, "certs is not an array")
    return Stamp(
        head_seq=_member(value, "head_seq", int, seq),
        head=_hex(value, "head", seq),
        token=_base64(value["token"], "token", seq),
        certs=tuple(_base64(cert, "certs[]", seq) for cert in certs),
    )


def _entry(value: Mapping[str, Any], seq: int) -> ChainEntry:
    time = _member(value, "time", str, seq)
    if not _TIME.match(time):
        raise _fail(seq, "time is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    ref = value.get("ref")
    if ref is not None and (not isinstance(ref, str) or not 1 <= len(ref) <= MAX_REF):
        raise _fail(seq, f"ref is not a string of 1 to {MAX_REF} characters")
    return ChainEntry(
        seq=_member(value, "seq", int, seq),
        kind=value["kind"],
        sha256=_hex(value, "sha256", seq),
        time=time,
        prev=_hex(value, "prev", seq),
        hash=_hex(value, "hash", seq),
        ref=ref,
        stamp=_stamp(value, seq) if value["kind"] == TIMESTAMP else None,
    )


def parse_line(line: bytes, seq: int) -> ChainEntry:
    """§4 steps 1 and 3: the entry at position ``seq`` from its line (with or without
    its line feed), in canonical form, its hash recomputed."""
    text = line[:-1] if line.endswith(b"\n") else line
    try:
        value = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _fail(seq, "not a line of JSON") from None
    entry = _entry(_members(value, seq), seq)
    if entry.line()[:-1] != text:
        raise _fail(seq, "the line is not the RFC 8785 form of its entry")
    if _hash_of(entry.body()) != entry.hash:
        raise _fail(seq, "hash mismatch: the entry was altered")
    return entry


def check_link(entry: ChainEntry, seq: int, previous: str) -> None:
    """§4 step 2: the entry sits at ``seq`` and follows the entry whose hash is
    ``previous``."""
    if entry.seq != seq:
        raise _fail(seq, f"says seq {entry.seq}: an entry was removed, inserted or moved")
    if entry.prev != previous:
        raise _fail(seq, "prev is not the previous entry's hash: the chain is broken here")
