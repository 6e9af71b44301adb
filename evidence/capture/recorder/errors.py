"""Errors of the capture recorder (issue 15): the proxy process that cannot start or stop."""

from __future__ import annotations

from evidence.errors import EvidenceError

__all__ = ["RecorderError", "RecorderFailed", "RecorderUnavailable"]


class RecorderError(EvidenceError):
    code = "recorder_error"
    status_code = 500


class RecorderUnavailable(RecorderError):
    """The capture venv (``make .venv-capture/.installed``) is not there: nothing can record."""

    code = "recorder_unavailable"
    status_code = 503


class RecorderFailed(RecorderError):
    """The proxy exited or did not answer in time; its own last output is in the message."""

    code = "recorder_failed"
    status_code = 503
