"""Errors of the draw service: its state machine, its uploads and its organiser checks.

The pure draw modules raise their own (:mod:`evidence.draw.errors`, the beacon's); these
are the service's. Each derives from :class:`evidence.errors.EvidenceError`, so
``notary_hub.errors`` answers them as ``{"error", "message"}`` with their status.
"""

from __future__ import annotations

from evidence.errors import EvidenceError


class DrawServiceError(EvidenceError):
    code = "draw_error"
    status_code = 400


class InvalidDrawRequest(DrawServiceError):
    """A request body the draw service cannot use (not an object, a wrong member)."""

    code = "invalid_draw_request"
    status_code = 422


class NotDrawOrganiser(DrawServiceError):
    code = "forbidden"
    status_code = 403


class DrawTooEarly(DrawServiceError):
    """The draw is asked for before its beacon round is published."""

    code = "draw_too_early"
    status_code = 409


class RoundTooSoon(DrawServiceError):
    """A commit whose beacon round is published less than the minimum lead after now."""

    code = "round_too_soon"
    status_code = 409


class UploadNotFound(DrawServiceError):
    code = "upload_not_found"
    status_code = 404


class UploadOffsetMismatch(DrawServiceError):
    """A chunk that does not start where the upload stands (its ``Upload-Offset`` header
    says where); nothing of it is kept."""

    code = "upload_offset_mismatch"
    status_code = 409


class UploadClosed(DrawServiceError):
    code = "upload_closed"
    status_code = 409


class UploadIncomplete(DrawServiceError):
    """Finishing an upload that holds fewer bytes than it declared: a file cut off."""

    code = "upload_incomplete"
    status_code = 400


class ReceiptNotFound(DrawServiceError):
    code = "receipt_not_found"
    status_code = 404
