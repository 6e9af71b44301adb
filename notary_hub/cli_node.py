"""``notary-hub node`` and ``notary-hub chain export``: the embedded chain for others.

Issue 11, item 2. ``chain export OUT_DIR`` copies the embedded chain consistently
(SQLite online backup, ``chain_adapter.embedded_copy``), also while the hub serves;
``node --data-dir OUT_DIR`` serves such a copy, or a stopped hub's data directory,
alone over Ethereum JSON-RPC (``POST /rpc``, the hub's ``/rpc`` router and limits).
A node opens neither the key store nor the database: it has no keys, and it is
read-only unless ``--allow-send-raw``. It takes the chain's writer lock like any
opener (``chain_adapter.writer_lock``), so it never runs beside a hub on the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from fastapi import APIRouter, FastAPI

from chain_adapter.embedded import EmbeddedChain
from chain_adapter.embedded_copy import export_chain, stored_chain_id
from notary_hub import __version__
from notary_hub.app import embedded_rpc_router
from notary_hub.cli_support import (
    cli_errors,
    fail,
    flag,
    hub_settings,
    load_settings,
    out,
)
from notary_hub.errors import install_error_handlers
from notary_hub.middleware import JsonGuardMiddleware
from notary_hub.security_headers import SecurityHeadersMiddleware
from notary_hub.settings import ChainSettings

DEFAULT_PORT = 8545  # where Ethereum clients serve JSON-RPC by default


def create_node_app(chain: EmbeddedChain, cfg: ChainSettings, *, allow_send_raw: bool) -> FastAPI:
    """``GET /healthz`` and ``POST /rpc`` over ``chain``; nothing else, no docs."""
    app = FastAPI(
        title="Notary Hub node", version=__version__, docs_url=None, redoc_url=None,
        openapi_url=None,
    )  # fmt: skip
    app.add_middleware(JsonGuardMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    install_error_handlers(app)
    health = APIRouter(tags=["health"])

    @health.get("/healthz")
    def healthz() -> dict[str, object]:
        """Liveness, with the chain's id and height."""
        return {"status": "ok", "chainId": chain.chain_id, "block": chain.block_number()}

    app.include_router(health)
    app.include_router(embedded_rpc_router(chain, cfg, allow_send_raw=allow_send_raw))
    return app


def node(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Data directory holding chain/ (default: NOTARY_HUB_DATA_DIR)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = DEFAULT_PORT,
    allow_send_raw: Annotated[
        bool, flag("--allow-send-raw", help="Accept eth_sendRawTransaction.")
    ] = False,
) -> None:
    """Serve the embedded chain alone over Ethereum JSON-RPC, read-only, with no keys."""
    import uvicorn

    settings = load_settings()
    chain_dir = (data_dir or settings.data_dir) / "chain"
    with cli_errors():
        chain_id = stored_chain_id(chain_dir)  # a node never creates a chain
        chain = EmbeddedChain.open(chain_dir, chain_id=chain_id)
    try:
        mode = "accepts raw transactions" if allow_send_raw else "read-only"
        for line in (
            f"embedded chain {chain_id} at block {chain.block_number()} in {chain_dir} ({mode})",
            f"chain JSON-RPC at http://{host}:{port}/rpc",
        ):
            out.print(line, markup=False, highlight=False)
        uvicorn.run(
            create_node_app(chain, settings.chain, allow_send_raw=allow_send_raw),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            server_header=False,
        )
    finally:
        chain.close()


def chain_export(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the copy into.")],
) -> None:
    """Write a consistent copy of the embedded chain (also while the hub serves)."""
    settings = hub_settings()
    if not settings.chain.embedded:
        fail("not_embedded", "the hub uses an external chain: copy it with that node's tools")
    with cli_errors():
        copy = export_chain(settings.data_dir / "chain", out_dir / "chain")
    out.print(f"exported the embedded chain to {copy}", markup=False, highlight=False)
    out.print(f"serve it with: notary-hub node --data-dir {out_dir}", markup=False, highlight=False)
