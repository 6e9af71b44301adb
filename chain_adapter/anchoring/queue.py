"""The durable anchoring queue: accept items, and hand out receipts once anchored.

An item is accepted when its row commits; from then on the batcher owns it. A
receipt is derived, never stored: the item's batch (the one of its kind whose id
range covers it, :mod:`chain_adapter.anchoring.ranges`) says where the root is,
its rank by id inside the batch is its leaf index, and the batch's stored tree
levels give the audit path without rehashing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring import ranges
from chain_adapter.anchoring.ranges import ITEMS as _ITEMS
from chain_adapter.anchoring.receipt import MAX_LEAF_BYTES, AnchorReceipt
from chain_adapter.errors import ChainError
from chain_adapter.merkle import HASH_SIZE, MerkleTree
from chain_adapter.models import AnchorBatch, AnchorLevel, BatchState

KIND_MAX_BYTES = 32
# Reading a whole batch's receipts beats one query per item once the wanted items are
# at least a quarter of it.
_WHOLE_BATCH_FACTOR = 4

_BATCH_OF = ranges.batch_of_item().label("batch_id")
# On SQLite a Core multi-row INSERT ... RETURNING (the ORM's bulk paths cost more than
# the database does here; rows in an unspecified order: see _ids_in_order). On
# PostgreSQL one INSERT ... SELECT over an array, in the order of the array, which is
# also the order the sequence hands out ids in; psycopg's own statement, to send the
# array in binary (%b): its text format escapes each element through a regular
# expression, which cost most of an enqueue's CPU time.
_INSERT = insert(_ITEMS).returning(_ITEMS.c.id, _ITEMS.c.data)
_INSERT_UNNEST = (
    "INSERT INTO anchor_items (kind, data) "
    "SELECT %(kind)s, unnested.data FROM unnest(%(data)b::bytea[]) "
    "WITH ORDINALITY AS unnested(data, n) ORDER BY unnested.n RETURNING id, data"
)


class InvalidAnchorItem(ChainError):
    code = "invalid_anchor_item"
    status_code = 422


class UnknownAnchorItem(ChainError):
    code = "unknown_anchor_item"
    status_code = 404


@dataclass(frozen=True, slots=True)
class ItemStatus:
    item_id: int
    kind: str
    state: str  # "queued", or the batch's state
    batch_id: int | None


def validate_item(data: bytes, kind: str) -> None:
    if not 0 < len(data) <= MAX_LEAF_BYTES:
        raise InvalidAnchorItem(f"an anchored item must be 1 to {MAX_LEAF_BYTES} bytes")
    if not 0 < len(kind.encode()) <= KIND_MAX_BYTES or not kind.isprintable():
        raise InvalidAnchorItem("kind must be 1 to 32 bytes of printable text")


class AnchorQueue:
    def __init__(self, sessions: sessionmaker[Session], *, tree_cache_size: int = 4) -> None:
        self._sessions = sessions
        self._trees: OrderedDict[int, MerkleTree] = OrderedDict()
        self._tree_cache_size = tree_cache_size
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever items are enqueued (the batcher wakes on it)."""
        self._listeners.append(listener)

    def enqueue(self, data: bytes, kind: str, session: Session | None = None) -> int:
        """Accept one item; with ``session`` it commits together with the caller's work."""
        return self.enqueue_many([data], kind, session)[0]

    def enqueue_many(
        self, items: Sequence[bytes], kind: str, session: Session | None = None
    ) -> list[int]:
        for data in items:
            validate_item(data, kind)
        if not items:
            return []
        if session is not None:
            ids = _insert(session, items, kind)
        else:
            with self._sessions() as own, own.begin():
                ids = _insert(own, items, kind)
        for listener in self._listeners:
            listener()
        return ids

    def pending_count(self) -> int:
        """Items of any kind above their kind's watermark."""
        with self._sessions() as session:
            marks = ranges.watermarks(session)
            return sum(
                int(
                    session.scalar(
                        select(func.count())
                        .select_from(_ITEMS)
                        .where(ranges.pending(kind, marks.get(kind, 0)))
                    )
                    or 0
                )
                for kind in ranges.kinds(session)
            )

    def status(self, item_id: int) -> ItemStatus:
        with self._sessions() as session:
            row = session.execute(
                select(_ITEMS.c.kind, _BATCH_OF).where(_ITEMS.c.id == item_id)
            ).one_or_none()
            if row is None:
                raise UnknownAnchorItem(f"no anchored item {item_id}")
            kind, batch_id = row
            state = None
            if batch_id is not None:
                state = session.scalar(select(AnchorBatch.state).where(AnchorBatch.id == batch_id))
        return ItemStatus(item_id, kind, state.value if state else "queued", batch_id)

    def receipt(self, item_id: int) -> AnchorReceipt | None:
        """The item's receipt, or ``None`` while it is not yet anchored."""
        with self._sessions() as session:
            row = session.execute(
                select(_ITEMS.c.data, _BATCH_OF).where(_ITEMS.c.id == item_id)
            ).one_or_none()
            if row is None:
                raise UnknownAnchorItem(f"no anchored item {item_id}")
            data, batch_id = row
            if batch_id is None:
                return None
            batch = session.get(AnchorBatch, batch_id)
            if batch is None or batch.state is not BatchState.ANCHORED:
                return None
            index = session.scalar(ranges.leaf_index_query(batch, item_id))
            tree = self._tree(session, batch)
        return _receipt(batch, tree, int(index or 0), data)

    def anchored_times(
        self,
        item_ids: Sequence[int] | Select[Any],
        session: Session | None = None,
        *,
        limit: int | None = None,
    ) -> dict[int, int]:
        """Of ``item_ids`` (ids, or a query selecting them: a component asks about its
        own rows without reading this one's tables), those anchored on chain, with their
        block's timestamp; at most ``limit``, oldest items first."""
        query = (
            select(_ITEMS.c.id, AnchorBatch.block_timestamp)
            .join(AnchorBatch, AnchorBatch.id == ranges.batch_of_item())
            .where(_ITEMS.c.id.in_(item_ids), AnchorBatch.state == BatchState.ANCHORED)
            .order_by(_ITEMS.c.id)
            .limit(limit)
        )
        if session is not None:
            rows = session.execute(query).all()
        else:
            with self._sessions() as own:
                rows = own.execute(query).all()
        return {item_id: int(block_time or 0) for item_id, block_time in rows}

    def receipts(self, item_ids: Sequence[int]) -> dict[int, AnchorReceipt]:
        """The receipts of the anchored ones of ``item_ids``, by item id.

        A batch the items are a good part of is read whole (:meth:`batch_receipts`: one
        query, audit paths built incrementally); a few items of a large batch one by one.
        """
        with self._sessions() as session:
            rows = session.execute(
                select(_ITEMS.c.id, AnchorBatch.id, AnchorBatch.size)
                .join(AnchorBatch, AnchorBatch.id == ranges.batch_of_item())
                .where(_ITEMS.c.id.in_(item_ids), AnchorBatch.state == BatchState.ANCHORED)
            ).all()
        wanted: dict[int, set[int]] = {}
        sizes: dict[int, int] = {}
        for item_id, batch_id, size in rows:
            wanted.setdefault(batch_id, set()).add(item_id)
            sizes[batch_id] = size
        receipts: dict[int, AnchorReceipt] = {}
        for batch_id, items in wanted.items():
            if sizes[batch_id] > len(items) * _WHOLE_BATCH_FACTOR:
                receipts.update(self._some_receipts(batch_id, items))
                continue
            missing = set(items)
            for item_id, receipt in self.batch_receipts(batch_id):
                if item_id in missing:
                    receipts[item_id] = receipt
                    missing.discard(item_id)
                    if not missing:
                        break
        return receipts

    def _some_receipts(self, batch_id: int, items: set[int]) -> dict[int, AnchorReceipt]:
        """Receipts of a few ``items`` of a large anchored batch, in one read: the batch's
        item ids give each wanted item its leaf index (one query, not three per item)."""
        with self._sessions() as session:
            batch = session.get(AnchorBatch, batch_id)
            if batch is None or batch.state is not BatchState.ANCHORED:
                return {}
            tree = self._tree(session, batch)
            ids = session.scalars(
                select(_ITEMS.c.id).where(ranges.members(batch)).order_by(_ITEMS.c.id)
            ).all()
            data = dict(
                session.execute(
                    select(_ITEMS.c.id, _ITEMS.c.data).where(_ITEMS.c.id.in_(list(items)))
                ).all()
            )
        return {
            item_id: _receipt(batch, tree, index, data[item_id])
            for index, item_id in enumerate(ids)
            if item_id in items
        }

    def batch_receipts(self, batch_id: int) -> Iterator[tuple[int, AnchorReceipt]]:
        """Every ``(item id, receipt)`` of an anchored batch, in leaf order."""
        with self._sessions() as session:
            batch = session.get(AnchorBatch, batch_id)
            if batch is None or batch.state is not BatchState.ANCHORED:
                return
            tree = self._tree(session, batch)
            rows = session.execute(
                select(_ITEMS.c.id, _ITEMS.c.data)
                .where(ranges.members(batch))
                .order_by(_ITEMS.c.id)
            ).all()
        anchoring = _anchoring(batch, tree)
        paths = _audit_paths(tree)
        for index, (item_id, data) in enumerate(rows):
            path = next(paths, None)
            if path is None:  # more items than leaves: let inclusion_proof refuse the index
                path = tuple(tree.inclusion_proof(index))
            yield item_id, AnchorReceipt(leaf=data, leaf_index=index, audit_path=path, **anchoring)

    def _tree(self, session: Session, batch: AnchorBatch) -> MerkleTree:
        with self._lock:
            tree = self._trees.get(batch.id)
            if tree is not None:
                self._trees.move_to_end(batch.id)
                return tree
        blobs = session.scalars(
            select(AnchorLevel.hashes)
            .where(AnchorLevel.batch_id == batch.id)
            .order_by(AnchorLevel.level)
        ).all()
        tree = MerkleTree.from_level_blobs(list(blobs))
        with self._lock:
            self._trees[batch.id] = tree
            while len(self._trees) > self._tree_cache_size:
                self._trees.popitem(last=False)
        return tree


