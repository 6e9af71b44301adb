"""The ``notary-hub`` command line.

Every failure is one line on stderr (``error: <code>: <message>``) and a non-zero
exit; stack traces are for bugs only. :data:`COMMANDS` names every top-level command
and the function that imports it (:mod:`notary_hub.cli_lazy`): a command's modules
are imported only when it runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from notary_hub.cli_lazy import Loader, lazy_group


def _hub() -> ModuleType:
    from notary_hub import cli_hub

    return cli_hub


def _serve() -> ModuleType:
    from notary_hub import cli_serve

    return cli_serve


def _node() -> ModuleType:
    from notary_hub import cli_node

    return cli_node


def _verify() -> ModuleType:
    from notary_hub import cli_verify

    return cli_verify


def _keys() -> ModuleType:
    from notary_hub import cli_keys

    return cli_keys


def _letter() -> ModuleType:
    from notary_hub import cli_letter

    return cli_letter


def _consortium() -> ModuleType:
    from notary_hub import cli_consortium

    return cli_consortium


def _wallet() -> ModuleType:
    from notary_hub import cli_wallet

    return cli_wallet


def _clients() -> ModuleType:
    from notary_hub import cli_clients

    return cli_clients


def _staff() -> ModuleType:
    from notary_hub import cli_staff

    return cli_staff


def _login() -> ModuleType:
    from notary_hub import cli_login

    return cli_login


def _draw() -> ModuleType:
    from notary_hub import cli_draw

    return cli_draw


def _capture() -> ModuleType:
    from notary_hub import cli_capture

    return cli_capture


COMMANDS: dict[str, Loader] = {
    "init": lambda: _hub().init,
    "serve": lambda: _serve().serve,
    "worker": lambda: _serve().worker,  # issue 16: pipeline stages in processes of their own
    "db": lambda: _hub().db_app,
    "chain": lambda: _hub().chain_app,
    "receipt": lambda: _hub().receipt_app,
    "keys": lambda: _keys().keys_app,
    "letter": lambda: _letter().letter_app,
    "node": lambda: _node().node,
    "verify": lambda: _verify().verify,
    "consortium": lambda: _consortium().consortium_app,
    "wallet": lambda: _wallet().wallet_app,
    "clients": lambda: _clients().clients_app,  # issue 13: OAuth clients
    "staff": lambda: _staff().staff_app,  # issue 13: staff scopes of people
    "login": lambda: _login().login,  # issue 13: staff tokens (device login, client credentials)
    "logout": lambda: _login().logout_command,
    "draw": lambda: _draw().draw_app,  # issue 14: public draws
    "capture": lambda: _capture().capture,  # issue 15: scripted remote captures
}

app = typer.Typer(
    help="Notary Hub: DIDs, credentials and chain-anchored evidence.",
    no_args_is_help=True,
    cls=lazy_group(COMMANDS),
    add_completion=False,  # its options would show as `<bool>`; the flags here are plain
)


@app.callback()
def main(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="The hub's data directory (default: NOTARY_HUB_DATA_DIR, else .notary-hub).",
        ),
    ] = None,
) -> None:
    """Notary Hub: DIDs, credentials and chain-anchored evidence."""
    if data_dir is not None:
        os.environ["NOTARY_HUB_DATA_DIR"] = str(data_dir)
