"""The evidence services' Prometheus metrics (exposed by ``notary_hub.metrics``).

Observed where the work happens, in whichever process does it; in prometheus-client's
multiprocess mode every process's samples are summed at ``/metrics``. Labels are
bounded: a configured authority's name, an error kind.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from prometheus_client import Counter, Histogram

# Deposits are certified seconds after they arrive when all is well, hours when a chain
# or an authority is down: buckets from one second to a day.
DEPOSIT_CERTIFIED_SECONDS = Histogram(
    "notary_hub_deposit_certified_seconds",
    "Time from a deposit's receipt to its certified custody letter.",
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600),
)
TSA_ERRORS = Counter(
    "notary_hub_tsa_errors",
    "Timestamp requests an authority failed: 'unavailable' (retried), 'invalid' (refused).",
    ["authority", "kind"],
)


def count_tsa_error(authority: str, kind: str) -> None:
    TSA_ERRORS.labels(authority=without_userinfo(authority), kind=kind).inc()


def without_userinfo(url: str) -> str:
    """``url`` without a ``user:password@`` an operator may have put in a TSA's URL."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
