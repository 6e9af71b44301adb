"""The HTTP application of one of ``notary-hub serve --workers N``'s processes.

uvicorn's supervisor starts each worker process afresh and calls :func:`http_app` in
it (an import string, as a process cannot be handed an opened hub). Each opens the hub
from the same environment ``serve`` checked and opened once before it started them, and
serves HTTP only: the pipeline runs in ``notary-hub worker`` processes. The hub closes
with the application's lifespan.
"""

from __future__ import annotations

from fastapi import FastAPI

from notary_hub.app import create_app
from notary_hub.cli_support import load_settings
from notary_hub.hub import open_hub


def http_app() -> FastAPI:
    hub = open_hub(load_settings())
    return create_app(hub, pipeline=(), close_hub=True)
