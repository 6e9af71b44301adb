"""Group commit: concurrent callers' writes made in one transaction, each caller waiting
for its own.

:meth:`GroupCommit.submit` returns once the item is written (or raises what writing it
raised), exactly as a direct write would, so a caller's semantics do not change; only
the number of transactions does. There is no writer thread: the first caller to find
no write under way takes every item waiting (its own included), writes them with one
call of ``write_many``, and wakes the others; a caller whose item is still waiting then
leads the next batch. A leader writes one batch only, so no caller waits on more than
the batch before its own and its own. When ``write_many`` fails, each item of the batch
is written alone with ``write_one``, so one bad item fails only its own caller.

The pattern is a database's own group commit (PostgreSQL's ``commit_delay`` does it for
WAL flushes), applied here to the round trips of a transaction: connection check, BEGIN,
statements, COMMIT.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["GroupCommit"]


@dataclass
class _Slot(Generic[T]):
    item: T
    done: bool = False
    error: BaseException | None = None


class GroupCommit(Generic[T]):
    def __init__(
        self,
        write_many: Callable[[Sequence[T]], None],
        write_one: Callable[[T], None],
        *,
        max_batch: int = 500,
    ) -> None:
        self._write_many = write_many
        self._write_one = write_one
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._pending: list[_Slot[T]] = []
        self._writing = False

    def submit(self, item: T) -> None:
        """Write ``item`` (batched with whatever else is waiting); raise if that failed."""
        slot = _Slot(item)
        with self._cond:
            self._pending.append(slot)
            while not slot.done:
                if self._writing:
                    self._cond.wait()
                    continue
                self._writing = True
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                self._cond.release()
                try:
                    self._write(batch)
                finally:
                    self._cond.acquire()
                    for written in batch:  # even if writing was interrupted: no one hangs
                        if not written.done:
                            written.error, written.done = RuntimeError("write interrupted"), True
                    self._writing = False
                    self._cond.notify_all()
        if slot.error is not None:
            raise slot.error

    def _write(self, batch: list[_Slot[T]]) -> None:
        try:
            self._write_many([slot.item for slot in batch])
        except Exception:  # each item is then written alone, and fails alone
            for slot in batch:
                try:
                    self._write_one(slot.item)
                except Exception as error:  # re-raised in its caller's thread
                    slot.error = error
        for slot in batch:
            slot.done = True
