"""The index path of did:ethr resolution: ERC-1056 events from the database, not the chain.

Implements :class:`did_registry.resolution.EventSource` over the tables the
:class:`~did_registry.ethr.indexer.RegistryIndexer` fills. The head is the indexer's
cursor (the newest block whose events are all stored), and :meth:`history` only
returns events up to that head, so one resolution sees one consistent chain
position even while the indexer commits behind it.

Speed: resolution is one indexed query (``ix_did_registry_events_history``). The
statements are built with SQLAlchemy Core and compiled once for the dialect, then
run on raw DBAPI connections in autocommit mode: a single ``SELECT`` is its own
consistent snapshot, so the transaction a Session would open (``BEGIN
IMMEDIATE`` on SQLite, which takes the write lock; ``BEGIN`` + ``ROLLBACK``
round trips on PostgreSQL) would only cost time. The cursor is read at most once
per ``head_ttl`` unless a ``head_provider`` (e.g. the in-process indexer's
:meth:`~did_registry.ethr.indexer.RegistryIndexer.head`) says where the index is.

Several processes (issue 16): only one runs the indexer, the others learn the head
from the cursor row. :meth:`pinned_head` reads it (at most ``head_max_age`` ago) and
pins it for one resolution, so a cache keyed by it stores exactly what was read.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from eth_utils.address import to_checksum_address
from sqlalchemy import Engine, bindparam, create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, PoolProxiedConnection
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler

from chain_adapter.errors import BlockNotFound
from chain_adapter.protocol import Chain
from did_registry.errors import DidError, InvalidDid
from did_registry.ethr.events import RegistryEvent
from did_registry.ethr.models import EVENT_COLUMNS, IndexCheckpoint, IndexedEvent, event_from_row
from did_registry.resolution import Head

HeadProvider = Callable[[], Head | None]
_TIMESTAMP_CACHE = 65_536  # blocks


class IndexNotReady(DidError):
    """The index holds nothing yet for this registry (the indexer has not run)."""

    code = "internalError"
    status_code = 503


class _Readers:
    """Read-only DBAPI connections in autocommit mode, kept open and reused (LIFO).

    Not the engine's pool: a pool checkout (with PostgreSQL's pre-ping and the
    rollback on return) costs as much as the query itself. A connection serves
    one read at a time; as many are opened as reads run at once.
    """

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name == "sqlite":
            # isolation_level=None: pysqlite opens no transaction of its own, so a
            # SELECT takes no lock beyond its own snapshot (WAL is set by the hub).
            args = {"check_same_thread": False, "timeout": 30, "isolation_level": None}
            self._engine = create_engine(engine.url, poolclass=NullPool, connect_args=args)
        else:
            self._engine = create_engine(
                engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
            )
        self._idle: list[PoolProxiedConnection] = []
        self._closed = False
        self.dialect = self._engine.dialect

    def run(self, sql: str, bound: Any) -> list[Sequence[Any]]:
        for attempt in (1, 2):
            try:
                connection = self._idle.pop()  # atomic under the GIL
            except IndexError:
                connection = self._engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(sql, bound)
                rows = list(cursor.fetchall())
                cursor.close()
            except self.dialect.loaded_dbapi.OperationalError:
                # A connection the server dropped (PostgreSQL restarted): one more try.
                connection.close()
                if attempt == 2:
                    raise
                continue
            if self._closed:
                connection.close()
            else:
                self._idle.append(connection)
            return rows
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()
        self._engine.dispose()


class _Statement:
    """A Core ``SELECT`` compiled once for the dialect, its SQL run as is."""

    def __init__(self, readers: _Readers, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=readers.dialect)
        assert isinstance(compiled, SQLCompiler)
        self._readers = readers
        self._sql = str(compiled)
        self._order = tuple(compiled.positiontup or ()) if compiled.positional else None
        # Values the statement carries itself (a LIMIT, say), under their generated names.
        self._fixed = {name: v for name, v in compiled.params.items() if v is not None}

    def rows(self, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        values = {**self._fixed, **params}
        bound = values if self._order is None else tuple(values[name] for name in self._order)
        return self._readers.run(self._sql, bound)


@lru_cache(maxsize=65536)
def _identity(identity: str) -> str:
    try:
        return to_checksum_address(identity)
    except ValueError:
        raise InvalidDid(f"{identity!r} is not an Ethereum address") from None


_Table = type[IndexedEvent] | type[IndexCheckpoint]


def _in_scope(table: _Table) -> tuple[ColumnElement[bool], ...]:
    """``table``'s rows of one chain and registry (bound as ``chain_id`` and ``registry``)."""
    return (
        table.chain_id == bindparam("chain_id"),
        table.registry_address == bindparam("registry"),
    )


