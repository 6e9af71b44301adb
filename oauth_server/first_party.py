"""The hub's own (first-party) OAuth clients, registered by the hub itself at start-up.

A first-party client is one whose id the hub fixes and whose metadata it writes on every
start (:meth:`oauth_server.clients.ClientStore.ensure`); no registration, static or
dynamic, makes one. For such a client the person's own command is their consent: the
authorisation endpoint records the consent and issues the code without a consent page
(OpenID Connect Core 1.0 §3.1.2.4 leaves how consent is obtained to the server; the
consent is still stored, listed at ``/account`` and revocable there). Only clients in
:class:`FirstPartyClients` get this, never one a platform registered.

The wallet's client (``notary-hub wallet deposit``, ``sync``) is a public native app
(RFC 8252 §8.4: ``none`` authentication, PKCE S256) with a loopback redirect URI
(§7.3). The wallet never listens there: it is its own user agent and reads the
authorisation response from the redirect's ``Location`` itself.
https://www.rfc-editor.org/rfc/rfc8252#section-7.3
"""

from __future__ import annotations

from oauth_server.clients import Client, ClientSpec, ClientStore

WALLET_CLIENT_ID = "notary-hub-wallet"
WALLET_REDIRECT_URI = "http://127.0.0.1/notary-hub-wallet/callback"


def wallet_client_spec() -> ClientSpec:
    """The holder's wallet: signs the person in, deposits and reads in their name."""
    return ClientSpec(
        name="Notary Hub wallet",
        auth_method="none",
        grant_types=("authorization_code", "refresh_token"),
        scope_purposes={
            "openid": "sign you in to this hub from your own wallet",
            "did": "confirm to your wallet which DID the hub signed in",
            "evidence:deposit": "deposit files in your name from your wallet",
            "evidence:read": "bring the custody letters of all your deposits into your wallet",
            "registrar:relay": "send your DID's changes, signed by your wallet, to the chain",
        },
        redirect_uris=(WALLET_REDIRECT_URI,),
        id_token_alg="ES256",  # noqa: S106 (an algorithm's name)
    )


class FirstPartyClients:
    """The ids of the clients this hub registered itself; :meth:`ensure` adds one."""

    def __init__(self, clients: ClientStore) -> None:
        self._clients = clients
        self._ids: set[str] = set()

    def ensure(self, client_id: str, spec: ClientSpec) -> Client:
        client = self._clients.ensure(client_id, spec)
        self._ids.add(client_id)
        return client

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._ids
