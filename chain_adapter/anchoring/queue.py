"""The durable anchoring queue: accept items, and hand out receipts once anchored.

An item is accepted when its row commits; from then on the batcher owns it. A
receipt is derived, never stored: the item's batch says where the root is, its
rank by id inside the batch is its leaf index, and the batch's stored tree
levels give the audit path without rehashing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.receipt import MAX_LEAF_BYTES, AnchorReceipt
from chain_adapter.errors import ChainError
from chain_adapter.merkle import MerkleTree
from chain_adapter.models import AnchorBatch, AnchorItem, AnchorLevel, BatchState

KIND_MAX_BYTES = 32


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
        self._listeners: list[threading.Event] = []

    def subscribe(self) -> threading.Event:
        """An event set whenever items are enqueued (the batcher waits on it)."""
        event = threading.Event()
        self._listeners.append(event)
        return event

    def enqueue(self, data: bytes, kind: str, session: Session | None = None) -> int:
        """Accept one item; with ``session`` it commits together with the caller's work."""
        return self.enqueue_many([data], kind, session)[0]

    def enqueue_many(
        self, items: Sequence[bytes], kind: str, session: Session | None = None
    ) -> list[int]:
        for data in items:
            validate_item(data, kind)
        rows = [{"kind": kind, "data": data} for data in items]
        statement = insert(AnchorItem).returning(AnchorItem.id, sort_by_parameter_order=True)
        if session is not None:
            ids = list(session.scalars(statement, rows))
        else:
            with self._sessions() as own, own.begin():
                ids = list(own.scalars(statement, rows))
        for event in self._listeners:
            event.set()
        return ids

    def pending_count(self) -> int:
        with self._sessions() as session:
            count = session.scalar(
                select(func.count()).select_from(AnchorItem).where(AnchorItem.batch_id.is_(None))
            )
            return int(count or 0)

    def status(self, item_id: int) -> ItemStatus:
        with self._sessions() as session:
            row = session.execute(
                select(AnchorItem.kind, AnchorItem.batch_id, AnchorBatch.state)
                .outerjoin(AnchorBatch, AnchorBatch.id == AnchorItem.batch_id)
                .where(AnchorItem.id == item_id)
            ).one_or_none()
        if row is None:
            raise UnknownAnchorItem(f"no anchored item {item_id}")
        kind, batch_id, state = row
        return ItemStatus(item_id, kind, state.value if state else "queued", batch_id)

    def receipt(self, item_id: int) -> AnchorReceipt | None:
        """The item's receipt, or ``None`` while it is not yet anchored."""
        with self._sessions() as session:
            row = session.execute(
                select(AnchorItem.data, AnchorItem.batch_id).where(AnchorItem.id == item_id)
            ).one_or_none()
            if row is None:
                raise UnknownAnchorItem(f"no anchored item {item_id}")
            data, batch_id = row
            if batch_id is None:
                return None
            batch = session.get(AnchorBatch, batch_id)
            if batch is None or batch.state is not BatchState.ANCHORED:
                return None
            index = session.scalar(
                select(func.count())
                .select_from(AnchorItem)
                .where(AnchorItem.batch_id == batch_id, AnchorItem.id < item_id)
            )
            tree = self._tree(session, batch)
        return _receipt(batch, tree, int(index or 0), data)

    def batch_receipts(self, batch_id: int) -> Iterator[tuple[int, AnchorReceipt]]:
        """Every ``(item id, receipt)`` of an anchored batch, in leaf order."""
        with self._sessions() as session:
            batch = session.get(AnchorBatch, batch_id)
            if batch is None or batch.state is not BatchState.ANCHORED:
                return
            tree = self._tree(session, batch)
            rows = session.execute(
                select(AnchorItem.id, AnchorItem.data)
                .where(AnchorItem.batch_id == batch_id)
                .order_by(AnchorItem.id)
            ).all()
        for index, (item_id, data) in enumerate(rows):
            yield item_id, _receipt(batch, tree, index, data)

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


def _receipt(batch: AnchorBatch, tree: MerkleTree, index: int, data: bytes) -> AnchorReceipt:
    assert batch.tx_hash and batch.block_hash and batch.registry_address  # ANCHORED invariant
    assert batch.block_number is not None and batch.block_timestamp is not None
    assert batch.chain_id is not None
    return AnchorReceipt(
        leaf=data,
        leaf_index=index,
        tree_size=tree.size,
        audit_path=tuple(tree.inclusion_proof(index)),
        root=tree.root,
        kind=batch.kind,
        chain_id=batch.chain_id,
        registry=batch.registry_address,
        transaction_hash=batch.tx_hash,
        block_number=batch.block_number,
        block_hash=batch.block_hash,
        block_timestamp=batch.block_timestamp,
    )
