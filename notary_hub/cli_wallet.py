"""``notary-hub wallet``: the holder's wallet (issue 12), its keys and its dealings with the hub.

``create`` / ``restore`` / ``restore-backup`` make a wallet directory (``--wallet DIR``,
else ``NOTARY_HUB_WALLET``, else ``~/.notary-hub/wallet``), ``config`` names its hub
and chain, ``key`` lists and exports keys (Ethereum keystore v3), ``deposit``,
``receive`` and ``sync`` bring custody letters in, verified first, the wallet signed in
to its hub with its own key (:mod:`wallet.hub_session`; ``logout`` revokes the tokens).
The DIDs are ``wallet did`` (:mod:`notary_hub.cli_wallet_dids`), the credentials
``wallet credential`` (:mod:`notary_hub.cli_wallet_credentials`). Errors follow
:mod:`notary_hub.cli_support`: one ``error: <code>: <message>`` line and a non-zero
exit, the wallet unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from notary_hub.cli_support import PlainFlagsGroup, cli_errors, err, fail, flag, out, plain
from notary_hub.cli_wallet_court import bundle, present
from notary_hub.cli_wallet_credentials import credential_app
from notary_hub.cli_wallet_dids import did_app
from notary_hub.cli_wallet_login import login
from notary_hub.cli_wallet_support import (
    KEYSTORE_PASSWORD_ENV,
    WalletOptions,
    chain_of,
    directory,
    hub_session,
    letter_check,
    opened,
    passphrase,
    recovery_phrase,
    secret_input,
    signed_in,
    write_new,
)
from wallet.deposits import Depositor
from wallet.did_operations import rediscover
from wallet.receiving import Receiver
from wallet.wallet import Wallet, WalletConfig

wallet_app = typer.Typer(
    help="The holder's wallet: keys, DIDs and credentials, kept encrypted.",
    no_args_is_help=True,
    cls=PlainFlagsGroup,
)
key_app = typer.Typer(help="The wallet's keys.", no_args_is_help=True, cls=PlainFlagsGroup)
wallet_app.add_typer(key_app, name="key")
wallet_app.add_typer(did_app, name="did")
wallet_app.add_typer(credential_app, name="credential")
wallet_app.command()(present)
wallet_app.command()(bundle)
wallet_app.command()(login)  # issue 13: sign in with the wallet (OpenID4VP)

HubOption = Annotated[str | None, typer.Option("--hub", metavar="URL", help="The hub's URL.")]
RpcOption = Annotated[
    str | None, typer.Option("--rpc", metavar="URL", help="JSON-RPC URL of a chain node.")
]
TokenOption = Annotated[
    str | None, typer.Option("--api-token", metavar="TOKEN", help="The hub API token.")
]
RECOVERY_WARNING = (
    "Write the recovery phrase down and keep it offline: it is shown once, and anyone "
    "holding it holds every key of this wallet."
)


@wallet_app.callback()
def main(
    ctx: typer.Context,
    wallet: Annotated[
        Path | None,
        typer.Option(
            "--wallet",
            metavar="DIR",
            help="The wallet directory (default: NOTARY_HUB_WALLET, else ~/.notary-hub/wallet).",
        ),
    ] = None,
) -> None:
    """The holder's wallet: keys, DIDs and credentials, kept encrypted."""
    ctx.obj = WalletOptions(wallet)


@wallet_app.command()
def create(
    ctx: typer.Context, hub: HubOption = None, rpc: RpcOption = None, api_token: TokenOption = None
) -> None:
    """Create a wallet; print its recovery phrase once."""
    where = directory(ctx)
    secret = passphrase(confirm=True)
    with cli_errors():
        wallet, phrase = Wallet.create(where, secret, config=WalletConfig(hub, rpc, api_token))
        wallet.close()
    err.print(RECOVERY_WARNING, markup=False, highlight=False)
    out.print(phrase, markup=False, highlight=False)
    err.print(f"created wallet {where}", markup=False, highlight=False)


@wallet_app.command()
def restore(
    ctx: typer.Context, hub: HubOption = None, rpc: RpcOption = None, api_token: TokenOption = None
) -> None:
    """Restore the keys from the recovery phrase (stdin or a prompt) into a new wallet.

    With a chain RPC URL, its did:ethr is found again, with the Ed25519 keys its DID
    document lists (indices 0..19), so it presents again.
    """
    where = directory(ctx)
    phrase = recovery_phrase()
    secret = passphrase(confirm=True)
    config = WalletConfig(hub, rpc, api_token)
    with cli_errors():
        wallet = Wallet.restore(where, phrase, secret, config=config)
    try:
        if rpc:
            with chain_of(wallet) as chain:
                record = rediscover(wallet, chain)
            out.print(f"{record.did} with {len(record.signing_keys)} signing key(s)", markup=False)
    finally:
        wallet.close()
    err.print(f"restored wallet {where}", markup=False, highlight=False)


