"""The hub's own commands: ``init``, ``serve``, ``db``, ``chain`` and ``receipt``.

What opens the data directory, the database and the chain; loaded (with
:mod:`notary_hub.hub`) only when one of them is named, see :mod:`notary_hub.cli`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account.signers.local import LocalAccount
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.anchoring.verify import verify_receipt
from chain_adapter.deploy import deploy_all
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Chain
from chain_adapter.writer_lock import WriterLock
from notary_hub import migrate, serving
from notary_hub.cli_extra_chain import chain_deploy_anchor
from notary_hub.cli_node import chain_export
from notary_hub.cli_support import (
    NO_DATA_DIR,
    PlainFlagsGroup,
    cli_errors,
    err,
    fail,
    flag,
    hub_settings,
    is_hub_data_dir,
    iso_time,
    load_settings,
    out,
)
from notary_hub.db import create_db_engine, session_factory
from notary_hub.hub import (
    api_tokens,
    claim_embedded_chain,
    make_transactor,
    node_account,
    open_chain,
    open_database,
    open_hub,
    open_keystore,
)
from notary_hub.hub_deployment import (
    configured_addresses,
    existing_deployment,
    record_deployment,
)
from notary_hub.settings import Settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True, cls=PlainFlagsGroup)
chain_app = typer.Typer(
    help="The consortium chain and the hub's contracts.", no_args_is_help=True, cls=PlainFlagsGroup
)
receipt_app = typer.Typer(help="Anchor receipts.", no_args_is_help=True, cls=PlainFlagsGroup)


def init() -> None:
    """Create the data directory, keys and notary identity as serve first does; serve nothing.

    On an external chain with no contracts configured yet, only the keys: fund the node
    account it prints, then `notary-hub chain deploy`; the identity comes with the contracts.
    """
    settings = load_settings()
    created: list[str] = []
    with cli_errors():
        lock = claim_embedded_chain(settings)  # refused while a hub serves this directory
        try:
            node = node_account(open_keystore(settings, created), created).address
            api_tokens(settings, created)
        finally:
            if lock is not None:
                lock.release()
        did = None
        if settings.chain.embedded or configured_addresses(settings) is not None:
            hub = open_hub(settings)
            try:
                did, created = hub.notary.did, created + hub.created
            finally:
                hub.close()
    for line in created:
        out.print(f"created {line}", markup=False, highlight=False)
    out.print(f"data directory {settings.data_dir.resolve()}", markup=False, highlight=False)
    out.print(f"node {node}", markup=False, highlight=False)
    if did is None:
        out.print("no contracts yet: fund the node, then `notary-hub chain deploy`", markup=False)
    else:
        out.print(f"notary {did}", markup=False, highlight=False)


def _database_settings() -> Settings:
    """A configured database needs no data directory; the embedded one lives in it."""
    settings = load_settings()
    if settings.database.url is None and not is_hub_data_dir(settings.data_dir):
        fail("no_data_dir", NO_DATA_DIR, exit_code=2)
    return settings


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations."""
    settings = _database_settings()
    with cli_errors():
        engine = create_db_engine(settings.database_url)
        try:
            migrate.upgrade(engine, revision)
            out.print(f"database at revision {migrate.current_revision(engine)}")
        finally:
            engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and whether it is current."""
    settings = _database_settings()
    with cli_errors():
        engine = create_db_engine(settings.database_url)
        try:
            current = migrate.current_revision(engine)
        finally:
            engine.dispose()
    head = migrate.head_revision()
    out.print(f"{current or 'empty'} (head {head}{'' if current == head else ', upgrade needed'})")


@chain_app.command("deploy")
def chain_deploy() -> None:
    """Deploy the contracts on the configured chain and print their addresses."""
    settings = hub_settings()
    with cli_errors():
        lock = claim_embedded_chain(settings)  # refused while a hub serves this chain
        keystore = open_keystore(settings)
        node = node_account(keystore)
        engine = open_database(settings)
        chain = open_chain(settings, node, lock)
        try:
            deployment = deploy_all(
                make_transactor(settings, chain, node),
                organisation_name=settings.chain.organisation_name,
                threshold_bps=settings.chain.consortium_threshold_bps,
            )
            record_deployment(session_factory(engine), chain.chain_id, deployment)
        finally:
            chain.close()
            if lock is not None:
                lock.release()
            engine.dispose()
    env = {
        "EthereumDIDRegistry": "NOTARY_HUB_CHAIN_DID_REGISTRY_ADDRESS",
        "AnchorRegistry": "NOTARY_HUB_CHAIN_ANCHOR_REGISTRY_ADDRESS",
        "ConsortiumRegistry": "NOTARY_HUB_CHAIN_CONSORTIUM_ADDRESS",
        "StatusListRegistry": "NOTARY_HUB_CHAIN_STATUS_LIST_REGISTRY_ADDRESS",
        "DrawRegistry": "NOTARY_HUB_CHAIN_DRAW_REGISTRY_ADDRESS",
    }
    for name, address in deployment.addresses().items():
        out.print(f"{env[name]}={address}", markup=False, highlight=False)


@chain_app.command("info")
def chain_info(
    as_json: Annotated[bool, flag("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the chain, the node account and, once deployed, the hub's contracts.

    Deploys nothing and needs no migrated database: this is how an operator learns
    the node address to fund before `notary-hub chain deploy`. While a hub serves the
    embedded chain, the chain is read through that hub's /rpc (it holds the chain).
    """
    settings = hub_settings()
    created: list[str] = []
    serving_url = serving.running_hub(settings.data_dir) if settings.chain.embedded else None
    with cli_errors():
        lock = None if serving_url else claim_embedded_chain(settings)
        keystore = open_keystore(settings, created)
        account = node_account(keystore, created)
        node = account.address
        engine = create_db_engine(settings.database_url)
        chain = None
        try:
            try:
                database = "current" if migrate.is_current(engine) else "upgrade needed"
            except SQLAlchemyError as exc:
                database = f"unavailable: {type(exc).__name__}"
            sessions = session_factory(engine) if database == "current" else None
            chain = _reading_chain(settings, account, lock, serving_url)
            deployment = existing_deployment(settings, sessions, chain)
            consortium = deployment.consortium if deployment else None
            info: dict[str, Any] = {
                "chainId": chain.chain_id,
                "backend": "embedded" if settings.chain.embedded else "jsonrpc",
                "blockNumber": chain.block_number(),
                "node": node,
                "nodeBalance": chain.get_balance(node),
                "database": database,
                "contracts": deployment.addresses() if deployment else None,
                "member": bool(consortium.call("isMember", node)) if consortium else None,
                "serviceNode": bool(consortium.call("isServiceNode", node)) if consortium else None,
                "pendingAnchorItems": AnchorQueue(sessions).pending_count() if sessions else None,
            }
        finally:
            if chain is not None:
                chain.close()
            if lock is not None:
                lock.release()
            engine.dispose()
    for line in created:
        err.print(f"created {line}", markup=False, highlight=False)
    if as_json:
        sys.stdout.write(json.dumps(info, indent=2) + "\n")
        return
    _print_info(info, settings)


