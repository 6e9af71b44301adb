"""``notary-hub staff``: which people hold staff scopes (issue 13 item 8).

``grant DID --scope admin ...`` lets the person of that DID approve a device login
(``notary-hub login``) with those scopes; ``revoke`` ends a grant and revokes the
tokens it backed; ``list`` shows the live grants. Like ``notary-hub clients``, these
work on the data directory's database directly, whether or not ``serve`` runs (the
serving hub sees a revoked token within ``OAUTH_REVOCATION_CACHE_SECONDS``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from notary_hub.cli_support import PlainFlagsGroup, cli_errors, flag, hub_settings, iso_time, out
from notary_hub.db import session_factory
from notary_hub.hub import open_database
from oauth_server.ledger import TokenLedger
from oauth_server.scopes import STAFF_SCOPES
from oauth_server.staff import StaffGrants

staff_app = typer.Typer(
    help="Staff scopes held by people (by DID), for `notary-hub login`.",
    no_args_is_help=True,
    cls=PlainFlagsGroup,
)
ScopeOption = Annotated[
    list[str],
    typer.Option("--scope", help=f"Repeatable: {', '.join(sorted(STAFF_SCOPES))}."),
]


@contextmanager
def _grants() -> Iterator[StaffGrants]:
    settings = hub_settings()
    with cli_errors():
        engine = open_database(settings)
        try:
            sessions = session_factory(engine)
            yield StaffGrants(sessions, TokenLedger(sessions))
        finally:
            engine.dispose()


@staff_app.command()
def grant(did: str, scope: ScopeOption) -> None:
    """Let the person of DID be granted these staff scopes at a device login."""
    with _grants() as grants:
        granted = grants.grant(did, scope)
    out.print(f"granted {' '.join(granted)} to {did}", markup=False, highlight=False)


@staff_app.command()
def revoke(did: str, scope: ScopeOption) -> None:
    """End the grants and revoke the tokens they backed."""
    with _grants() as grants:
        families = grants.revoke(did, scope)
    out.print(
        f"revoked {' '.join(dict.fromkeys(scope))} from {did}; {families} token(s) revoked",
        markup=False,
        highlight=False,
    )


@staff_app.command("list")
def list_grants(as_json: Annotated[bool, flag("--json", help="Print JSON.")] = False) -> None:
    """Every live staff grant."""
    with _grants() as grants:
        listed = grants.listed()
    rows = [
        {"did": item.did, "scope": item.scope, "granted_at": iso_time(item.granted_at)}
        for item in listed
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("did", "scope", "granted")
    for row in rows:
        table.add_row(row["did"], row["scope"], row["granted_at"])
    out.print(table)
