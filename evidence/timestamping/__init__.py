"""RFC 3161 time-stamping: the hub's embedded TSA, clients of external TSAs, and offline
verification of tokens (RFC 3161, https://www.rfc-editor.org/rfc/rfc3161; RFC 5816)."""

from evidence.timestamping.client import HttpTimestampAuthority, TimestampClient
from evidence.timestamping.embedded_tsa import DEFAULT_POLICY, EmbeddedTimestampAuthority
from evidence.timestamping.protocol import (
    HASH_ALGORITHMS,
    TimestampAuthority,
    TimestampToken,
    check_digest,
)
from evidence.timestamping.tsa_http import (
    MAX_REQUEST_BYTES,
    TIMESTAMP_QUERY_MEDIA_TYPE,
    TIMESTAMP_REPLY_MEDIA_TYPE,
    TimestampResponder,
    handle_request,
)
from evidence.timestamping.tsa_keys import TsaKeyMaterial
from evidence.timestamping.verify import VerifiedTimestamp, verify_token

__all__ = [
    "DEFAULT_POLICY",
    "HASH_ALGORITHMS",
    "MAX_REQUEST_BYTES",
    "TIMESTAMP_QUERY_MEDIA_TYPE",
    "TIMESTAMP_REPLY_MEDIA_TYPE",
    "EmbeddedTimestampAuthority",
    "HttpTimestampAuthority",
    "TimestampAuthority",
    "TimestampClient",
    "TimestampResponder",
    "TimestampToken",
    "TsaKeyMaterial",
    "VerifiedTimestamp",
    "check_digest",
    "handle_request",
    "verify_token",
]
