"""Waiting for a condition instead of sleeping and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.05,
    message: str | Callable[[], str] = "the condition was not met",
) -> T:
    """The first truthy value ``condition()`` returns, polled every ``interval`` seconds.

    ``condition`` is always called at least once, and once more at the deadline. After
    ``timeout`` seconds without a truthy value, :class:`AssertionError` is raised with
    ``message`` (called first, if it is a callable, so it can describe the state at the
    time) and the last value. An exception raised by ``condition`` propagates at once.
    """
    if timeout < 0 or interval <= 0:
        raise ValueError("timeout must not be negative and interval must be positive")
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            text = message() if callable(message) else message
            raise AssertionError(f"{text} (after {timeout:g}s; last value: {value!r})")
        time.sleep(min(interval, remaining))
