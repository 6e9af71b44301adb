"""Clocks a test can move forward instead of sleeping."""

from __future__ import annotations

import time

__all__ = ["SkippingClock"]


class SkippingClock:
    """``time.time()`` plus however far the test has skipped ahead with :meth:`advance`.

    Time still passes, so whatever else reads the wall clock (a chain sealing blocks,
    a verifier) stays close; only the code given this clock sees the skips.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock only skips forward")
        self.offset += seconds
