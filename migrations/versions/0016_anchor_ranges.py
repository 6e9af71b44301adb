"""chain layer: a batch claims its items by id range (issue 16)

A batch sealed from now on records its kind and the ids of its first and last
items; its items are never updated. Batches sealed before keep their items'
``batch_id`` (their receipts are read that way, unchanged) and get, as
``last_item_id``, the highest id they hold: a kind's highest ``last_item_id`` is
its watermark, and the items of a kind above it are the pending ones.

An item still pending below its kind's watermark (it committed after a later
item had been sealed, which the old claim allowed) would never be sealed by a
range, so this migration seals such stragglers, per kind, into one batch of the
old form; the batcher anchors it like any sealed batch.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 16:00:00.000000
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chain_adapter.merkle import MerkleTree, hash_leaves

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BATCHES = sa.table(
    "anchor_batches",
    sa.column("id", _ID),
    sa.column("kind", sa.String),
    sa.column("state", sa.String),
    sa.column("root", sa.LargeBinary),
    sa.column("size", sa.Integer),
    sa.column("attempts", sa.Integer),
    sa.column("last_item_id", sa.BigInteger),
)
_ITEMS = sa.table(
    "anchor_items",
    sa.column("id", _ID),
    sa.column("kind", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("batch_id", _ID),
)
_LEVELS = sa.table(
    "anchor_levels",
    sa.column("batch_id", _ID),
    sa.column("level", sa.Integer),
    sa.column("hashes", sa.LargeBinary),
)
_NOT_NULL = sa.text("batch_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("anchor_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_item_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_item_id", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE anchor_batches SET last_item_id = "
        "(SELECT max(anchor_items.id) FROM anchor_items "
        "WHERE anchor_items.batch_id = anchor_batches.id)"
    )
    _seal_stragglers(op.get_bind())
    with op.batch_alter_table("anchor_batches", schema=None) as batch_op:
        batch_op.create_index("ix_anchor_batches_range", ["kind", "last_item_id"], unique=True)
    with op.batch_alter_table("anchor_items", schema=None) as batch_op:
        batch_op.drop_index("ix_anchor_items_pending")
        batch_op.drop_index("ix_anchor_items_batch")
        batch_op.create_index("ix_anchor_items_kind", ["kind", "id"], unique=False)
        batch_op.create_index(
            "ix_anchor_items_batch",
            ["batch_id", "id"],
            unique=False,
            postgresql_where=_NOT_NULL,
            sqlite_where=_NOT_NULL,
        )


def _seal_stragglers(bind: sa.Connection) -> None:
    """Seal the pending items below their kind's watermark into one old-form batch per kind."""
    watermark = (
        sa.select(sa.func.max(_BATCHES.c.last_item_id))
        .where(_BATCHES.c.kind == _ITEMS.c.kind)
        .scalar_subquery()
    )
    rows = bind.execute(
        sa.select(_ITEMS.c.kind, _ITEMS.c.id, _ITEMS.c.data)
        .where(_ITEMS.c.batch_id.is_(None), _ITEMS.c.id < watermark)
        .order_by(_ITEMS.c.id)
    ).all()
    by_kind: dict[str, list[tuple[int, bytes]]] = defaultdict(list)
    for kind, item_id, data in rows:
        by_kind[kind].append((item_id, bytes(data)))
    for kind, items in by_kind.items():
        tree = MerkleTree.from_leaves(hash_leaves([data for _, data in items]))
        batch_id = bind.execute(
            sa.insert(_BATCHES)
            .values(
                kind=kind,
                state="sealed",
                root=tree.root,
                size=tree.size,
                attempts=0,
                last_item_id=items[-1][0],
            )
            .returning(_BATCHES.c.id)
        ).scalar_one()
        bind.execute(
            sa.insert(_LEVELS),
            [
                {"batch_id": batch_id, "level": level, "hashes": blob}
                for level, blob in enumerate(tree.to_level_blobs())
            ],
        )
        bind.execute(
            sa.update(_ITEMS)
            .where(_ITEMS.c.id.in_([item_id for item_id, _ in items]))
            .values(batch_id=batch_id)
        )


def downgrade() -> None:
    # Back to one batch_id per item: the items of each range batch get its id.
    op.execute(
        "UPDATE anchor_items SET batch_id = (SELECT anchor_batches.id FROM anchor_batches "
        "WHERE anchor_batches.kind = anchor_items.kind "
        "AND anchor_batches.first_item_id <= anchor_items.id "
        "AND anchor_batches.last_item_id >= anchor_items.id) "
        "WHERE batch_id IS NULL"
    )
    with op.batch_alter_table("anchor_items", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_anchor_items_batch", postgresql_where=_NOT_NULL, sqlite_where=_NOT_NULL
        )
        batch_op.drop_index("ix_anchor_items_kind")
        batch_op.create_index("ix_anchor_items_batch", ["batch_id", "id"], unique=False)
        batch_op.create_index("ix_anchor_items_pending", ["kind", "batch_id", "id"], unique=False)
    op.drop_index("ix_anchor_batches_range", table_name="anchor_batches")
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35 too): batch mode would copy the table,
    # and SQLite's foreign keys refuse to drop the table items and levels point at.
    op.drop_column("anchor_batches", "last_item_id")
    op.drop_column("anchor_batches", "first_item_id")
