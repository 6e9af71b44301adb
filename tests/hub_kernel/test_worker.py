"""The background worker: passes on a timer, early wake-ups, backoff, last error, prompt stop."""

from __future__ import annotations

import itertools
import threading
import time

from chain_adapter.errors import ChainUnavailable
from hub_kernel.errors import HubError
from hub_kernel.worker import Worker
from testkit.waiting import wait_until


def test_runs_passes_and_stops_promptly() -> None:
    passes: list[float] = []
    runners: set[threading.Thread] = set()

    def work() -> None:
        passes.append(time.monotonic())
        runners.add(threading.current_thread())

    worker = Worker("test", work, interval=0.02)
    worker.start()
    wait_until(lambda: len(passes) >= 3, timeout=5, interval=0.01, message="no three passes")
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started < 1.0
    # Stopped: no thread is left that could run another pass.
    assert runners and not any(thread.is_alive() for thread in runners)


def test_wake_cuts_the_wait_short_only_when_wanted() -> None:
    passes = threading.Semaphore(0)
    wanted = threading.Event()
    worker = Worker("test", passes.release, interval=30.0, wake_when=wanted.is_set)
    worker.start()
    try:
        assert passes.acquire(timeout=5)  # the first pass runs at once
        worker.wake()
        assert not passes.acquire(timeout=0.3)  # not wanted: keeps waiting
        wanted.set()
        worker.wake()
        assert passes.acquire(timeout=5)
    finally:
        worker.stop()


def test_failures_back_off_and_are_reported_then_cleared() -> None:
    times: list[float] = []
    failing = threading.Event()
    failing.set()

    def work() -> None:
        times.append(time.monotonic())
        if failing.is_set():
            raise ChainUnavailable("node down")

    worker = Worker("test", work, interval=0.05)
    worker.start()
    try:
        wait_until(lambda: len(times) >= 3, timeout=5, interval=0.01, message="no three passes")
        assert worker.last_error == "chain_unavailable: node down"
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert gaps[1] > gaps[0] * 1.5  # exponential, not a fixed interval
        failing.clear()
        wait_until(
            lambda: worker.last_error is None, timeout=10, interval=0.01, message="error kept"
        )
    finally:
        worker.stop()


def test_a_bug_in_a_pass_does_not_end_the_loop() -> None:
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    worker = Worker("test", work, interval=0.01)
    worker.start()
    try:
        wait_until(lambda: len(calls) >= 3, timeout=5, interval=0.01, message="the loop ended")
    finally:
        worker.stop()


class NoAnswer(HubError):
    code = "no_answer"
    status_code = 503


def test_any_hub_error_is_reported_by_its_code_and_a_bug_by_its_class() -> None:
    errors: list[Exception] = [NoAnswer("nobody answered"), RuntimeError("boom")]

    def work() -> None:
        if errors:
            raise errors.pop(0)

    worker = Worker("test", work, interval=0.2)  # backs off 0.4 s, then 0.8 s: time to look
    worker.start()
    try:
        wait_until(lambda: worker.last_error == "no_answer: nobody answered", timeout=5)
        wait_until(lambda: worker.last_error == "RuntimeError: boom", timeout=5)
        wait_until(lambda: worker.last_error is None, timeout=5)
    finally:
        worker.stop()
