"""Errors of the capture browser (issue 15): pre-flight, session slots and limits, the
browser process and the video.

They derive from the capture service's :class:`evidence.capture.errors.CaptureError`
(codes and HTTP statuses mapped once by ``notary_hub.errors``).
"""

from __future__ import annotations

from evidence.capture.errors import CaptureError


class CaptureBrowserError(CaptureError):
    code = "capture_browser_error"
    status_code = 500


class PreflightFailed(CaptureBrowserError):
    """A pre-flight cleanliness check failed: the session is refused, the message names
    each failed check and its reason (the report itself is on ``report``)."""

    code = "preflight_failed"
    status_code = 503

    def __init__(self, message: str, *, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class SessionsFull(CaptureBrowserError):
    """Every capture slot is taken; the caller may retry later."""

    code = "capture_sessions_full"
    status_code = 503


class SessionEnded(CaptureBrowserError):
    """The session is over (closed, idle too long, or past its maximum duration)."""

    code = "capture_session_ended"
    status_code = 409


class BrowserFailed(CaptureBrowserError):
    """The browser did not start, died, or answered a DevTools command with an error."""

    code = "capture_browser_failed"
    status_code = 502


class InvalidCaptureSettings(CaptureBrowserError):
    """A capture browser configured without a proxy (outside tests), or with bad values."""

    code = "invalid_capture_settings"
    status_code = 500


class VideoFailed(CaptureBrowserError):
    """ffmpeg refused the frames or did not finish the video."""

    code = "capture_video_failed"
    status_code = 500


class InvalidCaptureInput(CaptureBrowserError):
    """An address that is not http(s), an unknown key, a coordinate off the page."""

    code = "invalid_capture_input"
    status_code = 422