def _history_statement(readers: _Readers) -> _Statement:
    """One identity's events up to the ``head`` block, in chain order."""
    events = IndexedEvent
    return _Statement(
        readers,
        select(*EVENT_COLUMNS)
        .where(
            *_in_scope(events),
            events.identity == bindparam("identity"),
            events.block_number <= bindparam("head"),
        )
        .order_by(events.block_number, events.log_index),
    )


def _cursor_statement(readers: _Readers) -> _Statement:
    """The newest checkpoint: the indexer's cursor."""
    checkpoints = IndexCheckpoint
    return _Statement(
        readers,
        select(checkpoints.block_number, checkpoints.block_timestamp)
        .where(*_in_scope(checkpoints))
        .order_by(checkpoints.block_number.desc())
        .limit(1),
    )


def _time_statements(
    readers: _Readers,
) -> tuple[list[_Statement], list[_Statement], list[_Statement]]:
    """The versionTime statements, each list one per table (events, then checkpoints).

    The newest indexed block at or before ``time``, the timestamp of block ``number``,
    and the oldest indexed block after ``time``.
    """
    tables: tuple[_Table, ...] = (IndexedEvent, IndexCheckpoint)
    known_before = [
        _Statement(
            readers,
            select(table.block_number, table.block_timestamp)
            .where(*_in_scope(table), table.block_timestamp <= bindparam("time"))
            .order_by(table.block_timestamp.desc(), table.block_number.desc())
            .limit(1),
        )
        for table in tables
    ]
    known_at = [
        _Statement(
            readers,
            select(table.block_timestamp)
            .where(*_in_scope(table), table.block_number == bindparam("number"))
            .limit(1),
        )
        for table in tables
    ]
    known_after = [
        _Statement(
            readers,
            select(table.block_number)
            .where(*_in_scope(table), table.block_timestamp > bindparam("time"))
            .order_by(table.block_timestamp, table.block_number)
            .limit(1),
        )
        for table in tables
    ]
    return known_before, known_at, known_after


