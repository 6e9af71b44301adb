"""The UserInfo endpoint (OpenID Connect Core 1.0 §5.3): only the granted scopes' claims.

Called with a person's access token (RFC 6750 §2.1 bearer) that carries ``openid``; it
answers the same claims the ID token carries (:meth:`IdTokens.generate_user_info`):
the pairwise ``sub`` always, the DID only under the ``did`` scope (issue 13 items 2 and
7). A platform's own (client-credentials) token has no person behind it and is refused.
https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
"""

from __future__ import annotations

from typing import Any

from oauth_server.access_tokens import Person
from oauth_server.id_tokens import IdTokens
from oauth_server.resource import AccessTokenValidator, invalid_token


class UserInfo:
    def __init__(self, validator: AccessTokenValidator, id_tokens: IdTokens) -> None:
        self._validator = validator
        self._id_tokens = id_tokens

    def claims(self, token: str) -> dict[str, Any]:
        caller = self._validator.require(token, ["openid"])
        if caller.account_id is None:
            raise invalid_token("userinfo needs a person's token, not a platform's")
        person = Person(caller.account_id, caller.subject)
        return self._id_tokens.generate_user_info(person, " ".join(sorted(caller.scopes)))
