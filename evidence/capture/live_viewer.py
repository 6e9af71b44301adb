"""The one person watching a live capture: what their WebSocket is to send next.

Two threads meet here. The session's thread (its own event loop, :mod:`.runner`) hands
over screencast frames, the answers to actions and the end; the hub's event loop, which
serves the WebSocket, takes them. Every hand-over goes through
``loop.call_soon_threadsafe`` into the hub's loop, so the state below is only ever
touched there. Frames are the latest one only: a viewer on a slow link skips frames
instead of queueing them (the video, fed by the same screencast, keeps every one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from evidence.capture.browser import Frame

__all__ = ["Viewer"]

MAX_MESSAGES = 256  # answers waiting to be sent; beyond, the newest are dropped


class Viewer:
    """Made and read on the hub's event loop; ``*_threadsafe`` methods from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ended: str | None = None
        self.pending = 0  # actions sent to the session, not answered yet
        self._frame: Frame | None = None
        self._messages: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()

    # -- from the session's thread -------------------------------------------------------
    def _call(self, callback: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the hub's loop is closed: nobody to tell
            self.loop.call_soon_threadsafe(callback, *args)

    def offer_threadsafe(self, frame: Frame) -> None:
        self._call(self._offer, frame)

    def answer_threadsafe(self, message: dict[str, Any]) -> None:
        """An action's answer: the pending count goes down as it is queued."""
        self._call(self._answer, message)

    def post_threadsafe(self, message: dict[str, Any]) -> None:
        self._call(self.post, message)

    def end_threadsafe(self, outcome: str) -> None:
        self._call(self.end, outcome)

    # -- on the hub's loop ---------------------------------------------------------------
    def _offer(self, frame: Frame) -> None:
        self._frame = frame
        self._wake.set()

    def _answer(self, message: dict[str, Any]) -> None:
        self.pending -= 1
        self.post(message)

    def post(self, message: dict[str, Any]) -> None:
        if len(self._messages) >= MAX_MESSAGES:  # a page flooding us is not answered in full
            return
        self._messages.append(message)
        self._wake.set()

    def end(self, outcome: str) -> None:
        if self.ended is None:
            self.ended = outcome
        self._wake.set()

    async def next(self) -> tuple[list[dict[str, Any]], Frame | None]:
        """Wait for something to send: the queued answers, then the latest frame; both
        empty once ended and drained (then :attr:`ended` says why)."""
        while not self._messages and self._frame is None and self.ended is None:
            self._wake.clear()
            await self._wake.wait()
        messages = list(self._messages)
        self._messages.clear()
        frame, self._frame = self._frame, None
        return messages, frame