def _print_info(info: dict[str, Any], settings: Settings) -> None:
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        if key == "contracts" and value:
            for name, address in value.items():
                table.add_row(name, address)
        elif key == "contracts":
            command = "serve" if settings.chain.embedded else "chain deploy"
            table.add_row(key, f"none yet: `notary-hub {command}` deploys them")
        else:
            table.add_row(key, str(value))
    out.print(table)


def _reading_chain(
    settings: Settings, account: LocalAccount, lock: WriterLock | None, serving_url: str | None
) -> Chain:
    """The chain to read: the serving hub's /rpc if there is one, else the configured one."""
    if serving_url is None:
        return open_chain(settings, account, lock)
    return JsonRpcChain.connect(
        f"{serving_url}/rpc", expected_chain_id=settings.chain.chain_id, timeout=10.0, retries=2
    )


@receipt_app.command("verify")
def receipt_verify(
    file: Annotated[Path, typer.Argument(help="Anchor receipt (JSON).")],
    rpc: Annotated[str, typer.Option(help="Ethereum JSON-RPC URL of any node of the chain.")],
    as_json: Annotated[bool, flag("--json", help="Machine-readable output.")] = False,
) -> None:
    """Verify an anchor receipt against a chain node, without the hub. Exit 0 only if valid."""
    with cli_errors():
        try:
            document = json.loads(file.read_text())
        except json.JSONDecodeError as exc:
            fail("invalid_receipt", f"{file} is not JSON: {exc.msg} at line {exc.lineno}")
        if isinstance(document, dict) and "anchorReceipt" in document:
            document = document["anchorReceipt"]
        receipt = AnchorReceipt.from_json(document)
        chain = JsonRpcChain.connect(rpc, expected_chain_id=None, timeout=10.0, retries=2)
        try:
            result = verify_receipt(receipt, chain)
        finally:
            chain.close()
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    elif result.valid:
        when = "?" if result.block_timestamp is None else iso_time(result.block_timestamp)
        out.print(f"valid: anchored in block {receipt.block_number} at {when}")
    else:
        for error in result.errors:
            err.print(f"invalid: {error}", markup=False, highlight=False)
    raise typer.Exit(0 if result.valid else 1)


chain_app.command("export")(chain_export)
chain_app.command("deploy-anchor")(chain_deploy_anchor)
