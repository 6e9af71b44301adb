"""A third party's check of a capture's hash chain: every link and every time-stamp.

Spec: ``docs/capture-hash-chain.md`` §4. Each token is checked by the hub's RFC 3161
verifier (:func:`evidence.timestamping.verify.verify_token`: the imprint, the CMS
signature, the TSA certificate and its path to the caller's trust roots at genTime).
The first failing entry is named (:attr:`CaptureChainBroken.seq`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from evidence.capture.chain_entry import (
    TIMESTAMP,
    ZERO_HASH,
    ChainEntry,
    check_link,
    recomputed_hash,
)
from evidence.capture.errors import CaptureChainBroken
from evidence.errors import InvalidTimestampToken
from evidence.timestamping.verify import verify_token

__all__ = ["ChainReport", "StampReport", "verify_chain"]


@dataclass(frozen=True)
class StampReport:
    seq: int
    head_seq: int
    gen_time: datetime
    tsa_subject: str


@dataclass(frozen=True)
class ChainReport:
    length: int
    head: str
    stamps: tuple[StampReport, ...]
    #: The last entry is a token over the entry just before it (§4).
    sealed: bool


def _fail(seq: int, why: str) -> CaptureChainBroken:
    return CaptureChainBroken(f"chain entry {seq}: {why}", seq)


def _check_stamp(
    entry: ChainEntry, hashes: Sequence[str], tsa_trust: Sequence[x509.Certificate]
) -> StampReport:
    """§4 step 4, for a ``timestamp`` entry whose earlier entries' hashes are ``hashes``."""
    stamp, seq = entry.stamp, entry.seq
    if stamp is None:
        raise _fail(seq, "a timestamp entry without its token")
    if hashlib.sha256(stamp.token).hexdigest() != entry.sha256:
        raise _fail(seq, "sha256 is not the token's SHA-256")
    if not 0 <= stamp.head_seq < seq:
        raise _fail(seq, f"head_seq {stamp.head_seq} is not an earlier entry")
    if not hmac.compare_digest(hashes[stamp.head_seq], stamp.head):
        raise _fail(seq, f"head is not the hash of entry {stamp.head_seq}")
    try:
        verified = verify_token(
            stamp.token,
            bytes.fromhex(stamp.head),
            trust_roots=tsa_trust,
            certificates=stamp.certs,
            hash_algorithm="sha256",
        )
    except InvalidTimestampToken as exc:
        raise _fail(seq, f"the token over entry {stamp.head_seq}: {exc.message}") from None
    return StampReport(seq, stamp.head_seq, verified.gen_time, verified.tsa_subject)


def verify_chain(
    entries: Iterable[ChainEntry],
    tsa_trust: Sequence[x509.Certificate],
    *,
    require_sealed: bool = True,
) -> ChainReport:
    """Check ``entries`` (e.g. :func:`~evidence.capture.hash_chain.read_chain`) in order
    with tokens trusted only through ``tsa_trust`` (TSA root certificates); raises
    :class:`CaptureChainBroken` naming the first failing entry."""
    hashes: list[str] = []
    stamps: list[StampReport] = []
    last: ChainEntry | None = None
    for seq, entry in enumerate(entries):
        check_link(entry, seq, hashes[-1] if hashes else ZERO_HASH)
        if recomputed_hash(entry) != entry.hash:
            raise _fail(seq, "hash mismatch: the entry was altered")
        if entry.kind == TIMESTAMP:
            report = _check_stamp(entry, hashes, tsa_trust)
            if stamps and report.gen_time < stamps[-1].gen_time:
                raise _fail(seq, "the token's genTime is earlier than the previous token's")
            stamps.append(report)
        hashes.append(entry.hash)
        last = entry
    if last is None:
        raise CaptureChainBroken("the chain is empty")
    sealed = last.stamp is not None and last.stamp.head_seq == last.seq - 1
    if require_sealed and not sealed:
        raise _fail(
            last.seq, "the chain is not sealed: its last entry is not a token over the one before"
        )
    return ChainReport(len(hashes), last.hash, tuple(stamps), sealed)
