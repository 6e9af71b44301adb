"""``notary-hub wallet did``: the holder's DIDs, created in the wallet, changed through the hub.

Each change of a did:ethr is an ERC-1056 meta-transaction the wallet signs after
recomputing the hub's digest itself (:mod:`wallet.did_operations`); the document
printed afterwards is the chain's, read through the wallet's RPC URL. ``--did`` picks
one of the wallet's DIDs (default: the first).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from chain_adapter.jsonrpc_chain import JsonRpcChain
from notary_hub.cli_support import PlainFlagsGroup, cli_errors, fail, flag, out, plain
from notary_hub.cli_wallet_support import chain_of, opened, print_json, relay_of
from wallet.did_operations import DidOperations, create_ethr, create_key
from wallet.wallet import DidRecord, Wallet

did_app = typer.Typer(help="The wallet's DIDs.", no_args_is_help=True, cls=PlainFlagsGroup)

DidOption = Annotated[
    str | None, typer.Option("--did", metavar="DID", help="Which DID (default: the first).")
]


@contextmanager
def _operations(ctx: typer.Context) -> Iterator[DidOperations]:
    with opened(ctx) as wallet, relay_of(wallet) as hub, chain_of(wallet) as chain:
        yield DidOperations(wallet, hub, chain)


def _report(record: DidRecord, document: dict[str, Any]) -> None:
    out.print(f"# {record.did}", markup=False, highlight=False)
    print_json(document)


def _chain_id(wallet: Wallet) -> int:
    """The chain's id from the wallet's RPC URL, else from the hub's own node (``/rpc``)."""
    config = wallet.config
    url = config.rpc_url or (f"{config.hub_url.rstrip('/')}/rpc" if config.hub_url else None)
    if url is None:
        fail("no_rpc", "a did:ethr names its chain: `notary-hub wallet config --rpc URL`")
    with cli_errors():
        chain = JsonRpcChain.connect(url, expected_chain_id=None, timeout=10.0)
        try:
            return chain.chain_id
        finally:
            chain.close()


@did_app.command("create")
def did_create(
    ctx: typer.Context,
    method: Annotated[
        Literal["ethr", "key"], typer.Option(help="did:ethr (on the chain) or did:key.")
    ] = "ethr",
) -> None:
    """Create a DID from a new wallet key (a did:ethr needs no transaction)."""
    with opened(ctx) as wallet:
        record = create_ethr(wallet, _chain_id(wallet)) if method == "ethr" else create_key(wallet)
    out.print(record.did, markup=False, highlight=False)


@did_app.command("list")
def did_list(ctx: typer.Context) -> None:
    """The wallet's DIDs, their controller and signing keys."""
    with opened(ctx) as wallet:
        records = wallet.dids()
    table = Table("DID", "controller", "signing keys")
    for record in records:
        signing = ", ".join(record.signing_keys)
        table.add_row(plain(record.did), plain(record.controller_key), plain(signing))
    out.print(table)


@did_app.command("show")
def did_show(
    ctx: typer.Context,
    did: Annotated[str | None, typer.Argument(help="The DID (default: the first).")] = None,
) -> None:
    """The DID document as the chain has it."""
    with opened(ctx) as wallet, chain_of(wallet) as chain:
        document = chain.document(wallet.did(did).did)
    print_json(document)


@did_app.command("add-key")
def did_add_key(
    ctx: typer.Context,
    purpose: Annotated[
        Literal["assertion", "authentication"],
        typer.Option(help="assertionMethod only, or authentication too."),
    ] = "assertion",
    did: DidOption = None,
) -> None:
    """Publish a new Ed25519 key of the wallet in the did:ethr document."""
    with _operations(ctx) as operations:
        record, document = operations.add_key(did, purpose)
    _report(record, document)


@did_app.command("add-service")
def did_add_service(
    ctx: typer.Context,
    service_type: Annotated[str, typer.Argument(metavar="TYPE", help="Service type.")],
    endpoint: Annotated[str, typer.Argument(help="Service endpoint URI.")],
    did: DidOption = None,
) -> None:
    """Publish a service endpoint in the did:ethr document."""
    with _operations(ctx) as operations:
        record, document = operations.add_service(did, service_type, endpoint)
    _report(record, document)


@did_app.command("rotate-key")
def did_rotate_key(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The signing key to replace (ed25519-N).")],
    did: DidOption = None,
) -> None:
    """Publish a new Ed25519 key for the same purpose, then revoke NAME."""
    with _operations(ctx) as operations:
        record, document = operations.rotate_key(did, name)
    _report(record, document)


@did_app.command("change-owner")
def did_change_owner(
    ctx: typer.Context,
    to_key: Annotated[
        str | None, typer.Option("--to-key", metavar="NAME", help="A secp256k1 key of the wallet.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", metavar="ADDRESS", help="Any Ethereum address.")
    ] = None,
    did: DidOption = None,
) -> None:
    """Hand the did:ethr to another owner."""
    if (to_key is None) == (to is None):
        fail("invalid_option", "name the new owner with one of --to-key NAME or --to ADDRESS", 2)
    with _operations(ctx) as operations:
        record, document = operations.change_owner(did, to_key=to_key, to_address=to)
    _report(record, document)


@did_app.command("deactivate")
def did_deactivate(
    ctx: typer.Context,
    did: DidOption = None,
    yes: Annotated[bool, flag("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Deactivate the did:ethr for good (its owner becomes 0x0)."""
    with _operations(ctx) as operations:
        if not yes:
            typer.confirm("Deactivate this DID for good?", abort=True, err=True)
        record, document = operations.deactivate(did)
    _report(record, document)
