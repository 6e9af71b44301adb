"""The chain layer's Prometheus counters (exposed by ``notary_hub.metrics`` at ``/metrics``).

Labels are bounded: ``source`` is one of the places below, ``code`` a
:class:`~chain_adapter.errors.ChainError` code (a fixed set), never a message.
"""

from __future__ import annotations

from prometheus_client import Counter

CHAIN_ERRORS = Counter(
    "notary_hub_chain_errors",
    "Chain calls that failed: a batch the batcher could not anchor, a transaction the "
    "transactor could not send or that did not confirm.",
    ["source", "code"],
)


def count_chain_error(source: str, code: str) -> None:
    """One failure at ``source`` (``batcher`` or ``transactor``) with the error's code."""
    CHAIN_ERRORS.labels(source=source, code=code).inc()
