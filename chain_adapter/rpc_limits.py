"""Limits of the unauthenticated ``POST /rpc``: requests per client, executions at once.

Issue 9, item 3 ("/rpc cannot be made to hang"). Each request's EVM work is
bounded by a gas cap and a deadline (:mod:`chain_adapter.rpc_execution`); what
is bounded here is how many requests there are:

* :class:`RateLimiter`: a token bucket per client (https://en.wikipedia.org/wiki/Token_bucket),
  so one client gets ``rate`` requests a second after a burst of ``burst``; the
  router answers the rest with HTTP 429 and ``Retry-After`` (RFC 6585 §4,
  RFC 9110 §10.2.3);
* :class:`CallSlots`: at most ``size`` requests execute at once, each on a daemon
  thread of its own, so JSON-RPC never holds the server's shared thread pool (the
  one ``/readyz`` and the rest of the hub run on), and a runaway execution never
  keeps the process from exiting. Time spent waiting for a slot counts against the
  request's deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How long after its deadline an answer is still awaited, for work the EVM's own
# deadline checks cannot interrupt (one opcode, one store read).
ANSWER_GRACE = 1.0


class CallTimedOut(Exception):
    """No answer came before the request's deadline: no slot freed up, or the work overran."""


class RateLimiter:
    """Token buckets keyed by client: ``rate`` tokens a second, at most ``burst`` saved up.

    At most ``max_clients`` buckets are kept; the least recently seen is forgotten
    first (a forgotten client starts again with a full bucket).
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1 or max_clients < 1:
            raise ValueError("rate must be positive, burst and max_clients at least 1")
        self.rate = rate
        self.burst = burst
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Spend one of ``client``'s tokens and return 0, or return the seconds until one is due."""
        now = self._clock()
        with self._lock:
            # Popped and put back: dict order is then least recently seen first.
            tokens, when = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - when) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self._max_clients:
                del self._buckets[next(iter(self._buckets))]
        return wait


class CallSlots:
    """Runs at most ``size`` blocking calls at once, each on a daemon thread of its own."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("at least one slot is needed")
        self.size = size
        self._free = threading.BoundedSemaphore(size)

    async def run(self, work: Callable[[], T], deadline: float) -> T:
        """``work()``'s result, or :class:`CallTimedOut` once ``deadline`` has passed unanswered.

        A thread per call costs about as much as handing it to a pool, and needs no
        pool to shut down. The thread waits for a slot only until ``deadline``.
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def execute() -> None:
            if not self._free.acquire(timeout=max(0.0, deadline - time.monotonic())):
                if future.set_running_or_notify_cancel():
                    future.set_exception(CallTimedOut("no execution slot freed up in time"))
                return
            try:
                if not future.set_running_or_notify_cancel():
                    return  # the caller gave up waiting
                try:
                    future.set_result(work())
                except BaseException as exc:  # handed to the awaiting caller
                    future.set_exception(exc)
            finally:
                self._free.release()

        threading.Thread(target=execute, name="rpc-call", daemon=True).start()
        timeout = max(0.0, deadline - time.monotonic()) + ANSWER_GRACE
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            raise CallTimedOut("the execution overran its deadline") from None
