"""evidence: the request id that created a deposit

Issue 16 item 5: a deposit records the X-Request-Id of the HTTP request that created it,
so the pipeline stages that move it later log under the same id and one grep over the
HTTP and worker processes' logs follows the deposit. NULL on rows from before.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "evidence_deposits"


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("request_id")
