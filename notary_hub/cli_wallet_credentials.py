"""``notary-hub wallet credential``: the credentials the wallet holds.

``import`` takes a file into the wallet only once it verifies over the wallet's chain
(a custody letter with its full check: timestamp, anchor, issuer admitted by the
consortium); ``status`` re-reads a credential's status entry on chain and records it.
An id may be given as any unique prefix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from notary_hub.cli_support import PlainFlagsGroup, out, plain
from notary_hub.cli_wallet_support import chain_of, letter_check, opened, print_json, write_new
from notary_hub.verify_inputs import read_document
from wallet.credential_store import StoredCredential
from wallet.receiving import Receiver

credential_app = typer.Typer(
    help="The wallet's credentials.", no_args_is_help=True, cls=PlainFlagsGroup
)

IdArgument = Annotated[
    str, typer.Argument(metavar="ID", help="Credential id (or a unique prefix).")
]


def _kind(stored: StoredCredential) -> str:
    specific = [t for t in stored.types if t != "VerifiableCredential"]
    return specific[-1] if specific else "VerifiableCredential"


@credential_app.command("import")
def credential_import(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help="Credential: JSON or JWT.")]
) -> None:
    """Verify a credential file over the chain; store it if it passes."""
    document = read_document(file)
    with opened(ctx) as wallet, chain_of(wallet) as chain:
        stored = Receiver(chain).receive(wallet, document, extra_check=letter_check(chain))
    out.print(stored.id, markup=False, highlight=False)


@credential_app.command("list")
def credential_list(ctx: typer.Context) -> None:
    """The stored credentials: type, issuer, subject, issued, status."""
    with opened(ctx) as wallet:
        stored = wallet.credentials.list()
    table = Table("id", "type", "issuer", "subject", "issued", "status")
    for credential in stored:
        table.add_row(
            plain(credential.id),
            plain(_kind(credential)),
            plain(credential.issuer),
            plain(credential.subject or ""),
            plain(credential.issued or ""),
            plain(credential.status),
        )
    out.print(table)


def _summary(stored: StoredCredential) -> dict[str, Any]:
    return {
        "id": stored.id,
        "types": list(stored.types),
        "issuer": stored.issuer,
        "subject": stored.subject,
        "issued": stored.issued,
        "status": stored.status,
        "receivedAt": stored.received_at,
        "source": stored.source,
    }


@credential_app.command("show")
def credential_show(ctx: typer.Context, credential: IdArgument) -> None:
    """A stored credential: what the wallet knows of it, then the document."""
    with opened(ctx) as wallet:
        stored = wallet.credentials.get(credential)
    print_json({"wallet": _summary(stored), "document": stored.document})


@credential_app.command("export")
def credential_export(
    ctx: typer.Context,
    credential: IdArgument,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write it.")],
) -> None:
    """Write a stored credential's document (JSON, or the vc+jwt) to a file."""
    with opened(ctx) as wallet:
        stored = wallet.credentials.get(credential)
        document = stored.document
        text = document if isinstance(document, str) else json.dumps(document, indent=2)
        write_new(output, text + "\n")
    out.print(f"{stored.id} written to {plain(output)}")


@credential_app.command("delete")
def credential_delete(ctx: typer.Context, credential: IdArgument) -> None:
    """Remove a credential from the wallet."""
    with opened(ctx) as wallet:
        stored = wallet.credentials.get(credential)
        wallet.credentials.delete(stored.id)
    out.print(f"deleted {stored.id}", markup=False, highlight=False)


@credential_app.command("status")
def credential_status(ctx: typer.Context, credential: IdArgument) -> None:
    """Re-check a credential's status on chain and record it."""
    with opened(ctx) as wallet, chain_of(wallet) as chain:
        stored = Receiver(chain).refresh_status(wallet, credential)
    out.print(f"{stored.id} {stored.status}", markup=False, highlight=False)