def _insert(session: Session, items: Sequence[bytes], kind: str) -> list[int]:
    ranges.hold_enqueue_lock(session)  # before the INSERT draws its ids
    if session.get_bind().dialect.name == "postgresql":
        statement = session.connection().exec_driver_sql
        rows = statement(_INSERT_UNNEST, {"kind": kind, "data": list(items)}).all()
    else:
        rows = session.execute(_INSERT, [{"kind": kind, "data": data} for data in items]).all()
    return _ids_in_order(items, rows)


def _ids_in_order(items: Sequence[bytes], rows: Sequence[Any]) -> list[int]:
    """The ids of ``items``, in their order, from the ``(id, data)`` rows their INSERT returned.

    The rows may come back in any order. Equal items of one call make rows that
    differ in nothing but their ids; they get their ids in ascending order, as
    one-by-one inserts would have given them.
    """
    if len(rows) != len(items):
        raise RuntimeError(f"an INSERT of {len(items)} rows returned {len(rows)}")
    ids: dict[bytes, int] = {}
    duplicates: dict[bytes, list[int]] = {}
    for item_id, data in rows:
        key = bytes(data)
        if key in ids:
            duplicates.setdefault(key, [ids[key]]).append(item_id)
        else:
            ids[key] = item_id
    if not duplicates:
        return [ids[bytes(data)] for data in items]
    queues = {key: sorted(more, reverse=True) for key, more in duplicates.items()}
    keys = [bytes(data) for data in items]
    return [queues[key].pop() if key in queues else ids[key] for key in keys]


