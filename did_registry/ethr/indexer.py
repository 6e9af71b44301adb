"""The registry indexer: copy an ERC-1056 registry's events into the database, in chain order.

https://eips.ethereum.org/EIPS/eip-1056 ("Events"). The indexer pulls
``eth_getLogs`` for the registry address over block ranges, from the registry's
deployment block up to the confirmed head, and stores each range's events and the
new cursor in ONE database transaction. Hence, across a kill at any instruction:

* nothing is lost: the cursor never moves past events that are not stored;
* nothing is duplicated: a range that is re-read after a crash starts again from
  the committed cursor, and the primary key (chain, registry, block, log index)
  refuses a second copy of a log anyway.

Reorganisations: the cursor keeps the hash of its block. When the chain answers
another hash at that height, the indexer walks back through its recent
checkpoints to the newest one the chain still agrees with, deletes everything
indexed above it and indexes again from there (one transaction too). A range is
only stored when the hashes it was read against did not change while reading.

Confirmations follow :class:`chain_adapter.transactor.Transactor`: a block ``b``
is indexed once ``head - b + 1 >= confirmations`` (0 and 1 both mean "mined").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.deployment_store import DeploymentStore
from chain_adapter.errors import BlockNotFound
from chain_adapter.protocol import Block, Chain, Log, LogFilter
from did_registry.ethr.events import TOPICS, decode_event
from did_registry.ethr.models import IndexCheckpoint, IndexedEvent, event_values
from did_registry.resolution import Head
from hub_kernel.advisory_locks import PassGuard
from hub_kernel.worker import Worker

log = logging.getLogger(__name__)

INDEX_LOCK_ID = 0x4E48_0002  # "NH" 2: the advisory lock indexers take on PostgreSQL
KEEP_CHECKPOINTS = 256  # how far back (in ranges) a reorganisation can be followed cheaply
_REGISTRY_TOPICS = tuple(sorted(TOPICS))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    block_number: int
    block_hash: str
    block_timestamp: int

    @property
    def head(self) -> Head:
        return Head(self.block_number, self.block_timestamp)


class ChainMoved(Exception):
    """The chain changed under a range while it was read; the range is read again."""


class RegistryIndexer:
    """Follows one registry on one chain into ``did_registry_events``."""

    def __init__(
        self,
        chain: Chain,
        registry_address: str,
        sessions: sessionmaker[Session],
        *,
        confirmations: int,
        batch_blocks: int = 2000,
        start_block: int | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        if batch_blocks < 1:
            raise ValueError("batch_blocks must be at least 1")
        self._chain = chain
        self._chain_id = chain.chain_id
        self._registry = to_checksum_address(registry_address)
        self._sessions = sessions
        self._confirmations = max(0, confirmations)
        self._batch_blocks = batch_blocks
        self._start_block = start_block
        self._poll_interval = poll_interval
        self._head: Head | None = None
        self._worker = Worker("did-indexer", self.catch_up, poll_interval)

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def registry(self) -> str:
        return self._registry

    def head(self) -> Head | None:
        """The newest block indexed (committed), or ``None`` before the first range."""
        if self._head is None:
            cursor = self.cursor()
            self._head = None if cursor is None else cursor.head
        return self._head

    # -- one pass ---------------------------------------------------------------------------

    def catch_up(self) -> int:
        """Index up to the confirmed head; returns the number of events stored."""
        stored = 0
        while (count := self.index_next()) is not None:
            stored += count
            if self._worker.stopping:
                break
        return stored

    def index_next(self) -> int | None:
        """Index the next range (or undo a reorganisation); ``None`` when there is nothing to do.

        Returns the number of events stored (0 after a rewind or an empty range).
        """
        cursor = self.cursor()
        if cursor is not None and not self._agrees(cursor):
            self._rewind(cursor)
            return 0
        head = self._chain.block_number()
        target = head - max(0, self._confirmations - 1)
        first = self._first_block() if cursor is None else cursor.block_number + 1
        if first > target:
            return None
        last = min(target, first + self._batch_blocks - 1)
        try:
            end, events = self._read_range(first, last, cursor)
        except ChainMoved as exc:
            log.info("chain moved while indexing, reading again", extra={"reason": str(exc)})
            return 0
        self._store(cursor, end, events)
        return len(events)

    def cursor(self) -> Checkpoint | None:
        with self._sessions() as session:
            return self._cursor(session)

    # -- reading the chain ------------------------------------------------------------------

    def _first_block(self) -> int:
        if self._start_block is None:
            self._start_block = self._deployment_block()
        return self._start_block

    def _deployment_block(self) -> int:
        """Where the hub recorded the registry's deployment; 0 when it does not know."""
        recorded = DeploymentStore(self._sessions, self._chain_id).all()
        block = next((c.block_number for c in recorded if c.address == self._registry), None)
        return block or 0

    def _agrees(self, checkpoint: Checkpoint) -> bool:
        try:
            return self._chain.get_block(checkpoint.block_number).hash == checkpoint.block_hash
        except BlockNotFound:  # the chain got shorter than the index
            return False

    def _read_range(
        self, first: int, last: int, cursor: Checkpoint | None
    ) -> tuple[Block, list[dict[str, Any]]]:
        end = self._chain.get_block(last)
        logs = self._chain.get_logs(
            LogFilter(
                from_block=first,
                to_block=last,
                address=self._registry,
                topics=(_REGISTRY_TOPICS,),
            )
        )
        blocks: dict[int, Block] = {last: end}
        rows = []
        for entry in logs:
            block = blocks.get(entry.block_number)
            if block is None:
                block = blocks[entry.block_number] = self._chain.get_block(entry.block_number)
            _check_log(entry, block, self._registry)
            rows.append(
                event_values(
                    self._chain_id, self._registry, block.hash, decode_event(entry, block.timestamp)
                )
            )
        # The logs belong to the chain ending in `end` only if `end` is still there after
        # reading them, and that chain still contains the cursor's block.
        if self._chain.get_block(last).hash != end.hash:
            raise ChainMoved(f"block {last} changed while its range was read")
        if cursor is not None and not self._agrees(cursor):
            raise ChainMoved(f"block {cursor.block_number} changed while the range was read")
        return end, rows

    # -- writing the index ------------------------------------------------------------------

    def _cursor(self, session: Session) -> Checkpoint | None:
        row = session.execute(
            select(
                IndexCheckpoint.block_number,
                IndexCheckpoint.block_hash,
                IndexCheckpoint.block_timestamp,
            )
            .where(
                IndexCheckpoint.chain_id == self._chain_id,
                IndexCheckpoint.registry_address == self._registry,
            )
            .order_by(IndexCheckpoint.block_number.desc())
            .limit(1)
        ).first()
        return None if row is None else Checkpoint(row[0], row[1], row[2])

    def _lock(self, session: Session) -> None:
        """One writer per database; SQLite's ``BEGIN IMMEDIATE`` already is one."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": INDEX_LOCK_ID})

    def _store(self, cursor: Checkpoint | None, end: Block, rows: list[dict[str, Any]]) -> None:
        with self._sessions() as session, session.begin():
            self._lock(session)
            if self._cursor(session) != cursor:
                # Another indexer (another hub process) moved the cursor meanwhile: its
                # work stands, ours is dropped and the next pass starts from its cursor.
                log.info("index cursor moved by another indexer; range dropped")
                return
            if rows:
                session.execute(insert(IndexedEvent), rows)
            session.add(
                IndexCheckpoint(
                    chain_id=self._chain_id,
                    registry_address=self._registry,
                    block_number=end.number,
                    block_hash=end.hash,
                    block_timestamp=end.timestamp,
                )
            )
            session.flush()
            self._prune(session, end.number)
        self._head = Head(end.number, end.timestamp)

    def _prune(self, session: Session, newest: int) -> None:
        oldest_kept = session.scalar(
            select(IndexCheckpoint.block_number)
            .where(
                IndexCheckpoint.chain_id == self._chain_id,
                IndexCheckpoint.registry_address == self._registry,
            )
            .order_by(IndexCheckpoint.block_number.desc())
            .offset(KEEP_CHECKPOINTS - 1)
            .limit(1)
        )
        if oldest_kept is not None and oldest_kept < newest:
            session.execute(
                delete(IndexCheckpoint).where(
                    IndexCheckpoint.chain_id == self._chain_id,
                    IndexCheckpoint.registry_address == self._registry,
                    IndexCheckpoint.block_number < oldest_kept,
                )
            )

    def _rewind(self, cursor: Checkpoint) -> None:
        """Go back to the newest checkpoint the chain still has; re-index above it."""
        with self._sessions() as session:
            rows = session.execute(
                select(
                    IndexCheckpoint.block_number,
                    IndexCheckpoint.block_hash,
                    IndexCheckpoint.block_timestamp,
                )
                .where(
                    IndexCheckpoint.chain_id == self._chain_id,
                    IndexCheckpoint.registry_address == self._registry,
                    IndexCheckpoint.block_number < cursor.block_number,
                )
                .order_by(IndexCheckpoint.block_number.desc())
            ).all()
        fork: Checkpoint | None = None
        for row in rows:
            candidate = Checkpoint(row[0], row[1], row[2])
            if self._agrees(candidate):
                fork = candidate
                break
        # Deeper than every kept checkpoint: start over from the deployment block.
        keep_up_to = -1 if fork is None else fork.block_number
        with self._sessions() as session, session.begin():
            self._lock(session)
            if self._cursor(session) != cursor:
                return  # another indexer dealt with it
            for table in (IndexedEvent, IndexCheckpoint):
                session.execute(
                    delete(table).where(
                        table.chain_id == self._chain_id,
                        table.registry_address == self._registry,
                        table.block_number > keep_up_to,
                    )
                )
        self._head = None if fork is None else fork.head
        log.warning(
            "registry index rewound after a chain reorganisation",
            extra={"from_block": cursor.block_number, "to_block": keep_up_to},
        )

    # -- the background loop ----------------------------------------------------------------

    @property
    def last_error(self) -> str | None:
        return self._worker.last_error

    def start(self, guard: PassGuard | None = None) -> None:
        """Index in the background; ``guard``: one indexer at a time across processes (a
        second one's ranges would be dropped at :meth:`_store` anyway)."""
        self._worker.guard = guard
        self._worker.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._worker.stop(timeout)

    def wake(self) -> None:
        """Poll now (e.g. right after the registrar's transaction was mined)."""
        self._worker.wake()


def _check_log(entry: Log, block: Block, registry: str) -> None:
    if entry.block_hash != block.hash:
        raise ChainMoved(f"log {entry.block_number}/{entry.log_index} is from another fork")
    if entry.address != registry:
        raise ValueError(f"the node returned a log of {entry.address} for {registry}")
