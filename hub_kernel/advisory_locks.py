"""Locks the hub's processes share through PostgreSQL: how they take turns with no coordinator.

Issue 16: several hub processes (HTTP workers, pipeline workers) run against one
PostgreSQL database and one chain node. Two kinds of work must still happen one at a
time across all of them:

- **one pass at a time** of a loop whose work is inherently sequential (the anchor
  batcher sends one transaction per batch from one key; two of them would race for the
  same batch): :meth:`AdvisoryLocks.attempt` tries the lock and the loser skips its pass;
  whoever holds it next time does the work, so a killed holder is replaced within one
  interval;
- **one sender at a time** per chain account (a nonce is read, signed over and broadcast
  as one step): :meth:`AdvisoryLocks.hold` waits for the lock.

Both are PostgreSQL session-level advisory locks (PostgreSQL §13.3.5 "Advisory Locks",
``pg_try_advisory_lock`` / ``pg_advisory_lock``) on a connection of their own, kept for
the duration: the server releases them when that connection ends, so a process killed
with ``kill -9`` or a database restart never leaves one held. On SQLite the hub is one
process (the database file and the embedded chain are one writer's), so both are free.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Connection, Engine, text

PassGuard = Callable[[], AbstractContextManager[bool]]
"""What a :class:`hub_kernel.worker.Worker` asks before a pass: ``True`` to run it."""


def lock_key(name: str) -> int:
    """The signed 64-bit advisory-lock key of ``name`` (a stable hash, not a registry)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class AdvisoryLocks:
    """Named advisory locks on ``engine``'s database (none needed on SQLite)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.shared = engine.dialect.name == "postgresql"

    @contextmanager
    def attempt(self, name: str) -> Iterator[bool]:
        """Hold ``name`` if no other session does: yields whether it was taken."""
        if not self.shared:
            yield True
            return
        key = lock_key(name)
        with self._engine.connect() as connection:
            taken = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))
            connection.commit()  # a session-level lock outlives the transaction
            try:
                yield taken
            finally:
                if taken:
                    _unlock(connection, key)

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        """Wait for ``name``, hold it for the block."""
        if not self.shared:
            yield
            return
        key = lock_key(name)
        with self._engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()
            try:
                yield
            finally:
                _unlock(connection, key)

    def guard(self, name: str) -> PassGuard:
        """A worker's :data:`PassGuard`: one pass of ``name`` at a time across processes."""
        return lambda: self.attempt(name)


def _unlock(connection: Connection, key: int) -> None:
    if connection.invalidated or connection.closed:
        return  # the connection died: the server released the lock with it
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        connection.commit()
    except Exception:
        connection.invalidate()
