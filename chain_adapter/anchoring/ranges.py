"""Which items a batch holds: the batch of a kind covering an id range, never a row per item.

A batch records its kind and the ids of its first and last items; its items are
the items of that kind with ids in ``[first, last]`` and an item's leaf index is
the number of items of its kind in ``[first, id)``. Sealing therefore writes one
batch row (and its tree levels) and never touches the items. A kind's
*watermark* is the highest ``last_item_id`` of its batches; its pending items
are those above it. (Batches sealed before migration 0016 have no first id:
their items carry ``batch_id``, read as before, and their last id is the highest
item they hold, so the watermark rule covers them too.)

Why a range never skips an item
-------------------------------
Ids come from a sequence (PostgreSQL) or ``max(rowid) + 1`` (SQLite) when the
row is inserted, but transactions commit in any order: item 7 may still be
uncommitted when item 8 is visible. A range sealed up to 8 would then leave 7
below the watermark, never to be sealed. So a sealer only seals ids up to a
*safe bound* ``M``: an id such that every id at or below it is committed or
rolled back, and every id handed out later is above it.

- PostgreSQL: every enqueue takes ``pg_advisory_xact_lock_shared(ENQUEUE_LOCK_ID)``
  *before* its INSERT draws ids, and holds it until its transaction ends (the
  caller's, when it enqueues inside its own). The sealer runs a short *barrier*
  transaction that takes the same lock exclusively and reads ``max(id)``: while
  it holds the lock no enqueue transaction is in flight, so every id drawn so far
  is resolved and ``M`` is one; an enqueue blocked meanwhile draws its ids after
  the barrier, from a sequence that only grows (``CACHE 1``, the default of a
  serial column), hence above ``M``. The barrier commits at once, so enqueues wait
  for a ``SELECT max(id)``, not for a whole seal. Sealers then take
  ``pg_advisory_xact_lock(SEAL_LOCK_ID)`` exclusively, one at a time, and each
  reads the watermark after the previous one committed: two sealers never cover
  the same id (the unique index on ``(kind, last_item_id)`` is a second guard).
- SQLite: every transaction is ``BEGIN IMMEDIATE`` (:mod:`notary_hub.db`), so the
  sealing transaction runs while no other writer is in flight: no bound is needed.

Deadlock: an enqueuer holds the shared lock while its transaction goes on (a
deposit's stage, for one, updates the deposit rows it locked ``FOR UPDATE SKIP
LOCKED`` beforehand). A waiting barrier queues later enqueuers behind it, so a
cycle would need an enqueuer to wait for a row lock held by a transaction that
is itself waiting to enqueue. The stages lock their rows with ``SKIP LOCKED``
and the barrier and sealers lock no rows the enqueuers touch (the sealer only
inserts batch and level rows) and take no other lock an enqueuer holds (the
batcher's pass guard and the sender lock are other keys, never taken by an
enqueuer), so there is no such wait (tests run it). PostgreSQL's deadlock
detector covers advisory locks too: a cycle would be an error and a retry, not a hang.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.models import AnchorBatch, AnchorItem
from hub_kernel.advisory_locks import lock_key

# Transaction-scoped advisory locks, named as the hub's others (hub_kernel.advisory_locks).
ENQUEUE_LOCK_ID = lock_key("anchor-enqueue")  # enqueuers share it, the sealing barrier excludes
SEAL_LOCK_ID = lock_key("anchor-seal")  # one sealer at a time per database

ITEMS = cast(Table, AnchorItem.__table__)
BATCHES = cast(Table, AnchorBatch.__table__)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def hold_enqueue_lock(session: Session) -> None:
    """Before an INSERT draws ids: held until the enqueuing transaction ends."""
    if _postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:id)"), {"id": ENQUEUE_LOCK_ID})


def hold_seal_lock(session: Session) -> None:
    """One sealer at a time, until its sealing transaction ends."""
    if _postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SEAL_LOCK_ID})


def safe_bound(sessions: sessionmaker[Session]) -> int | None:
    """An id at or below which every id is resolved and above which every later one is
    drawn; ``None`` where the sealing transaction itself excludes enqueuers (SQLite)."""
    with sessions() as session, session.begin():
        if not _postgresql(session):
            return None
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ENQUEUE_LOCK_ID})
        return int(session.scalar(select(func.max(ITEMS.c.id))) or 0)


def kinds(session: Session) -> list[str]:
    """The distinct kinds of items, one index probe each (a loose index scan)."""
    seed = select(ITEMS.c.kind).order_by(ITEMS.c.kind).limit(1).subquery()
    found = select(seed.c.kind).cte("kinds", recursive=True)
    following = (
        select(ITEMS.c.kind)
        .where(ITEMS.c.kind > found.c.kind)
        .order_by(ITEMS.c.kind)
        .limit(1)
        .scalar_subquery()
    )
    found = found.union_all(select(following).where(found.c.kind.is_not(None)))
    return list(session.scalars(select(found.c.kind).where(found.c.kind.is_not(None))))


def watermarks(session: Session) -> dict[str, int]:
    """Each kind's highest sealed id (kinds with no batch yet are absent: 0)."""
    rows = session.execute(
        select(BATCHES.c.kind, func.max(BATCHES.c.last_item_id)).group_by(BATCHES.c.kind)
    ).all()
    return {kind: int(last or 0) for kind, last in rows}


def pending(kind: str, watermark: int) -> ColumnElement[bool]:
    return and_(ITEMS.c.kind == kind, ITEMS.c.id > watermark)


def batch_of_item() -> ColumnElement[Any]:
    """The id of the batch holding the ``anchor_items`` row in scope, or NULL if pending:
    its ``batch_id`` if sealed before 0016, else its kind's batch whose range covers it."""
    covering = (
        select(BATCHES.c.id)
        .where(
            BATCHES.c.kind == ITEMS.c.kind,
            BATCHES.c.last_item_id >= ITEMS.c.id,
            BATCHES.c.first_item_id <= ITEMS.c.id,
        )
        .order_by(BATCHES.c.last_item_id)
        .limit(1)
        .correlate(ITEMS)
        .scalar_subquery()
    )
    return func.coalesce(ITEMS.c.batch_id, covering)


def members(batch: AnchorBatch) -> ColumnElement[bool]:
    """The items of ``batch``."""
    if batch.first_item_id is None:  # sealed before 0016
        return ITEMS.c.batch_id == batch.id
    assert batch.last_item_id is not None
    return and_(
        ITEMS.c.kind == batch.kind,
        ITEMS.c.id >= batch.first_item_id,
        ITEMS.c.id <= batch.last_item_id,
    )


def leaf_index_query(batch: AnchorBatch, item_id: int) -> Select[Any]:
    """How many of ``batch``'s items come before ``item_id``: its leaf index."""
    return select(func.count()).select_from(ITEMS).where(members(batch), ITEMS.c.id < item_id)
