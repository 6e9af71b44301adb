"""Errors of the capture service's records (issue 15): its states, its leases, its owners.

The pure capture modules raise their own (:mod:`evidence.capture.errors`, the browser's,
the recorder's); these are the service's. Each derives from
:class:`evidence.capture.errors.CaptureError`, so ``notary_hub.errors`` answers them as
``{"error", "message"}`` with their status.
"""

from __future__ import annotations

from collections.abc import Sequence

from evidence.capture.errors import CaptureError, CaptureStateConflict
from evidence.capture.models import CaptureRecord, CaptureState

__all__ = [
    "CaptureLeaseLost",
    "CaptureNotFound",
    "CaptureStateConflict",
    "InvalidCaptureRequest",
    "lease_lost",
    "out_of_order",
]


class InvalidCaptureRequest(CaptureError):
    """A capture asked for with a bad mode, target, limit or end reason."""

    code = "invalid_capture_request"
    status_code = 422


class CaptureNotFound(CaptureError):
    """No such capture, or not the caller's: a capture's existence is its owner's to know."""

    code = "capture_not_found"
    status_code = 404


class CaptureLeaseLost(CaptureError):
    """The process renewing a capture no longer holds it: its lease lapsed and the capture
    was taken over (marked interrupted, or its sealing resumed elsewhere). The process
    must stop working on it."""

    code = "capture_lease_lost"
    status_code = 409


def lease_lost(record: CaptureRecord, holder: str) -> CaptureLeaseLost:
    return CaptureLeaseLost(
        f"capture {record.id} is {record.state.value} and not held by {holder[:40]!r}: "
        "stop working on it"
    )


def out_of_order(record: CaptureRecord, expected: Sequence[CaptureState]) -> CaptureStateConflict:
    allowed = " or ".join(state.value for state in expected)
    return CaptureStateConflict(
        f"capture {record.id} is {record.state.value}: this step needs it {allowed}"
    )
