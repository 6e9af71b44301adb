"""A py-evm key-value database persisted in SQLite.

py-evm keeps the whole chain (headers, bodies, receipts, the state trie and the
transaction index) in one flat key-value store behind ``DatabaseAPI``. Backing
that store with SQLite gives the embedded chain durability without a native
LevelDB dependency: writes go into an open SQLite transaction, and the embedded
chain commits exactly once per sealed block, so a crash leaves the database at
the last sealed block and never half-way through one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from eth.db.backends.base import BaseDB

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
"""


def open_database(path: Path, extra_schema: str = "") -> sqlite3.Connection:
    """Open the chain's SQLite file with durable, single-writer settings.

    The connection is returned inside an open transaction (see :class:`SqliteKV`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed block survives power loss, not only a process kill.
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(_SCHEMA + extra_schema)
    conn.execute("BEGIN")
    return conn


class SqliteKV(BaseDB):
    """``DatabaseAPI`` over the ``kv`` table of a connection owned by the caller.

    The connection is always inside a transaction; :meth:`commit` makes what was
    written durable and opens the next one, :meth:`rollback` forgets it.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __getitem__(self, key: bytes) -> bytes:
        row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        value: bytes = row[0]
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))

    def __delitem__(self, key: bytes) -> None:
        cursor = self._conn.execute("DELETE FROM kv WHERE k = ?", (key,))
        if cursor.rowcount == 0:
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self._conn.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None

    def __iter__(self) -> Iterator[bytes]:
        for (key,) in self._conn.execute("SELECT k FROM kv"):
            yield key

    def __len__(self) -> int:
        count: int = self._conn.execute("SELECT COUNT(*) FROM kv").fetchone()[0]
        return count

    def commit(self) -> None:
        self._conn.execute("COMMIT")
        self._conn.execute("BEGIN")

    def rollback(self) -> None:
        self._conn.execute("ROLLBACK")
        self._conn.execute("BEGIN")