@wallet_app.command()
def config(
    ctx: typer.Context, hub: HubOption = None, rpc: RpcOption = None, api_token: TokenOption = None
) -> None:
    """Show the wallet's hub and chain; with options, change them."""
    with opened(ctx) as wallet:
        current = wallet.config
        if hub is not None or rpc is not None or api_token is not None:
            current = WalletConfig(
                hub if hub is not None else current.hub_url,
                rpc if rpc is not None else current.rpc_url,
                api_token if api_token is not None else current.api_token,
            )
            wallet.set_config(current)
    out.print(f"hub {current.hub_url or '(none)'}", markup=False, highlight=False)
    out.print(f"rpc {current.rpc_url or '(none)'}", markup=False, highlight=False)
    out.print(f"api-token {'set' if current.api_token else '(none)'}", markup=False)


@wallet_app.command()
def backup(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="Backup file.")]) -> None:
    """Write the whole wallet, encrypted, to one file."""
    with opened(ctx) as wallet:
        wallet.backup(file)
    out.print(f"backup written to {plain(file)}")


@wallet_app.command("restore-backup")
def restore_backup(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help="Backup file.")]
) -> None:
    """Restore a whole wallet from a backup into a new wallet directory."""
    where = directory(ctx)
    secret = passphrase()
    with cli_errors():
        Wallet.restore_backup(file, where, secret).close()
    out.print(f"restored wallet {plain(where)}")


@key_app.command("list")
def key_list(ctx: typer.Context) -> None:
    """The wallet's keys: name, kind, and address or public key."""
    with opened(ctx) as wallet:
        keys = wallet.keys()
    table = Table("name", "kind", "address / public key")
    for key in keys:
        public = key.address if key.kind == "secp256k1" else key.public_bytes().hex()
        table.add_row(plain(key.name), key.kind, public)
    out.print(table)


@key_app.command("export")
def key_export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The key's name (secp256k1-0, ...).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The keystore file.")],
    keystore: Annotated[bool, flag("--keystore", help="As Ethereum keystore v3 JSON.")] = False,
) -> None:
    """Export a secp256k1 key as Ethereum keystore v3 JSON, under its own password."""
    if not keystore:
        fail("no_format", "name the export format: --keystore (Ethereum keystore v3)", 2)
    with opened(ctx) as wallet:
        password = secret_input(KEYSTORE_PASSWORD_ENV, "Export password", confirm=True)
        document = wallet.export_keystore_v3(name, password)
        write_new(output, json.dumps(document))
    out.print(f"keystore written to {plain(output)}")


@wallet_app.command()
def receive(
    ctx: typer.Context,
    deposit_id: Annotated[str, typer.Argument(help="The deposit whose letter to fetch.")],
) -> None:
    """Fetch a deposit's custody letter from the hub, verify it, store it."""
    with opened(ctx) as wallet, signed_in(wallet) as hub, chain_of(wallet) as chain:
        depositor = Depositor(wallet, hub, Receiver(chain))
        stored = depositor.receive(deposit_id, extra_check=letter_check(chain))
    out.print(stored.id, markup=False, highlight=False)


@wallet_app.command()
def sync(ctx: typer.Context) -> None:
    """Receive the letter of every certified deposit made for the wallet's DID (by any
    platform) that the wallet does not hold yet: each verified before it is stored."""
    with opened(ctx) as wallet, signed_in(wallet) as hub, chain_of(wallet) as chain:
        outcome = Depositor(wallet, hub, Receiver(chain)).sync(extra_check=letter_check(chain))
    for stored in outcome.received:
        out.print(f"{stored.id} {stored.source}", markup=False, highlight=False)
    for deposit_id, reason in outcome.rejected:
        err.print(f"rejected the letter of {deposit_id}: {reason}", markup=False)
    err.print(f"received {len(outcome.received)} letter(s)", markup=False, highlight=False)
    if outcome.rejected:
        raise typer.Exit(1)


@wallet_app.command()
def logout(ctx: typer.Context) -> None:
    """Revoke the wallet's tokens at its hub and forget them."""
    with opened(ctx) as wallet, cli_errors():
        ended = hub_session(wallet).logout()
    err.print("signed out" if ended else "not signed in", markup=False, highlight=False)


@wallet_app.command()
def deposit(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The file to deposit.", exists=True, dir_okay=False)],
    title: Annotated[str | None, typer.Option(help="The deposit's title.")] = None,
) -> None:
    """Deposit FILE as the wallet's DID: upload, wait for the letter, verify, store it."""
    with opened(ctx) as wallet, signed_in(wallet) as hub, chain_of(wallet) as chain:
        depositor = Depositor(wallet, hub, Receiver(chain))
        columns = (TextColumn("uploading"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("upload", total=file.stat().st_size)
            created = depositor.upload(
                file, title=title, progress=lambda sent, total: bar.update(task, completed=sent)
            )
        deposit_id = str(created["id"])
        err.print(f"deposit {deposit_id}", markup=False, highlight=False)
        with err.status("waiting for the custody letter") as status:
            depositor.wait_certified(
                deposit_id, lambda state: status.update(f"waiting for the custody letter: {state}")
            )
        stored = depositor.receive(deposit_id, extra_check=letter_check(chain, file))
    out.print(stored.id, markup=False, highlight=False)
