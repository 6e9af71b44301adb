"""A background worker: one daemon thread that repeats a pass of work.

The batcher, the DID registry indexer and the hub's consortium poller share the
same needs: run a pass every ``interval`` seconds, sooner when woken, back off
exponentially (to a minute) while passes fail (a chain that is down must not be
hammered), remember the last failure for ``/readyz``, and stop promptly.

A pass that fails with a :class:`~hub_kernel.errors.HubError` (a chain that is down, a
timestamp authority that does not answer) is reported as ``"<code>: <message>"``; any
other exception is a bug, logged with its traceback and reported by its class name.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hub_kernel.advisory_locks import PassGuard
from hub_kernel.errors import HubError

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


class Worker:
    """Runs ``work`` repeatedly in a daemon thread named ``name``.

    ``wake_when``, if given, filters wake-ups: a :meth:`wake` cuts the wait short
    only when it returns true (the batcher wakes early only for a full batch).
    ``guard``, if given, is asked before each pass and the pass runs only when it
    yields true (:mod:`hub_kernel.advisory_locks`: one pass at a time across processes).
    """

    def __init__(
        self,
        name: str,
        work: Callable[[], object],
        interval: float,
        *,
        wake_when: Callable[[], bool] | None = None,
        guard: PassGuard | None = None,
    ) -> None:
        self._name = name
        self._work = work
        self._interval = interval
        self._wake_when = wake_when
        self.guard = guard
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called: long passes check it between steps."""
        return self._stop.is_set()

    def _loop(self) -> None:
        backoff = self._interval
        while not self._stop.is_set():
            try:
                self._pass()
                self.last_error = None
                backoff = self._interval
            except HubError as exc:
                self.last_error = f"{exc.code}: {exc.message}"
                backoff = min(backoff * 2, MAX_BACKOFF)
            except Exception as exc:
                # Any other failure is a bug, but the loop must outlive it.
                log.exception("%s pass failed", self._name)
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                backoff = min(backoff * 2, MAX_BACKOFF)
            self._sleep(backoff)

    def _pass(self) -> None:
        if self.guard is None:
            self._work()
            return
        with self.guard() as held:
            if held:
                self._work()

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and (remaining := deadline - time.monotonic()) > 0:
            if self._wake.wait(remaining):
                self._wake.clear()
                if self._wake_when is None or self._wake_when():
                    return
