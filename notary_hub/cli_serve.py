"""``notary-hub serve`` and ``notary-hub worker``: the hub as one process, or as many.

One process (``serve``, the embedded default) runs the HTTP routes and every background
loop. Issue 16 splits them for a larger office, all coordinated through PostgreSQL
(``docs/deployment.md``):

- ``serve --workers N`` runs N stateless HTTP processes (uvicorn's workers, one port),
  with no pipeline: ``notary-hub worker`` processes run it;
- ``worker --stage timestamp|anchor|certify|index|all`` runs pipeline stages and the
  DID indexer, no HTTP. Any number run at once: stages share deposits by leased claims
  (``evidence.deposit.claims``), loops that must not overlap take turns on advisory
  locks (``hub_kernel.advisory_locks``), and every account's transactions have one
  sender at a time (``chain_adapter.transactor``).

The embedded chain and SQLite belong to one process, so both are refused here with a
message naming what to configure instead.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Annotated

import typer

from notary_hub import serving
from notary_hub.cli_support import cli_errors, ensure_port_free, fail, flag, load_settings, out
from notary_hub.hub import PIPELINE_STAGES, Hub, open_hub
from notary_hub.settings import Settings

STAGE_CHOICES = (*PIPELINE_STAGES, "all")
NEEDS_POSTGRESQL = (
    "several hub processes coordinate through PostgreSQL only: set NOTARY_HUB_DATABASE_URL "
    "to a postgresql:// URL (SQLite is one process's)"
)
NEEDS_EXTERNAL_CHAIN = (
    "the embedded chain belongs to one process: set NOTARY_HUB_CHAIN_RPC_URL to a "
    "consortium node's JSON-RPC URL (see docs/deployment.md)"
)


def _print(line: str) -> None:
    out.print(line, markup=False, highlight=False)


def require_scalable(settings: Settings) -> None:
    """Refuse, in one line, a topology of several processes on one-process backends."""
    url = settings.database_url
    if not url.startswith("postgresql"):
        fail("needs_postgresql", NEEDS_POSTGRESQL, exit_code=2)
    if settings.chain.embedded:
        fail("needs_external_chain", NEEDS_EXTERNAL_CHAIN, exit_code=2)


def _banner(hub: Hub, settings: Settings) -> None:
    for line in hub.created:
        _print(f"created {line}")
    chain_kind = "embedded chain" if settings.chain.embedded else "JSON-RPC chain"
    _print(f"data directory {settings.data_dir.resolve()}")
    _print(
        f"{chain_kind} {settings.chain.chain_id} at block {hub.chain.block_number()}; "
        f"node {hub.node_account.address}"
    )
    for name, address in hub.deployment.addresses().items():
        _print(f"{name} {address}")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="HTTP processes; more than one needs PostgreSQL and an external chain, and "
            "runs no pipeline (`notary-hub worker` does).",
        ),
    ] = 1,
    no_pipeline: Annotated[
        bool, flag("--no-pipeline", help="Serve HTTP only; `notary-hub worker` runs the pipeline.")
    ] = False,
) -> None:
    """Run the hub: open (or create) everything, then serve HTTP."""
    settings = load_settings()
    host = host or settings.server.host
    port = settings.server.port if port is None else port
    # The origin the hub names (sign-in links, challenge domains, status URLs when no
    # public URL is set) is the one it listens on, --host/--port included.
    listening = settings.server.model_copy(update={"host": host, "port": port})
    settings = settings.model_copy(update={"server": listening})
    if workers > 1:
        require_scalable(settings)
    ensure_port_free(host, port)  # before anything is created or announced
    with cli_errors():
        # Once here, before any worker: what a first start creates or checks (schema,
        # contracts, the notary's DID, first-party clients) is done by one process.
        hub = open_hub(settings)
    _banner(hub, settings)
    http_only = no_pipeline or workers > 1
    _print(f"listening on http://{host}:{port}")
    if hub.embedded_chain is not None:
        _print(f"chain JSON-RPC at http://{host}:{port}/rpc")
    if http_only:
        _print("pipeline: not here (run `notary-hub worker`)")
    if workers > 1:
        hub.close()
        _share_metrics(settings)
        _serve_workers(host, port, workers)
        return
    _serve_one(hub, host, port, pipeline=() if http_only else PIPELINE_STAGES)


def _uvicorn_options() -> dict[str, object]:
    from evidence.capture.live_actions import MAX_MESSAGE_BYTES as LIVE_MESSAGE_BYTES

    return {
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "ws_max_size": LIVE_MESSAGE_BYTES,  # the live page's messages, refused beyond
    }


def _serve_one(hub: Hub, host: str, port: int, *, pipeline: tuple[str, ...]) -> None:
    import uvicorn

    from notary_hub.app import create_app

    try:
        uvicorn.run(
            # serve.json: how `keys rotate` finds this hub while it holds the chain (issue 11)
            create_app(hub, pipeline=pipeline, announce_url=serving.client_url(host, port)),
            host=host,
            port=port,
            **_uvicorn_options(),  # type: ignore[arg-type]
        )
    finally:
        hub.close()


def _share_metrics(settings: Settings) -> None:
    """The HTTP workers sum their metrics in one directory (``notary_hub.metrics``): the
    operator's ``PROMETHEUS_MULTIPROC_DIR`` as it is (``notary-hub worker`` processes on
    this host may write there already), else a fresh ``DATA_DIR/prometheus``."""
    from notary_hub.metrics import multiprocess_dir, prepare_multiprocess

    if multiprocess_dir() is None:
        prepare_multiprocess(settings.data_dir / "prometheus")


def _serve_workers(host: str, port: int, workers: int) -> None:
    """uvicorn's supervisor: ``workers`` processes on one socket, each opening the hub
    from the same environment (``notary_hub.asgi``), restarted if one dies."""
    import uvicorn

    os.environ["NOTARY_HUB_SERVER_HOST"] = host
    os.environ["NOTARY_HUB_SERVER_PORT"] = str(port)
    uvicorn.run(
        "notary_hub.asgi:http_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **_uvicorn_options(),  # type: ignore[arg-type]
    )


def worker(
    stage: Annotated[
        list[str] | None,
        typer.Option(
            help="What to run: timestamp, anchor, certify, index or all (repeatable).",
        ),
    ] = None,
) -> None:
    """Run pipeline stages and the DID indexer (no HTTP) until stopped (SIGTERM, Ctrl-C)."""
    stages = _stages(stage or ["all"])
    settings = load_settings()
    require_scalable(settings)
    with cli_errors():
        hub = open_hub(settings)
    stopped = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopped.set())
    try:
        hub.start_background(stages, http=False)
        _print(f"worker {os.getpid()}: {' '.join(stages)}; node {hub.node_account.address}")
        stopped.wait()
        _print(f"worker {os.getpid()}: stopping")
    finally:
        hub.close()


def _stages(names: list[str]) -> tuple[str, ...]:
    unknown = sorted(set(names) - set(STAGE_CHOICES))
    if unknown:
        fail(
            "invalid_stage",
            f"no stage {', '.join(unknown)}: choose from {', '.join(STAGE_CHOICES)}",
            exit_code=2,
        )
    if "all" in names:
        return PIPELINE_STAGES
    return tuple(name for name in PIPELINE_STAGES if name in names)
