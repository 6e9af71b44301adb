"""Errors of the authorisation server: RFC 6749 §5.2 codes (and RFC 6750 §3.1's).

Every error is a :class:`hub_kernel.errors.HubError`, so the hub answers it as one
``{"error", "message"}`` body; the OAuth endpoints themselves answer RFC 6749's
``{"error", "error_description"}`` (:mod:`oauth_server.server`). The code keeps the
RFC's spelling (``invalid_grant``), per the casing rule of ``hub_kernel.errors``.
https://www.rfc-editor.org/rfc/rfc6749#section-5.2
https://www.rfc-editor.org/rfc/rfc6750#section-3.1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from hub_kernel.errors import HubError

__all__ = ["OAUTH_STATUS", "OAuthError"]

# The HTTP status each RFC 6749 / 6750 / 7591 / 9126 code is answered with.
OAUTH_STATUS: dict[str, int] = {
    "invalid_request": 400,
    "invalid_client": 401,
    "invalid_grant": 400,
    "invalid_scope": 400,
    "unauthorized_client": 400,
    "unsupported_grant_type": 400,
    "unsupported_response_type": 400,
    "unsupported_token_type": 400,
    "invalid_token": 401,
    "insufficient_scope": 403,
    "access_denied": 403,
    "invalid_redirect_uri": 400,
    "invalid_client_metadata": 400,
    "invalid_request_uri": 400,
    "not_found": 404,
    "slow_down": 429,
}


class OAuthError(HubError):
    """An OAuth refusal; ``code`` is the RFC's error code, set per instance."""

    code: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, headers=headers)
        # Instance attributes shadow the class defaults: one class, every RFC code.
        self.code = code  # type: ignore[misc]
        self.status_code = status_code or OAUTH_STATUS.get(code, 400)  # type: ignore[misc]
