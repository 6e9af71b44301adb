"""The limits on capture sessions (issue 15): "a cap on concurrent sessions, an idle timeout
and a maximum duration".

:class:`SessionSlots` is the cap (a slot is taken before the pre-flight and released when
the browser is gone); :class:`SessionClock` is one session's two timers, which end it with
the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable

from evidence.capture.browser_errors import InvalidCaptureSettings, SessionsFull

__all__ = ["SessionClock", "SessionSlot", "SessionSlots"]

IDLE = "idle timeout"
MAX_DURATION = "maximum duration"


class SessionSlot:
    """One taken slot; :meth:`release` is idempotent."""

    def __init__(self, slots: SessionSlots) -> None:
        self._slots = slots
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._slots._give_back()


class SessionSlots:
    """At most ``capacity`` live sessions; the next one is refused, not queued."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise InvalidCaptureSettings("the capture session cap is at least 1")
        self.capacity = capacity
        self._lock = threading.Lock()
        self._in_use = 0

    @property
    def in_use(self) -> int:
        return self._in_use

    def take(self) -> SessionSlot:
        with self._lock:
            if self._in_use >= self.capacity:
                raise SessionsFull(
                    f"all {self.capacity} capture sessions are in use; try again later",
                    headers={"Retry-After": "60"},
                )
            self._in_use += 1
        return SessionSlot(self)

    def _give_back(self) -> None:
        with self._lock:
            self._in_use -= 1


class SessionClock:
    """Calls ``on_expire(reason)`` once: after ``idle`` seconds without :meth:`touch`, or
    ``maximum`` seconds after :meth:`start`, whichever comes first."""

    def __init__(
        self, idle: float, maximum: float, on_expire: Callable[[str], Awaitable[None]]
    ) -> None:
        if idle <= 0 or maximum <= 0:
            raise InvalidCaptureSettings("capture timeouts are positive")
        self._idle = idle
        self._maximum = maximum
        self._on_expire = on_expire
        self._task: asyncio.Task[None] | None = None
        self._started = 0.0
        self._last = 0.0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._started = self._last = loop.time()
        self._task = loop.create_task(self._watch())

    def touch(self) -> None:
        """A user action: the idle timer starts again."""
        self._last = asyncio.get_running_loop().time()

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            idle_end = self._last + self._idle
            hard_end = self._started + self._maximum
            now = loop.time()
            if now >= hard_end:
                reason = MAX_DURATION
                break
            if now >= idle_end:
                reason = IDLE
                break
            await asyncio.sleep(min(idle_end, hard_end) - now)
        self._task = None  # expiring closes the session, which stops this clock
        await self._on_expire(reason)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
