"""Errors of the capture service (issue 15): one :class:`CaptureError` family.

Each class carries a snake_case ``code`` and its HTTP ``status_code`` (the rule of
:mod:`hub_kernel.errors`); ``notary_hub.errors`` turns them into responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evidence.errors import EvidenceError

__all__ = [
    "CaptureChainBroken",
    "CaptureChainCorrupt",
    "CaptureError",
    "CaptureStateConflict",
    "CaptureStepFailed",
    "InvalidCaptureItem",
    "InvalidCaptureStep",
    "InvalidWaczInput",
    "WaczVerificationFailed",
]


class CaptureError(EvidenceError):
    code = "capture_error"
    status_code = 500


class InvalidCaptureItem(CaptureError):
    """An item that cannot enter the chain (unknown kind, malformed digest or reference)."""

    code = "invalid_capture_item"
    status_code = 422


class CaptureChainCorrupt(CaptureError):
    """The hub's own chain file, on reopening, is damaged before its last line: it is
    never repaired silently (only a torn last line is dropped)."""

    code = "capture_chain_corrupt"
    status_code = 500


class CaptureChainBroken(CaptureError):
    """A chain that does not verify; ``seq`` is the first failing entry (None when the
    chain as a whole fails, e.g. it is empty)."""

    code = "capture_chain_broken"
    status_code = 422

    def __init__(
        self, message: str, seq: int | None = None, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, headers=headers)
        self.seq = seq


class CaptureStateConflict(CaptureError):
    """An operation the capture's state does not allow, the capture left as it was: an
    action after its end, a second end, a seal before the end, a session directory that
    already exists."""

    code = "capture_state_conflict"
    status_code = 409


class InvalidCaptureStep(CaptureError):
    """A scripted capture step that is refused before any step runs; ``index`` is its
    position in the script (None when the script as a whole is refused)."""

    code = "invalid_capture_step"
    status_code = 422

    def __init__(
        self, message: str, index: int | None = None, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, headers=headers)
        self.index = index


class CaptureStepFailed(CaptureError):
    """A scripted step that failed while running (or the script's time cap reached);
    ``index`` is the step's position, ``recorded`` the session as it was ended then (a
    :class:`~evidence.capture.session_record.RecordedSession`, when there is one)."""

    code = "capture_step_failed"
    status_code = 422

    def __init__(
        self, message: str, index: int, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, headers=headers)
        self.index = index
        self.recorded: Any = None


class InvalidWaczInput(CaptureError):
    """What a WACZ cannot be built from: a bad resource path, a page not in the archive."""

    code = "invalid_wacz_input"
    status_code = 422


class WaczVerificationFailed(CaptureError):
    """A WACZ that does not verify; ``check`` names the first failing check or file."""

    code = "wacz_verification_failed"
    status_code = 422

    def __init__(
        self, message: str, check: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, headers=headers)
        self.check = check
