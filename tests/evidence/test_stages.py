"""evidence.stages: each stage in its own worker, a stage that moves records wakes the next."""

from __future__ import annotations

import contextlib
import threading

from evidence.stages import Stages


class CountingStage:
    def __init__(self, name: str, moves: list[int]) -> None:
        self.name = name
        self._moves = moves
        self.passes = 0
        self.last_error: str | None = None
        self.ran = threading.Event()

    def run_pass(self) -> int:
        self.passes += 1
        self.ran.set()
        return self._moves.pop(0) if self._moves else 0


def test_run_once_runs_every_stage_in_order_and_counts_what_moved() -> None:
    first, second = CountingStage("one", [3]), CountingStage("two", [2])
    stages = Stages("svc", [first, second], batch_size=10, interval=60)
    assert stages.run_once() == 5
    assert (first.passes, second.passes) == (1, 1)


def test_a_full_batch_is_drained_and_wakes_the_next_stage() -> None:
    first, second = CountingStage("one", [10, 10, 4]), CountingStage("two", [])
    stages = Stages("svc", [first, second], batch_size=10, interval=60)
    stages.start()
    try:
        stages.wake("one")
        assert second.ran.wait(10), "the second stage was never woken"
        assert first.ran.wait(10)
    finally:
        stages.stop()
    assert first.passes >= 3  # two full batches, then the short one
    assert len(stages.workers) == 2


def test_last_errors_name_the_failing_stage() -> None:
    first, second = CountingStage("one", []), CountingStage("two", [])
    stages = Stages("svc", [first, second], batch_size=10, interval=60)
    assert stages.last_errors == {}
    second.last_error = "the TSA is down"
    assert stages.last_errors == {"two": "the TSA is down"}


class FailingStage(CountingStage):
    def __init__(self, name: str) -> None:
        super().__init__(name, [])
        self.raising = False

    def run_pass(self) -> int:
        if self.raising:
            raise TimeoutError("the TSA does not answer")
        return super().run_pass()


def test_a_stage_failing_repeatedly_is_persistent_a_blip_is_not() -> None:
    """Issue 11: N passes failing running, or failing for T seconds, is not ready."""
    now = [100.0]
    stage, other = FailingStage("timestamp"), CountingStage("anchor", [])
    stages = Stages("svc", [stage, other], batch_size=10, interval=60, clock=lambda: now[0])

    def persistent() -> dict[str, str]:
        return stages.persistent_errors(passes=3, seconds=30)

    stage.last_error = "timestamp_unavailable: down"  # a record put off, twice: a blip
    stages.run_pass(0)
    stages.run_pass(0)
    assert persistent() == {}
    stage.last_error = None  # a pass that worked ends the streak
    stages.run_pass(0)
    stage.raising = True
    for _ in range(2):
        with contextlib.suppress(TimeoutError):
            stages.run_pass(0)
    assert persistent() == {}
    with contextlib.suppress(TimeoutError):
        stages.run_pass(0)
    assert persistent() == {"timestamp": "failing"}  # no worker ran: no message to show

    stage.raising = False
    stages.run_pass(0)
    assert persistent() == {}
    stage.last_error = "timestamp_unavailable: down"
    stages.run_pass(0)  # one failing pass ...
    now[0] += 31  # ... and nothing better for longer than T
    assert persistent() == {"timestamp": "timestamp_unavailable: down"}