class IndexSource:
    """ERC-1056 events of one registry on one chain, from the hub's index."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        chain_id: int,
        registry: str,
        head_provider: HeadProvider | None = None,
        *,
        chain: Chain | None = None,
        head_ttl: float = 0.5,
        head_max_age: float = 0.0,
    ) -> None:
        bind = sessions.kw.get("bind")
        if not isinstance(bind, Engine):
            raise TypeError("IndexSource needs a sessionmaker bound to an Engine")
        self._readers = _Readers(bind)
        self._chain_id = chain_id
        self._registry = to_checksum_address(registry)
        self._head_provider = head_provider
        self._chain = chain
        self._head_ttl = head_ttl
        self._head_max_age = head_max_age
        self._cached_head: tuple[float, Head | None] | None = None
        self._head_lock = threading.Lock()
        self._pinned: ContextVar[Head | None] = ContextVar(f"pinned_head_{id(self)}", default=None)
        # Blocks at or below the head are past the indexer's confirmation depth.
        self._timestamps: OrderedDict[int, int] = OrderedDict()
        self._timestamps_lock = threading.Lock()
        self._scope = {"chain_id": chain_id, "registry": self._registry}
        self._history = _history_statement(self._readers)
        self._cursor = _cursor_statement(self._readers)
        # versionTime: the indexed blocks (event blocks and checkpoints) on either side of a time.
        self._known_before, self._known_at, self._known_after = _time_statements(self._readers)

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def registry(self) -> str:
        return self._registry

    def close(self) -> None:
        self._readers.close()

    # -- EventSource --------------------------------------------------------------------------

    def head(self) -> Head:
        pinned = self._pinned.get()
        if pinned is not None:
            return pinned
        head = self._head_provider() if self._head_provider is not None else self._db_head()
        return self._ready(head)

    @contextmanager
    def pinned_head(self) -> Iterator[Head]:
        """The head now, which every read of this context uses until the block exits.

        Without a ``head_provider`` it is the cursor row as read at most
        ``head_max_age`` seconds ago (0: read now), whatever ``head_ttl`` says: an
        indexer in another process may just have moved it.
        """
        provider = self._head_provider
        head = self._ready(provider() if provider else self._db_head(self._head_max_age))
        token = self._pinned.set(head)
        try:
            yield head
        finally:
            self._pinned.reset(token)

    def _ready(self, head: Head | None) -> Head:
        if head is None:
            raise IndexNotReady(
                f"the registry {self._registry} on chain {self._chain_id} is not indexed yet"
            )
        return head

    def history(self, identity: str) -> list[RegistryEvent]:
        rows = self._history.rows(
            {**self._scope, "identity": _identity(identity), "head": self.head().block_number}
        )
        return [event_from_row(row) for row in rows]

    def block(self, number: int) -> Head | None:
        """Block ``number`` if the index reaches it (for ``versionId``), else ``None``."""
        head = self.head()
        if number < 0 or number > head.block_number:
            return None
        if number == head.block_number:
            return head
        return self._block(number)

    def block_at_time(self, timestamp: int) -> Head | None:
        """The newest block at or before ``timestamp``, no newer than the index head.

        The index knows the timestamps of event blocks and checkpoints; they bound
        the answer, and a binary search over the chain's blocks between them finds
        it exactly (as a chain walk would). Without a ``chain`` the newest indexed
        block at or before ``timestamp`` is the answer.
        """
        head = self.head()
        if head.timestamp <= timestamp:
            return head
        params = {**self._scope, "time": timestamp}
        before = [row for query in self._known_before for row in query.rows(params)]
        lower = max((Head(int(r[0]), int(r[1])) for r in before), default=None, key=_number)
        if self._chain is None:
            return lower
        after = [int(row[0]) for query in self._known_after for row in query.rows(params)]
        upper = min([*after, head.block_number])  # a block known to be newer than `timestamp`
        return self._search(lower, upper, timestamp)

    # -- helpers --------------------------------------------------------------------------

    def _db_head(self, max_age: float | None = None) -> Head | None:
        """The cursor as read at most ``max_age`` (default ``head_ttl``) seconds ago."""
        age = self._head_ttl if max_age is None else max_age
        cached = self._cached_head
        if cached is not None and time.monotonic() - cached[0] < age:
            return cached[1]
        if age <= 0:  # a read per call: concurrent ones run side by side
            return self._read_cursor()
        with self._head_lock:
            cached = self._cached_head  # another thread may have read it meanwhile
            if cached is not None and time.monotonic() - cached[0] < age:
                return cached[1]
            return self._read_cursor()

    def _read_cursor(self) -> Head | None:
        started = time.monotonic()  # the row is at least as new as this
        rows = self._cursor.rows(self._scope)
        head = Head(int(rows[0][0]), int(rows[0][1])) if rows else None
        self._cached_head = (started, head)
        return head

    def _search(self, lower: Head | None, upper: int, timestamp: int) -> Head | None:
        """Binary search of the chain's blocks in (lower, upper) for the newest one <= time."""
        if lower is None:
            genesis = self._block(0)
            if genesis.timestamp > timestamp:
                return None
            lower = genesis
        low, high = lower.block_number, upper  # invariant: ts(low) <= time < ts(high)
        found = lower
        while high - low > 1:
            middle = (low + high) // 2
            block = self._block(middle)
            if block.timestamp <= timestamp:
                low, found = middle, block
            else:
                high = middle
        return found

    def _block(self, number: int) -> Head:
        """Any block's timestamp: from the chain (cached), else as far as the index knows it."""
        cached = self._timestamps.get(number)
        if cached is not None:
            return Head(number, cached)
        if self._chain is not None:
            try:
                timestamp = self._chain.get_block(number).timestamp
            except BlockNotFound:
                raise IndexNotReady(f"block {number} is not on chain {self._chain_id}") from None
        else:
            params = {**self._scope, "number": number}
            known = [row for query in self._known_at for row in query.rows(params)]
            if not known:
                raise IndexNotReady(
                    f"the index has no timestamp for block {number}: give IndexSource the chain"
                )
            timestamp = int(known[0][0])
        with self._timestamps_lock:
            self._timestamps[number] = timestamp
            if len(self._timestamps) > _TIMESTAMP_CACHE:
                self._timestamps.popitem(last=False)
        return Head(number, timestamp)


def _number(head: Head) -> int:
    return head.block_number
