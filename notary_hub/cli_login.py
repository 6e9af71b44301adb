"""``notary-hub login`` and ``logout``: staff sign in to a hub as every client does.

Issue 13 item 8. ``login`` runs the device grant (RFC 8628) as the hub's first-party
client ``notary-hub-cli``: it prints where to go and the code to enter, the person
signs in with their wallet and approves on the hub's ``/device`` page, and the tokens
are kept in the user's token file (:mod:`notary_hub.staff_tokens`). ``login
--client-credentials`` gets a token for a client of one's own instead (RFC 6749 §4.4;
its id and secret from ``NOTARY_HUB_CLIENT_ID`` / ``NOTARY_HUB_CLIENT_SECRET`` or the
options). ``logout`` revokes the tokens (RFC 7009) and forgets them. The hub is
``--hub``, else the one serving this data directory, else the configured public URL.
The commands that ask a running hub (:mod:`notary_hub.cli_remote`) then send the token.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any

import typer
from rich.markup import escape

from notary_hub.cli_support import cli_errors, fail, flag, load_settings, out
from notary_hub.hub_urls import public_url
from notary_hub.serving import running_hub
from notary_hub.settings import Settings
from notary_hub.staff_tokens import (
    TokenFile,
    client_credentials_login,
    default_token_file,
    device_login,
    logout,
)
from oauth_server.cli_client import CLI_CLIENT_ID, CLI_CLIENT_SPEC

STAFF_SCOPE = " ".join(CLI_CLIENT_SPEC.scope_purposes)
HubOption = Annotated[
    str | None,
    typer.Option("--hub", metavar="URL", help="The hub (default: the one serving this data dir)."),
]


def token_file(settings: Settings) -> TokenFile:
    return TokenFile(settings.cli.token_file or default_token_file())


def hub_url(settings: Settings, given: str | None) -> str:
    return (given or running_hub(settings.data_dir) or public_url(settings)).rstrip("/")


def _show(started: Mapping[str, Any]) -> None:
    out.print(f"open      [bold]{escape(str(started['verification_uri']))}[/bold]")
    out.print(f"code      [bold]{escape(str(started['user_code']))}[/bold]")
    out.print(f"or open   {escape(str(started.get('verification_uri_complete', '')))}")
    out.print("sign in with your wallet there, check the code, and approve; waiting...")


def login(
    hub: HubOption = None,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="The OAuth client (default notary-hub-cli).")
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="Scopes to ask for, space-separated (default: staff).")
    ] = None,
    client_credentials: Annotated[
        bool, flag("--client-credentials", help="Use a client id and secret, not a person.")
    ] = False,
    client_secret: Annotated[
        str | None, typer.Option(help="With --client-credentials (or NOTARY_HUB_CLIENT_SECRET).")
    ] = None,
) -> None:
    """Obtain a token from the hub: a device login (RFC 8628), or client credentials."""
    settings = load_settings()
    url = hub_url(settings, hub)
    tokens = token_file(settings)
    with cli_errors():
        if client_credentials:
            client_id = client_id or os.environ.get("NOTARY_HUB_CLIENT_ID")
            secret = client_secret or os.environ.get("NOTARY_HUB_CLIENT_SECRET")
            if not client_id or not secret:
                fail(
                    "no_client_credentials",
                    "set NOTARY_HUB_CLIENT_ID and NOTARY_HUB_CLIENT_SECRET (or --client-id and "
                    "--client-secret)",
                )
            entry = client_credentials_login(url, client_id, secret, scope)
        else:
            out.print(f"logging in to {escape(url)}")
            asked = scope or STAFF_SCOPE
            entry = device_login(url, client_id or CLI_CLIENT_ID, asked, _show)
            _warn_missing(asked, entry["scope"])
        tokens.put(url, entry)
    out.print(
        f"logged in to {url} as {entry['client_id']}: {entry['scope'] or '(no scope)'}; "
        f"tokens in {tokens.path}",
        markup=False,
        highlight=False,
    )


def _warn_missing(asked: str, granted: str) -> None:
    missing = sorted(set(asked.split()) - set(granted.split()))
    if missing:
        out.print(
            f"not granted: {' '.join(missing)} (your account does not hold them: "
            "ask an administrator for `notary-hub staff grant`)",
            markup=False,
            highlight=False,
        )


def logout_command(
    hub: HubOption = None,
    client_secret: Annotated[
        str | None, typer.Option(help="A client-credentials login's secret (to revoke).")
    ] = None,
) -> None:
    """Revoke the hub's tokens (RFC 7009) and delete them from the token file."""
    settings = load_settings()
    url = hub_url(settings, hub)
    tokens = token_file(settings)
    secret = client_secret or os.environ.get("NOTARY_HUB_CLIENT_SECRET")
    with cli_errors():
        known = logout(tokens, url, secret)
    if not known:
        fail("not_logged_in", f"no tokens for {url} in {tokens.path}")
    out.print(f"logged out of {url}", markup=False, highlight=False)
