"""An ASGI app served by uvicorn in a thread on a loopback port, for clients that need
real HTTP (node, httpx against a TSA, a chain reached over JSON-RPC)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import uvicorn
from fastapi import FastAPI

from chain_adapter.embedded import EmbeddedChain
from chain_adapter.rpc_router import rpc_router
from chain_adapter.rpc_server import RpcServer
from testkit.waiting import wait_until

__all__ = ["ServedApp", "serve_app", "serve_rpc"]


@dataclass(frozen=True)
class ServedApp:
    """Where the app answers, and the server (:meth:`stop` ends it early)."""

    url: str  # http://127.0.0.1:<port>, without a trailing slash
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait until the server has exited (its socket closed)."""
        self.server.should_exit = True
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"uvicorn did not stop in {timeout:g}s"


@contextmanager
def serve_app(
    app: FastAPI,
    *,
    port: int = 0,
    reuse_address: bool = False,
    lifespan: Literal["auto", "on", "off"] = "off",
    access_log: bool = True,
    start_timeout: float = 10.0,
    stop_timeout: float = 10.0,
) -> Iterator[ServedApp]:
    """``app`` served until the block exits; ``port`` 0 takes a free one."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto
    # says TCP, and without it each answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    if reuse_address:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    bound: int = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=access_log)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: server.started or not thread.is_alive(),
            timeout=start_timeout,
            interval=0.01,
            message="uvicorn did not start",
        )
        assert server.started, "uvicorn exited before it started"
        yield ServedApp(f"http://127.0.0.1:{bound}", bound, server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=stop_timeout)
        sock.close()


@contextmanager
def serve_rpc(chain: EmbeddedChain, *, access_log: bool = True) -> Iterator[str]:
    """``chain``'s JSON-RPC at ``<url>/rpc`` (read-only), served by uvicorn in a thread."""
    server_impl = RpcServer(chain)
    app = FastAPI()
    app.include_router(rpc_router(lambda: server_impl))
    with serve_app(app, access_log=access_log) as served:
        yield f"{served.url}/rpc"
