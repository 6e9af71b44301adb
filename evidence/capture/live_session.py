"""A live capture (issue 15 item 4): a person drives the session through the live page
until they end it, it sits idle too long, or it reaches its maximum duration; then the
runner seals it exactly as a scripted one.

:class:`LiveSession` lives in two threads. :meth:`LiveSession.run` runs in the session's
own thread and event loop (:mod:`.runner`): it opens the first address, watches the
capture's :class:`~.session_limits.SessionClock` (the capture's own idle timeout and
maximum duration, touched by every action of the person's), the owner's end and the
browser's death, and tees the screencast frames the video already reads to the viewer.
The WebSocket (:mod:`.live_socket`) runs on the hub's loop: it connects the single
:class:`~.live_viewer.Viewer` and :meth:`submit`\\ s actions, each run in the session's
loop by ``asyncio.run_coroutine_threadsafe``, one after another in the order sent, its
answer handed back to the viewer.

Who may connect is :mod:`.live_access`'s; the trust boundary of what is recorded is
:mod:`.session`'s.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from evidence.capture.browser import Frame
from evidence.capture.browser_errors import SessionEnded
from evidence.capture.capture_request import CaptureLimits
from evidence.capture.errors import CaptureError
from evidence.capture.launch import BrowserSettings
from evidence.capture.live_access import LiveAccessRefused
from evidence.capture.live_actions import LiveAction, perform
from evidence.capture.live_viewer import Viewer
from evidence.capture.models import EndReason
from evidence.capture.session import CaptureSession
from evidence.capture.session_limits import IDLE, SessionClock
from evidence.capture.session_settings import SessionSettings

__all__ = ["LiveCapture", "LiveSession", "live_settings"]

log = logging.getLogger(__name__)
END_GRACE = 5.0  # seconds an action under way may take to finish once the session ends
#: The browser's own clock is a backstop behind the capture's: were it first, the letter
#: would call a timeout an interruption (the browser "ended on its own").
BACKSTOP_GRACE = 60.0


@dataclass(frozen=True)
class LiveCapture:
    """What ``POST /captures`` with ``"mode": "live"`` asks for: the first address."""

    target: str
    limits: Mapping[str, object] | None = None


def live_settings(settings: SessionSettings, limits: CaptureLimits) -> SessionSettings:
    """The session's settings with the browser's own timers behind the capture's."""
    backstop = limits.max_duration_seconds + BACKSTOP_GRACE
    browser = replace(
        settings.browser or BrowserSettings(direct_for_tests=True),
        idle_timeout=backstop,
        max_duration=backstop,
    )
    return replace(settings, browser=browser)


