"""The hub's own staff CLI as an OAuth client: ``notary-hub-cli``, public, device login.

Issue 13 item 8: staff tools obtain tokens as every client does. ``notary-hub login``
runs the device grant (RFC 8628) as this first-party public client (RFC 8252 §8.4: a
native app holds no secret, so it authenticates with ``none``) and refreshes its token
with the refresh grant. Its scopes are the staff scopes, each with the purpose the
verification page shows; a person is granted only those their account holds
(:mod:`oauth_server.staff`). The hub ensures it at every start, with this id.
https://www.rfc-editor.org/rfc/rfc8628#section-3.1
"""

from __future__ import annotations

from oauth_server.clients import DEVICE_CODE, ClientSpec, ClientStore

CLI_CLIENT_ID = "notary-hub-cli"
CLI_CLIENT_SPEC = ClientSpec(
    name="Notary Hub command line (notary-hub login)",
    auth_method="none",
    grant_types=[DEVICE_CODE, "refresh_token"],
    scope_purposes={
        "admin": "operate the hub from your terminal: rotate keys, sign letters as PDF",
        "consortium:vote": "vote on consortium applications and removals from your terminal",
        "credentials:issue": "have the notary issue credentials from your terminal",
        "credentials:status": "change the status of issued credentials from your terminal",
        "draws:manage": "organise public draws from your terminal (notary-hub draw)",
        "evidence:capture": "run scripted web captures in your name (notary-hub capture)",
    },
)


def ensure_cli_client(clients: ClientStore) -> bool:
    """Register ``notary-hub-cli``, or bring its metadata up to this release's; whether it
    was new (:meth:`ClientStore.ensure` survives two hubs starting on one database)."""
    new = clients.get(CLI_CLIENT_ID) is None
    clients.ensure(CLI_CLIENT_ID, CLI_CLIENT_SPEC)
    return new
