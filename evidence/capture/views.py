"""A capture as the API shows it to its owner (JSON): never the owner's token, the
process lease's holder or an internal error's trace."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from evidence.capture.models import CaptureMode, CaptureRecord, CaptureState

PREFIX = "/captures"
S_LIVE = CaptureState.LIVE


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _hex(value: bytes | None) -> str | None:
    return value.hex() if value is not None else None


def capture_json(record: CaptureRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.id,
        "mode": record.mode.value,
        "state": record.state.value,
        "target": record.target,
        "limits": record.limits,
        "owner": record.owner,
        "createdAt": _iso(record.created_at),
        "startedAt": _iso(record.started_at),
        "endedAt": _iso(record.ended_at),
        "endReason": record.end_reason.value if record.end_reason else None,
        "outcome": record.outcome,
        "interrupted": record.interrupted,
        "interruptionReason": record.interruption_reason,
        "refusal": list(record.refusal) if record.refusal is not None else None,
        "preflightSha256": _hex(record.preflight_sha256),
        "chainHead": _hex(record.chain_head),
        "chainLength": record.chain_length,
        "packageSha256": _hex(record.package_sha256),
        "packageSize": record.package_size,
        "sealedAt": _iso(record.sealed_at),
        "sealError": record.error if record.state is not CaptureState.SEALED else None,
        "links": {"self": f"{PREFIX}/{record.id}"},
    }
    if record.mode is CaptureMode.LIVE and record.state in (CaptureState.PREFLIGHT, S_LIVE):
        body["links"]["live"] = f"{PREFIX}/{record.id}/live"  # with its cookie, or a ticket
    if record.state is CaptureState.SEALED:
        body["links"] |= {
            "letter": f"{PREFIX}/{record.id}/letter",
            "package": f"{PREFIX}/{record.id}/package",
        }
    return body
