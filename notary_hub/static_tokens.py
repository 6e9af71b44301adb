"""Static API tokens: the dev-mode bootstrap, before any OAuth client exists.

A developer's hub (``mode=dev``) admits the tokens of ``NOTARY_HUB_SERVER_API_TOKENS``
(or the one ``serve`` keeps in ``DATA_DIR/api-token``) as the operator, with every scope
of the hub's API. Production refuses to start with any configured
(:meth:`notary_hub.settings.Settings.check_production`): there every call carries an
OAuth access token (RFC 6750), issued to a client or a signed-in person.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from oauth_server.caller import Caller

BOOTSTRAP_CLIENT_ID = "api-token"  # the platform deposits made with a static token name


class StaticTokens:
    """The bootstrap tokens; :meth:`match` says whether a presented token is one."""

    def __init__(self, tokens: Iterable[str], scopes: frozenset[str]) -> None:
        # Compared as SHA-256 digests: equal lengths, so compare_digest leaks no length.
        self._digests = [hashlib.sha256(token.encode()).digest() for token in tokens]
        self._caller = Caller(
            subject=BOOTSTRAP_CLIENT_ID,
            client_id=BOOTSTRAP_CLIENT_ID,
            scopes=scopes,
            account_id=None,
            platform_did=None,
            kind="bootstrap",
        )

    def __bool__(self) -> bool:
        return bool(self._digests)

    def match(self, presented: str) -> Caller | None:
        """The operator's :class:`Caller` if ``presented`` is a bootstrap token, else None."""
        digest = hashlib.sha256(presented.encode()).digest()
        # Compare against every token so timing says nothing about which one matched.
        matched = False
        for token in self._digests:
            matched |= hmac.compare_digest(digest, token)
        return self._caller if matched else None
