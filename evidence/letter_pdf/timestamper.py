"""pyHanko's timestamper over any of the hub's timestamp authorities.

pyHanko asks a :class:`pyhanko.sign.timestamps.TimeStamper` for the signature timestamp
token of PAdES-B-T (ETSI EN 319 142-1 §5.3, an RFC 3161 token over the signature value).
This adapter hands that request to a :class:`~evidence.timestamping.protocol.TimestampAuthority`
in process (the embedded TSA, an HTTP one, or the failover client), so the PDF is stamped
by whichever TSA the hub is configured with, and answers with the token it returned.
"""

from __future__ import annotations

import asyncio
import secrets

from asn1crypto import cms
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from evidence.errors import EvidenceError
from evidence.timestamping.protocol import HASH_ALGORITHMS, TimestampAuthority


class AuthorityTimeStamper(TimeStamper):
    def __init__(self, authority: TimestampAuthority) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._authority = authority

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        algorithm = md_algorithm.lower().replace("-", "")
        if algorithm not in HASH_ALGORITHMS:
            raise TimestampRequestError(f"the hub's TSAs do not stamp {md_algorithm} digests")
        nonce = secrets.randbits(63)
        try:
            token = await asyncio.to_thread(
                self._authority.timestamp, message_digest, hash_algorithm=algorithm, nonce=nonce
            )
        except EvidenceError as exc:
            raise TimestampRequestError(
                f"the TSA did not stamp the signature: {exc.message}"
            ) from exc
        return cms.ContentInfo.load(token.token)
