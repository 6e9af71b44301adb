"""The figures ``/metrics`` reads at scrape time: queue depths and the DID indexer's lag.

A gauge kept in memory would be true only in the process that moved the work; these are
read from the database and the chain when scraped, so whichever process answers (one
of several uvicorn workers, a hub whose stages run elsewhere) tells the truth. The
figures are cached for ``NOTARY_HUB_METRICS_CACHE_SECONDS``, one reader at a time, so
scrapes in a burst cost the database one round of queries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from chain_adapter.errors import ChainError
from evidence.capture.depths import unfinished_captures
from evidence.deposit.depths import WAITING_FOR, Waiting, waiting_deposits
from notary_hub.hub import Hub


@dataclass(frozen=True)
class HubFigures:
    """What one scrape reports; a source that failed is ``False`` in ``up`` and absent."""

    waiting: dict[str, Waiting] = field(default_factory=dict)  # by the stage waited for
    anchor_pending: int | None = None
    captures: dict[str, int] = field(default_factory=dict)  # unfinished, by state
    index_lag: int | None = None  # blocks behind the confirmed chain head
    up: dict[str, bool] = field(default_factory=dict)  # "database", "chain"


def read_figures(hub: Hub) -> HubFigures:
    """The queue depths from the database, the indexer's lag from the chain's head."""
    up = {"database": True, "chain": True}
    waiting: dict[str, Waiting] = {}
    pending: int | None = None
    captures: dict[str, int] = {}
    indexed: int | None = None
    try:
        depths = waiting_deposits(hub.sessions)
        waiting = {WAITING_FOR[state]: figure for state, figure in depths.items()}
        pending = hub.queue.pending_count()
        captures = unfinished_captures(hub.sessions)
        cursor = hub.indexer.cursor()
        indexed = cursor.block_number if cursor is not None else None
    except Exception:  # any driver error: the database did not answer this scrape
        up["database"] = False
    lag: int | None = None
    try:
        head = hub.chain.block_number()
        if indexed is not None:
            lag = max(0, head - hub.settings.chain.confirmations - indexed)
    except ChainError:
        up["chain"] = False
    return HubFigures(waiting, pending, captures, lag, up)


class HubCollector(Collector):
    """A prometheus-client collector over ``read``, cached ``cache_seconds``."""

    def __init__(
        self,
        read: Callable[[], HubFigures],
        cache_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, HubFigures] | None = None
        self.reads = 0  # how many times the sources were read (the cache's test)

    def figures(self) -> HubFigures:
        with self._lock:  # one reader; the others wait and reuse its figures
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self._cache_seconds:
                self._cached = (now, self._read())
                self.reads += 1
            return self._cached[1]

    def collect(self) -> Iterator[Metric]:
        figures = self.figures()
        up = GaugeMetricFamily(
            "notary_hub_scrape_source_up",
            "Whether a source of the scrape-time figures answered (1) or not (0).",
            labels=["source"],
        )
        for source, answered in sorted(figures.up.items()):
            up.add_metric([source], 1.0 if answered else 0.0)
        yield up
        yield from _depths(figures)
        if figures.index_lag is not None:
            yield GaugeMetricFamily(
                "notary_hub_did_index_lag_blocks",
                "Blocks the DID indexer is behind the chain's confirmed head.",
                value=figures.index_lag,
            )


def _depths(figures: HubFigures) -> Iterator[Metric]:
    if figures.waiting:
        depth = GaugeMetricFamily(
            "notary_hub_deposits_waiting",
            "Deposits waiting for a pipeline stage (received: timestamp, and so on).",
            labels=["stage"],
        )
        age = GaugeMetricFamily(
            "notary_hub_deposits_oldest_waiting_seconds",
            "Age of the oldest deposit waiting for a stage, since its receipt (0: none).",
            labels=["stage"],
        )
        now = datetime.now(UTC)
        for stage, waiting in figures.waiting.items():
            depth.add_metric([stage], waiting.count)
            oldest = waiting.oldest
            age.add_metric([stage], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield depth
        yield age
    if figures.captures:
        captures = GaugeMetricFamily(
            "notary_hub_captures_unfinished",
            "Captures not yet sealed or refused, by state.",
            labels=["state"],
        )
        for state, count in figures.captures.items():
            captures.add_metric([state], count)
        yield captures
    if figures.anchor_pending is not None:
        yield GaugeMetricFamily(
            "notary_hub_anchor_items_pending",
            "Anchor items not yet sealed into a batch.",
            value=figures.anchor_pending,
        )