def _anchoring(batch: AnchorBatch, tree: MerkleTree) -> dict[str, Any]:
    """The fields every receipt of an anchored batch shares."""
    assert batch.tx_hash and batch.block_hash and batch.registry_address  # ANCHORED invariant
    assert batch.block_number is not None and batch.block_timestamp is not None
    assert batch.chain_id is not None
    return {
        "tree_size": tree.size,
        "root": tree.root,
        "kind": batch.kind,
        "chain_id": batch.chain_id,
        "registry": batch.registry_address,
        "transaction_hash": batch.tx_hash,
        "block_number": batch.block_number,
        "block_hash": batch.block_hash,
        "block_timestamp": batch.block_timestamp,
    }


def _receipt(batch: AnchorBatch, tree: MerkleTree, index: int, data: bytes) -> AnchorReceipt:
    return AnchorReceipt(
        leaf=data,
        leaf_index=index,
        audit_path=tuple(tree.inclusion_proof(index)),
        **_anchoring(batch, tree),
    )


def _audit_paths(tree: MerkleTree) -> Iterator[tuple[bytes, ...]]:
    """``tuple(tree.inclusion_proof(i))`` for every leaf ``i`` in order, sharing work.

    Leaf ``i``'s path holds, for each level ``k`` below the root, the sibling of
    node ``i >> k`` when it has one. From ``i - 1`` to ``i`` only the levels
    ``k <= t`` change, ``t`` being the number of trailing zero bits of ``i``:
    two levels on average instead of all of them.
    """
    blobs = tree.to_level_blobs()[:-1]
    counts = [len(blob) // HASH_SIZE for blob in blobs]
    path: list[bytes | None] = []
    for blob, count in zip(blobs, counts, strict=True):
        path.append(blob[HASH_SIZE : 2 * HASH_SIZE] if count > 1 else None)
    gaps = path.count(None)
    for i in range(tree.size):
        k = 0
        while i:  # leaf 0's path is the initial one
            node = (i >> k) ^ 1
            if path[k] is None:
                gaps -= 1
            if node < counts[k]:
                start = node * HASH_SIZE
                path[k] = blobs[k][start : start + HASH_SIZE]
            else:
                path[k] = None
                gaps += 1
            if (i >> k) & 1:
                break
            k += 1
        if gaps:
            yield tuple(node for node in path if node is not None)
        else:
            yield tuple(path)  # type: ignore[arg-type]
