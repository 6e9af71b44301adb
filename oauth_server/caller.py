"""Who calls a resource route: what a validated OAuth access token says about its bearer.

The contract between the authorisation server (``oauth_server.resource``'s
``AccessTokenValidator``, which makes one from an RFC 9068 JWT access token) and the
hub's routes (``notary_hub.identity``, which checks its scopes). RFC 9068 §2.2 names the
claims it is read from: ``sub``, ``client_id`` and ``scope``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Caller:
    """The bearer of a validated token.

    ``kind`` says where the identity comes from: ``person`` (an authorization-code token:
    ``account_id`` is the person's internal account), ``platform`` (a client-credentials
    token: ``platform_did`` is the DID registered with the client), or ``bootstrap`` (a
    dev-mode static token, which stands for the operator with every scope).
    ``first_party`` says the client is one the hub registered itself
    (:mod:`oauth_server.first_party`), such as the holder's own wallet.
    """

    subject: str
    client_id: str
    scopes: frozenset[str]
    account_id: str | None
    platform_did: str | None
    kind: Literal["person", "platform", "bootstrap"]
    first_party: bool = False

    def has(self, scope: str) -> bool:
        return scope in self.scopes
