"""Errors of building a presentation (:mod:`wallet.presentations`).

Codes are snake_case, the hub's own family (see :mod:`hub_kernel.errors`).
"""

from __future__ import annotations

from hub_kernel.errors import HubError


class PresentationError(HubError):
    """A presentation that cannot be made as asked: no challenge, domain or credential,
    or a key that cannot sign the format."""

    code = "invalid_presentation"
    status_code = 400
