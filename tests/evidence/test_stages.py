"""evidence.stages: each stage in its own worker, a stage that moves records wakes the next."""

from __future__ import annotations

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
