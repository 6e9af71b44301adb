"""``GET /metrics``: the Prometheus text exposition format, from prometheus-client.

Three kinds of figures: counters and histograms observed where things happen (HTTP
requests, ``notary_hub.metrics_http``; chain errors, ``chain_adapter.metrics``; TSA
errors and the time from deposit to certified, ``evidence.metrics``), and the queue
depths and indexer lag read at scrape time (``notary_hub.metrics_hub``).

Several processes (uvicorn workers, stage workers on one host) sum their counters
through prometheus-client's multiprocess mode: :func:`prepare_multiprocess` names an
empty directory in ``PROMETHEUS_MULTIPROC_DIR`` before they start, each process writes
its samples there (prometheus-client picks the file-backed values when it is first
imported with the variable set: uvicorn's workers are spawned, so they are), and
``/metrics`` sums the files with ``MultiProcessCollector``.

Who may read it: :mod:`notary_hub.settings_metrics`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from notary_hub.identity_errors import InvalidToken, MissingToken
from notary_hub.settings_metrics import MetricsSettings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess(directory: Path) -> None:
    """Make ``directory`` the (empty) multiprocess directory of the processes started next.

    Call it in the parent before starting workers, never in a worker: the samples of
    a previous run are removed (their counters would add up again), and the variable
    is set for the children to inherit. Only prometheus-client's ``*.db`` files are
    removed, so a mistaken path loses nothing else.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(directory.resolve())


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


class _ThisProcess(Collector):
    """The default registry's metrics (this process's, and its process_* figures)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class _Collectors(Collector):
    def __init__(self, collectors: list[Collector]) -> None:
        self._collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


def exposition(*scraped: Collector) -> bytes:
    """The text format: every process's samples (or this one's), then ``scraped``."""
    registry = CollectorRegistry()
    directory = multiprocess_dir()
    if directory is not None:
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_Collectors(list(scraped)))
    return generate_latest(registry)


def metrics_router(settings: MetricsSettings, collector: Collector, *, dev: bool) -> APIRouter:
    """``GET /metrics``, behind the scraper's bearer unless explicitly public."""
    router = APIRouter(tags=["health"])
    expected = settings.token.get_secret_value() if settings.token is not None else None
    open_to_all = settings.public or (dev and expected is None)

    @router.get("/metrics", response_class=Response)
    def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
        """The Prometheus text format; a bearer unless public (``NOTARY_HUB_METRICS_*``)."""
        if not open_to_all:
            _check_bearer(authorization, expected)
        return Response(exposition(collector), media_type=CONTENT_TYPE_LATEST)

    return router


def _check_bearer(authorization: str | None, expected: str | None) -> None:
    if authorization is None:
        raise MissingToken("GET /metrics needs the scraper's bearer (NOTARY_HUB_METRICS_TOKEN)")
    scheme, _, presented = authorization.partition(" ")
    # Compared as digests: equal lengths, so the time taken says nothing of the token.
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(_digest(presented.strip()), _digest(expected))
    ):
        raise InvalidToken("not the /metrics bearer")


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()
