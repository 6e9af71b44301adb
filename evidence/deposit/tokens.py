"""The RFC 3161 time-stamp token of a deposit: checked, recorded on its row, read back.

RFC 3161 (https://www.rfc-editor.org/rfc/rfc3161) §2.4.1: the token's messageImprint
must be the SHA-256 of the deposit's content, the digest the pipeline sent.
"""

from __future__ import annotations

import base64
import hmac
from datetime import datetime
from typing import Any

from evidence.deposit.models import Deposit, as_utc
from evidence.errors import EvidenceError, TimestampError
from evidence.timestamping.protocol import TimestampToken

IMPRINT_ALGORITHM = "sha256"


def check_token(token: TimestampToken, sha256: bytes) -> None:
    if token.hash_algorithm != IMPRINT_ALGORITHM or not hmac.compare_digest(
        token.message_imprint, sha256
    ):
        raise TimestampError(f"{token.tsa} time-stamped another digest than the one sent")


def token_values(deposit_id: str, token: TimestampToken, now: datetime) -> dict[str, Any]:
    return {
        "id": deposit_id,
        "timestamped_at": now,
        "timestamp_token": token.token,
        "tsa": token.tsa[:500],
        "gen_time": token.gen_time,
        "timestamp_serial": str(token.serial_number),
        "timestamp_hash_algorithm": token.hash_algorithm,
        "timestamp_certificates": [base64.b64encode(der).decode() for der in token.certificates],
    }


def stored_token(row: Deposit) -> TimestampToken:
    """The :class:`TimestampToken` recorded on a timestamped deposit's row."""
    if row.timestamp_token is None or row.gen_time is None or row.timestamp_serial is None:
        raise EvidenceError(f"deposit {row.id} has no timestamp token")
    return TimestampToken(
        token=bytes(row.timestamp_token),
        gen_time=as_utc(row.gen_time),
        serial_number=int(row.timestamp_serial),
        tsa=row.tsa or "",
        hash_algorithm=row.timestamp_hash_algorithm or IMPRINT_ALGORITHM,
        message_imprint=bytes(row.sha256),
        certificates=tuple(base64.b64decode(c) for c in row.timestamp_certificates or ()),
    )
