"""What a timestamp authority hands back, and the interface every authority offers.

RFC 3161 "Internet X.509 Public Key Infrastructure Time-Stamp Protocol (TSP)",
https://www.rfc-editor.org/rfc/rfc3161 §2.4.2: a TimeStampToken is a CMS ContentInfo
holding SignedData over a TSTInfo (genTime, serialNumber, messageImprint, ...).
:class:`TimestampToken` keeps the token exactly as the authority returned it, next to
the fields the hub reads often, and the TSA certificate chain so that the token can be
verified offline later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from evidence.errors import InvalidDeposit, UnsupportedHashAlgorithm

__all__ = [
    "HASH_ALGORITHMS",
    "TimestampAuthority",
    "TimestampToken",
    "check_digest",
]

#: The message-imprint hash algorithms accepted anywhere in this package, with their
#: digest sizes (the names are asn1crypto's and rfc3161-client's spellings).
HASH_ALGORITHMS: dict[str, int] = {"sha256": 32, "sha384": 48, "sha512": 64}


def check_digest(digest: bytes, hash_algorithm: str) -> None:
    """Refuse an algorithm outside :data:`HASH_ALGORITHMS` or a digest of the wrong size."""
    size = HASH_ALGORITHMS.get(hash_algorithm)
    if size is None:
        raise UnsupportedHashAlgorithm(
            f"unsupported hash algorithm {hash_algorithm!r}; "
            f"accepted: {', '.join(sorted(HASH_ALGORITHMS))}"
        )
    if not isinstance(digest, bytes) or len(digest) != size:
        got = len(digest) if isinstance(digest, bytes) else type(digest).__name__
        raise InvalidDeposit(f"a {hash_algorithm} digest is {size} bytes, got {got}")


@dataclass(frozen=True)
class TimestampToken:
    """An RFC 3161 time-stamp token and what it says."""

    #: DER ContentInfo (SignedData over TSTInfo), byte for byte as the TSA returned it.
    token: bytes
    #: TSTInfo.genTime, timezone-aware UTC.
    gen_time: datetime
    serial_number: int
    #: The authority's name or URL.
    tsa: str
    hash_algorithm: str
    message_imprint: bytes
    #: DER certificates of the TSA chain, leaf first, including the root if known.
    certificates: tuple[bytes, ...]


@runtime_checkable
class TimestampAuthority(Protocol):
    """Anything that can time-stamp a digest: the embedded TSA, an HTTP TSA, a client."""

    name: str

    def timestamp(
        self, digest: bytes, *, hash_algorithm: str = "sha256", nonce: int | None = None
    ) -> TimestampToken:
        """A token over ``digest``; errors are :class:`~evidence.errors.TimestampError`
        (a bad answer) or :class:`~evidence.errors.TimestampUnavailable` (no answer)."""
        ...
