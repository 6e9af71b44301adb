"""Authlib's authorisation server, wired to the hub's storage, from raw HTTP pieces.

Authlib's core is synchronous and framework-free: :class:`RawRequest` carries what
the adapter read (method, the public URI under the issuer, headers with their case,
query and form as ordered pairs so repeated parameters survive), and
:class:`HubAuthorizationServer` answers ``(status, body, headers)``. RFC 6749 §3.1,
§3.2: a parameter sent twice at the token endpoint is refused (``invalid_request``),
as is more than one client authentication at once (§2.3).
https://www.rfc-editor.org/rfc/rfc6749#section-3.2
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import (
    InsecureTransportError,
    InvalidRequestError,
    JsonPayload,
    JsonRequest,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
)
from sqlalchemy.orm import Session, sessionmaker

from oauth_server.access_tokens import AccessTokenIssuer, Person, unverified_claims
from oauth_server.client_auth import PRIVATE_KEY_JWT, PrivateKeyJwt
from oauth_server.clients import Client, ClientStore
from oauth_server.device_codes import DeviceCredential
from oauth_server.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    RefreshTokenGrant,
    StoredCode,
    StoredRefresh,
    code_replayed,
)
from oauth_server.id_tokens import IdTokens
from oauth_server.ledger import NewToken, TokenLedger, digest
from oauth_server.pkce import RequiredS256
from oauth_server.scopes import SCOPES

log = logging.getLogger(__name__)

Pairs = Sequence[tuple[str, str]]
Answer = tuple[int, Any, list[tuple[str, str]]]
CREDENTIAL_PARAMS = ("client_secret", "client_assertion")
REASONS = {
    "invalid_scope": "a scope asked for is not registered for this client, or not granted",
    "invalid_grant": "the grant is unknown, expired, revoked or another client's",
    "invalid_client": "the client could not be authenticated",
    "invalid_request": "the request is missing a parameter or is malformed",
    "unsupported_grant_type": "the hub serves authorization_code, refresh_token, "
    "client_credentials and the device code grant only",
    "unauthorized_client": "the client is not registered for this grant",
    "unsupported_token_type": "token_type_hint is access_token or refresh_token",
    "access_denied": "the request was denied",
}


class Headers(Mapping[str, str]):
    """Request headers, looked up without regard to case, kept as they were sent."""

    def __init__(self, pairs: Pairs) -> None:
        self.raw = list(pairs)
        self._lower = {name.lower(): value for name, value in reversed(self.raw)}

    def __getitem__(self, name: str) -> str:
        return self._lower[name.lower()]

    def __iter__(self) -> Any:
        return iter(name for name, _ in self.raw)

    def __len__(self) -> int:
        return len(self.raw)


@dataclass(frozen=True)
class RawRequest:
    method: str
    uri: str  # under the issuer: what the client addressed
    headers: Pairs
    query: Pairs = ()
    form: Pairs = ()
    json_body: Mapping[str, Any] | None = None
    client_ip: str = "unknown"


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: Pairs) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            self._datalist[name].append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class HubRequest(OAuth2Request):  # type: ignore[misc]
    def __init__(self, raw: RawRequest) -> None:
        super().__init__(raw.method, raw.uri, headers=Headers(raw.headers))
        self.payload = _Payload([*raw.query, *raw.form])
        self._args = _Payload(raw.query).data
        self._form = _Payload(raw.form).data
        self.raw = raw

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _JsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, body: Mapping[str, Any] | None) -> None:
        self._body = dict(body or {})

    @property
    def data(self) -> dict[str, Any]:
        return self._body


@dataclass
class HubAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """The hub's server: Authlib's, with the hub's clients, ledger and token issuer."""

    clients: ClientStore
    ledger: TokenLedger
    sessions: sessionmaker[Session]
    tokens: AccessTokenIssuer
    refresh_lifetime: int
    id_tokens: IdTokens
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        AuthorizationServer.__init__(self, scopes_supported=list(SCOPES))
        self.register_token_generator("default", self.tokens)
        self.register_grant(AuthorizationCodeGrant, [RequiredS256(), self.id_tokens])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)

    def use_private_key_jwt(self, method: PrivateKeyJwt) -> None:
        self.register_client_auth_method(PRIVATE_KEY_JWT, method)

    def query_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id) if isinstance(client_id, str) else None

    def save_token(self, token: dict[str, Any], request: HubRequest) -> None:
        claims = unverified_claims(token["access_token"])
        client: Client = request.client
        user: Person | None = request.user
        previous: StoredRefresh | None = request.refresh_token
        code: StoredCode | None = request.authorization_code
        device = request.credential if isinstance(request.credential, DeviceCredential) else None
        now = int(self.clock())
        refresh = token.get("refresh_token")
        family = previous.record.family_id if previous is not None else str(claims["jti"])
        # A code or device code the token came from: its replay revokes what it bought.
        origin = code.code_hash if code is not None else device.code_hash if device else None
        self.ledger.record(
            NewToken(
                jti=str(claims["jti"]),
                client_id=client.client_id,
                account_id=user.account_id if user is not None else None,
                subject=str(claims["sub"]),
                scope=str(claims.get("scope") or ""),
                issued_at=int(claims["iat"]),
                expires_at=int(claims["exp"]),
                refresh_hash=digest(refresh) if refresh else None,
                refresh_expires_at=now + self.refresh_lifetime if refresh else None,
                family_id=family,
                code_hash=origin,
            )
        )
        # A replay racing this exchange may have found nothing to revoke yet: look once the
        # new token is committed (the replay marks first, then revokes what it finds).
        if code is not None and code_replayed(self.sessions, code.code_hash):
            self.ledger.revoke_from_code(code.code_hash)
        if previous is not None and self.ledger.spent_token_revoked(previous.record.jti):
            self.ledger.revoke_family(family)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        log.debug("oauth %s", name)

    def create_oauth2_request(self, request: Any) -> HubRequest:
        if isinstance(request, HubRequest):
            return request
        return HubRequest(request)

    def create_json_request(self, request: RawRequest) -> JsonRequest:
        json_request = JsonRequest(request.method, request.uri, Headers(request.headers))
        json_request.payload = _JsonPayload(request.json_body)
        return json_request

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return status, body, [(str(name), str(value)) for name, value in headers or ()]

    def handle_error_response(self, request: Any, error: OAuth2Error) -> Answer:
        # Every refusal says why: Authlib leaves some errors without a description.
        error.description = error.description or REASONS.get(error.error, error.error)
        status, body, headers = error()
        return self.handle_response(status, dict(body), headers)

    def token_response(self, raw: RawRequest) -> Answer:
        request = self.oauth_request(raw)
        if not isinstance(request, HubRequest):
            return request
        try:
            check_single_values(raw.form)
            check_one_authentication(request)
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        answer: Answer = self.create_token_response(request)
        return answer

    def endpoint_response(self, name: str, raw: RawRequest) -> Answer:
        request = self.oauth_request(raw)
        if not isinstance(request, HubRequest):
            return request
        try:
            check_single_values(raw.form)
            check_one_authentication(request)
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        answer: Answer = self.create_endpoint_response(name, request)
        return answer

    def oauth_request(self, raw: RawRequest) -> HubRequest | Answer:
        """Authlib's request, or its refusal of a plain-http issuer off loopback (production
        settings refuse one; in dev mode it is answered, not a crash)."""
        try:
            return HubRequest(raw)
        except InsecureTransportError as error:
            error.description = "the hub's OAuth issuer is plain http off loopback: use https"
            status, body, headers = error()
            return self.handle_response(status, dict(body), headers)

    def registration_response(self, raw: RawRequest) -> Answer:
        answer: Answer = self.create_endpoint_response("client_registration", raw)
        return answer


def check_single_values(pairs: Pairs) -> None:
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise InvalidRequestError(f"parameter {name} is repeated")
        seen.add(name)


def check_one_authentication(request: HubRequest) -> None:
    basic = request.headers.get("Authorization", "").lower().startswith("basic ")
    in_body = [name for name in CREDENTIAL_PARAMS if name in request.form]
    if len(in_body) + basic > 1:
        raise InvalidRequestError("the client authenticates in more than one way")


__all__ = ["HubAuthorizationServer", "HubRequest", "RawRequest"]
