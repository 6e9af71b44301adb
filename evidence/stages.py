"""The background stages an evidence service's records move through, each a worker loop.

Every service that issues letters (deposits now; captures and draws next) moves its
records through states: received → timestamped → anchored → certified. Each move is
one :class:`Stage`: a pass claims a batch of records in one state, works on them and
writes the next state. :class:`Stages` runs each stage in its own
:class:`hub_kernel.worker.Worker`, repeats a pass while it finds full batches,
and wakes the next stage whenever a pass moved something on. A service only writes
its stages; the running, waking and error reporting are here, once.

Issue 11, item 1 (c): an error is not a state. A stage that fails once (a timestamp
authority that blinked) is retried with back-off and the hub stays ready; a stage that
keeps failing is not ready. Each stage's failing streak is counted here: how many
consecutive passes failed (raised, or ended with a record put off and the stage still
reporting its error) and since when (:meth:`Stages.persistent_errors`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from hub_kernel.worker import Worker


class Stage(Protocol):
    """One move of a service's records from one state to the next."""

    name: str  # "timestamp", "anchor", "certify": also the worker's and the error's name

    def run_pass(self) -> int:
        """Move one batch on; how many records moved."""
        ...

    @property
    def last_error(self) -> str | None:
        """Why the last record this stage had to put off was put off, while it fails."""
        ...


@dataclass
class Streak:
    """A stage's current run of failing passes: how many, and since when (monotonic)."""

    passes: int = 0
    since: float | None = None

    def note(self, failed: bool, now: float) -> None:
        if not failed:
            self.passes, self.since = 0, None
            return
        self.passes += 1
        if self.since is None:
            self.since = now


class Stages:
    """Runs ``stages`` in order, each in a worker: ``stages[i]`` moving records wakes
    ``stages[i + 1]``."""

    def __init__(
        self,
        service: str,
        stages: Sequence[Stage],
        *,
        batch_size: int,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stages = list(stages)
        self._batch_size = batch_size
        self.workers = [
            Worker(f"{service}-{stage.name}", self._drain(index), interval)
            for index, stage in enumerate(self._stages)
        ]
        self._by_name = {
            stage.name: worker for stage, worker in zip(self._stages, self.workers, strict=True)
        }
        self._streaks = [Streak() for _ in self._stages]
        self._clock = clock

    def start(self, names: Collection[str] | None = None) -> None:
        """Run the stages named (all by default) in their workers; the others stay idle
        in this process (another process runs them: ``notary-hub worker --stage``)."""
        for stage, worker in zip(self._stages, self.workers, strict=True):
            if names is None or stage.name in names:
                worker.start()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def wake(self, name: str) -> None:
        self._by_name[name].wake()

    @property
    def stopping(self) -> bool:
        return any(worker.stopping for worker in self.workers)

    @property
    def last_errors(self) -> dict[str, str]:
        """The last failure of each stage failing now: a whole pass, or a record put off."""
        errors: dict[str, str] = {}
        for stage, worker in zip(self._stages, self.workers, strict=True):
            error = worker.last_error or stage.last_error
            if error:
                errors[stage.name] = error
        return errors

    def run_once(self) -> int:
        """One pass of every stage, in order (no workers needed): how many records moved."""
        return sum(self.run_pass(index) for index in range(len(self._stages)))

    def persistent_errors(self, *, passes: int, seconds: float) -> dict[str, str]:
        """The stages failing "repeatedly", with their last error: on at least ``passes``
        consecutive passes, or on every pass for at least ``seconds`` (what ``/readyz``
        reports as not ready)."""
        now = self._clock()
        errors = self.last_errors
        persistent: dict[str, str] = {}
        for stage, streak in zip(self._stages, self._streaks, strict=True):
            if streak.since is None:
                continue
            if streak.passes >= passes or now - streak.since >= seconds:
                persistent[stage.name] = errors.get(stage.name, "failing")
        return persistent

    def run_pass(self, index: int) -> int:
        stage, streak = self._stages[index], self._streaks[index]
        try:
            moved = stage.run_pass()
        except BaseException:
            streak.note(True, self._clock())
            raise
        streak.note(stage.last_error is not None, self._clock())
        if moved and index + 1 < len(self.workers):
            self.workers[index + 1].wake()
        return moved

    def _drain(self, index: int) -> Callable[[], None]:
        def work() -> None:
            while self.run_pass(index) >= self._batch_size and not self.stopping:
                pass

        return work
