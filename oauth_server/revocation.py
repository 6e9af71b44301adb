"""Token revocation (RFC 7009).

The client authenticates (a public client by its ``client_id``, §2.1) and revokes a
token issued to it: an access token by its ``jti`` (the resource side sees it within
the ledger's cache time), a refresh token with its whole family (§2.1: revoking a
refresh token may revoke the access tokens of the same grant). An unknown token is
answered 200 too (§2.2): the client cannot probe for tokens.
https://www.rfc-editor.org/rfc/rfc7009#section-2
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc7009 import RevocationEndpoint

from oauth_server.introspection import FoundToken, TokenFinder
from oauth_server.ledger import TokenLedger

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


class HubRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, finder: TokenFinder, ledger: TokenLedger) -> None:
        super().__init__()
        self._finder = finder
        self._ledger = ledger

    def query_token(self, token_string: str, token_type_hint: str | None) -> FoundToken | None:
        return self._finder.find(token_string, token_type_hint)

    def authenticate_token(self, request: Any, client: Any) -> FoundToken | None:
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token is not None and not token.check_client(client):
            raise InvalidGrantError("the token was issued to another client")
        return token

    def revoke_token(self, token: FoundToken, request: Any) -> None:
        if token.kind == "refresh_token":
            self._ledger.revoke_family(token.record.family_id)
        else:
            self._ledger.revoke(token.record.jti)
