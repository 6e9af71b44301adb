"""The device authorisation grant (RFC 8628) on Authlib's ``rfc8628`` classes.

- :class:`HubDeviceAuthorizationEndpoint` (§3.1-3.2) at ``POST /oauth/device_authorization``:
  the client authenticates as at the token endpoint (a public client by its
  ``client_id``), must be registered for the device grant (``unauthorized_client``) and
  may ask only for scopes it registered (``invalid_scope``; none asked: all of them). It
  answers ``device_code``, ``user_code``, ``verification_uri`` (the hub's ``/device``
  page), ``verification_uri_complete``, ``expires_in`` and ``interval``.
- :class:`DeviceCodeGrant` (§3.4-3.5) at the token endpoint, grant type
  ``urn:ietf:params:oauth:grant-type:device_code``: ``authorization_pending`` until the
  person answers on the verification page, ``slow_down`` for a poll sooner than the
  interval (which grows by 5 s), ``expired_token``, ``access_denied``; once approved,
  a token for the person (their pairwise ``sub``) with the scopes they granted, and a
  refresh token when the client may refresh. The device code is used once
  (:mod:`oauth_server.device_codes`).
https://www.rfc-editor.org/rfc/rfc8628#section-3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    AuthorizationPendingError,
    DeviceAuthorizationEndpoint,
    ExpiredTokenError,
    SlowDownError,
)
from authlib.oauth2.rfc8628 import DeviceCodeGrant as AuthlibDeviceCodeGrant
from authlib.oauth2.rfc8628.endpoint import create_string_user_code

from oauth_server.access_tokens import Person
from oauth_server.clients import Client
from oauth_server.device_codes import DeviceCodes, DeviceCredential
from oauth_server.discovery import DEVICE_AUTHORIZATION_PATH
from oauth_server.errors import OAuthError
from oauth_server.grants import TOKEN_AUTH_METHODS

VERIFICATION_PATH = "/device"
USER_CODE_TRIES = 8

__all__ = [
    "DEVICE_AUTHORIZATION_PATH",
    "DEVICE_CODE_GRANT_TYPE",
    "VERIFICATION_PATH",
    "DeviceCodeGrant",
    "DeviceCodesExtension",
    "HubDeviceAuthorizationEndpoint",
]


class HubDeviceAuthorizationEndpoint(DeviceAuthorizationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def __init__(self, codes: DeviceCodes, verification_uri: str) -> None:
        super().__init__(None)  # the server is set when it registers the endpoint
        self.codes = codes
        self.verification_uri = verification_uri
        self.EXPIRES_IN = codes.lifetime
        self.INTERVAL = codes.interval

    def create_endpoint_response(self, request: Any) -> tuple[int, dict[str, Any], Any]:
        """RFC 8628 §3.1-3.2: the device and user codes for an authenticated client."""
        client: Client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("the client is not registered for the device grant")
        scope = client.get_allowed_scope(request.payload.scope)
        if scope is None:
            raise InvalidScopeError("a scope asked for is not registered for this client")
        device_code, user_code = self.generate_device_code(), self.generate_user_code()
        self.codes.store(client.client_id, scope, device_code, user_code)
        data = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": add_params_to_uri(
                self.verification_uri, [("user_code", user_code)]
            ),
            "expires_in": self.EXPIRES_IN,
            "interval": self.INTERVAL,
        }
        return 200, data, default_json_headers

    def generate_user_code(self) -> str:
        """RFC 8628 §6.1's ``XXXX-XXXX`` of 20 consonants, not held by a stored request."""
        for _ in range(USER_CODE_TRIES):
            code: str = create_string_user_code()
            if self.codes.user_code_free(code):
                return code
        raise OAuthError("temporarily_unavailable", "no free user code; try again", status_code=503)

    def get_verification_uri(self) -> str:
        return self.verification_uri


@dataclass(frozen=True)
class DeviceCodesExtension:
    """Hands the store to each :class:`DeviceCodeGrant` (Authlib's grant extensions)."""

    codes: DeviceCodes

    def __call__(self, grant: DeviceCodeGrant) -> None:
        grant.codes = self.codes


class DeviceCodeGrant(AuthlibDeviceCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    codes: DeviceCodes

    def authenticate_token_endpoint_client(self) -> Client:
        client: Client = super().authenticate_token_endpoint_client()
        self.request.client = client  # before the device code is read, which it must own
        return client

    def query_device_credential(self, device_code: str) -> DeviceCredential:
        client: Client = self.request.client
        return self.codes.poll(device_code, client.client_id)

    def validate_device_credential(self, credential: DeviceCredential) -> Person:
        """RFC 8628 §3.5, in its order: expired, denied, approved (the code claimed once),
        too soon, pending."""
        if credential.is_expired():
            raise ExpiredTokenError("the device code has expired: start again")
        if credential.decision == "denied":
            raise AccessDeniedError("the person denied the request")
        if credential.decision == "approved":
            if not self.codes.claim(credential.code_hash):
                raise InvalidGrantError("the device code was already used")
            assert credential.account_id is not None and credential.subject is not None
            return Person(credential.account_id, credential.subject)
        if credential.slow_down:
            raise SlowDownError("polled sooner than the interval: it grows by 5 seconds")
        raise AuthorizationPendingError("the person has not answered yet")

    def create_token_response(self) -> tuple[int, Any, Any]:
        answer: tuple[int, Any, Any] = super().create_token_response()
        credential: DeviceCredential = self.request.credential
        # A replay racing this exchange may have found nothing to revoke yet.
        if self.codes.replayed(credential.code_hash):
            self.server.ledger.revoke_from_code(credential.code_hash)
        return answer