class LiveSession:
    """One live capture's session as the live page reaches it."""

    def __init__(self, capture_id: str, target: str, limits: CaptureLimits) -> None:
        self.capture_id = capture_id
        self.target = target
        self.url = target  # the last address the session reported loading
        self.limits = limits
        self.viewport: tuple[int, int] | None = None
        self.ready = threading.Event()  # the session is up and takes actions
        self.outcome: str | None = None  # once over: why, in words
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session: CaptureSession | None = None
        self._clock: SessionClock | None = None
        self._order: asyncio.Lock | None = None
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._last_frame: Frame | None = None
        self._viewer: Viewer | None = None
        self._lock = threading.Lock()

    # -- the session's thread ------------------------------------------------------------
    async def run(self, session: CaptureSession, stopped: asyncio.Event) -> tuple[EndReason, str]:
        """Until the owner ends it (``stopped``), the idle timeout, the maximum duration or
        the browser's end: why it ended, as an end reason and in words."""
        loop = asyncio.get_running_loop()
        expired: asyncio.Future[str] = loop.create_future()

        async def expire(reason: str) -> None:
            if not expired.done():
                expired.set_result(reason)

        limits = self.limits
        self._clock = SessionClock(limits.idle_seconds, limits.max_duration_seconds, expire)
        self._order, self._session, self._loop = asyncio.Lock(), session, loop
        self.viewport = (session.browser.settings.width, session.browser.settings.height)
        session.add_frame_listener(self._on_frame)
        self._clock.start()
        self.ready.set()
        first = loop.create_task(self._first_page())
        follow = loop.create_task(self._follow(session))
        stop = loop.create_task(stopped.wait())
        died = loop.create_task(session.browser.wait_closed())
        ends: set[asyncio.Future[Any]] = {stop, expired, died}
        try:
            await asyncio.wait(ends, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stop, died, follow):
                task.cancel()
            await self._clock.stop()
            session.remove_frame_listener(self._on_frame)
            await self._settle(first)
        return self._why(expired, died, session)

    def _why(
        self, expired: asyncio.Future[str], died: asyncio.Task[str], session: CaptureSession
    ) -> tuple[EndReason, str]:
        if expired.done():
            if expired.result() == IDLE:
                seconds = self.limits.idle_seconds
                return EndReason.IDLE_TIMEOUT, f"the idle timeout of {seconds} s was reached"
            seconds = self.limits.max_duration_seconds
            return EndReason.MAX_DURATION, f"the maximum duration of {seconds} s was reached"
        if died.done() and not died.cancelled():
            return EndReason.BROWSER_DIED, f"the browser ended: {session.browser.ended}"
        return EndReason.USER, "ended by the user"

    async def _first_page(self) -> None:
        """The first address, as if typed in the address bar; a failure leaves the session
        live (the action log has it; the person can try another address)."""
        with contextlib.suppress(CaptureError):
            await self._perform(LiveAction("navigate", {"url": self.target}))

    async def _follow(self, session: CaptureSession) -> None:
        """The address bar follows the page: links, forms and redirects move it too."""
        async for url in session.browser.main_frame_urls():
            self.url = url
            viewer = self._viewer
            if viewer is not None:
                viewer.post_threadsafe({"type": "url", "url": url})

    async def _settle(self, first: asyncio.Task[None]) -> None:
        """No new action from now on; those under way get :data:`END_GRACE` to finish."""
        self._closing = True
        running = {*self._tasks, first}
        _, late = await asyncio.wait(running, timeout=END_GRACE)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _perform(self, action: LiveAction) -> dict[str, Any]:
        task = asyncio.current_task()
        assert task is not None and self._order is not None and self._session is not None
        self._tasks.add(task)
        try:
            async with self._order:  # in the order sent (asyncio.Lock is first come, first in)
                if self._closing:
                    raise SessionEnded("the capture session is ending")
                assert self._clock is not None
                self._clock.touch()
                answer = await perform(self._session, action)
                if "url" in answer:
                    self.url = answer["url"]
                return answer
        finally:
            self._tasks.discard(task)

    def _on_frame(self, frame: Frame) -> None:
        self._last_frame = frame
        viewer = self._viewer
        if viewer is not None:
            viewer.offer_threadsafe(frame)

    def finish(self, outcome: str) -> None:
        """The session is over (or never started): the viewer is told why, once."""
        with self._lock:
            if self.outcome is not None:
                return
            self.outcome = outcome
            viewer = self._viewer
        self.ready.set()  # a viewer waiting for the start stops waiting
        if viewer is not None:
            viewer.end_threadsafe(outcome)

    # -- the hub's loop ------------------------------------------------------------------
    def connect(self, loop: asyncio.AbstractEventLoop) -> Viewer:
        """The viewer; 403 while another one is connected, or once the session is over."""
        with self._lock:
            if self.outcome is not None:
                raise SessionEnded(f"the capture session has ended: {self.outcome}")
            if self._viewer is not None:
                raise LiveAccessRefused(
                    "another viewer is connected to this live capture; one at a time"
                )
            self._viewer = viewer = Viewer(loop)
        if self._last_frame is not None:  # the screen as it is now, not after its next change
            viewer.offer_threadsafe(self._last_frame)
        return viewer

    def disconnect(self, viewer: Viewer) -> None:
        with self._lock:
            if self._viewer is viewer:
                self._viewer = None

    @property
    def connected(self) -> bool:
        return self._viewer is not None

    def submit(self, action: LiveAction) -> concurrent.futures.Future[dict[str, Any]]:
        """Run ``action`` in the session's loop; its answer is the future's."""
        loop = self._loop
        if loop is None or self.outcome is not None or self._closing:
            raise SessionEnded("the capture session is not taking actions")
        work = self._perform(action)
        try:
            return asyncio.run_coroutine_threadsafe(work, loop)
        except RuntimeError:  # its loop has closed
            work.close()
            raise SessionEnded("the capture session has ended") from None
