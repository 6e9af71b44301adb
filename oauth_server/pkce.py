"""PKCE (RFC 7636) with S256 only, required of every client using the code grant.

RFC 9700 §2.1.1: clients use PKCE and the authorisation server enforces it, and §4.8
(PKCE downgrade): a request without ``code_challenge``, or with ``plain``, is refused,
so an attacker can never strip or weaken the challenge. Built on Authlib's
:class:`~authlib.oauth2.rfc7636.CodeChallenge`, which checks the verifier.
https://www.rfc-editor.org/rfc/rfc7636#section-4.2
https://www.rfc-editor.org/rfc/rfc9700#section-4.8
"""

from __future__ import annotations

import re
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

from oauth_server.errors import OAuthError

METHOD = "S256"
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters of the base64url alphabet.
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


def check_challenge(challenge: str | None, method: str | None) -> str:
    """The challenge of an authorisation request, if it is S256; refused otherwise."""
    if not challenge:
        raise OAuthError("invalid_request", "code_challenge is required (PKCE, RFC 7636)")
    if method != METHOD:
        raise OAuthError(
            "invalid_request", f"code_challenge_method must be S256, not {method or 'absent'}"
        )
    if not S256_CHALLENGE.fullmatch(challenge):
        raise OAuthError("invalid_request", "code_challenge is not a base64url SHA-256")
    return challenge


class RequiredS256(CodeChallenge):  # type: ignore[misc]
    """Authlib's PKCE extension, S256 only, with a challenge required of every code."""

    DEFAULT_CODE_CHALLENGE_METHOD = METHOD
    SUPPORTED_CODE_CHALLENGE_METHOD = [METHOD]  # noqa: RUF012 (Authlib's attribute)

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        try:
            check_challenge(data.get("code_challenge"), data.get("code_challenge_method"))
        except OAuthError as refused:
            raise InvalidRequestError(refused.message) from None
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        verifier = grant.request.form.get("code_verifier")
        if not verifier:
            # Every code carries a challenge: a token request without a verifier is refused
            # whatever the client's authentication.
            raise InvalidRequestError("code_verifier is required (PKCE, RFC 7636)")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: Any) -> str:
        challenge: str = authorization_code.code_challenge
        return challenge

    def get_authorization_code_challenge_method(self, authorization_code: Any) -> str:
        return METHOD


__all__ = ["METHOD", "RequiredS256", "check_challenge"]
