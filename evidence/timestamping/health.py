"""What each timestamp authority last answered: for readiness and the error counter.

Readiness does not ask an authority for a token of its own: an external TSA may rate
limit or charge per token, and probes every few seconds from each replica would add up.
It reports instead how each authority answered the hub's last real request
(:class:`~evidence.timestamping.client.TimestampClient` records it here), and counts the
failures in ``notary_hub_tsa_errors_total``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from evidence.errors import TimestampUnavailable
from evidence.metrics import count_tsa_error


@dataclass(frozen=True, slots=True)
class AuthorityOutcome:
    """An authority's last answer: ``error`` is ``None`` when it gave a valid token."""

    at: float  # POSIX seconds
    error: str | None = None


class AuthorityHealth:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcomes: dict[str, AuthorityOutcome] = {}

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._outcomes[name] = AuthorityOutcome(time.time())

    def failed(self, name: str, exc: Exception) -> None:
        kind = "unavailable" if isinstance(exc, TimestampUnavailable) else "invalid"
        count_tsa_error(name, kind)
        with self._lock:
            self._outcomes[name] = AuthorityOutcome(time.time(), f"{kind}: {exc}"[:500])

    def outcomes(self) -> dict[str, AuthorityOutcome]:
        """Each authority asked so far, by name."""
        with self._lock:
            return dict(self._outcomes)
