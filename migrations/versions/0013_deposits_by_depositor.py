"""evidence: deposits listed by depositor across platforms

Issue 13 item 8: owner reads follow the token's subject. A person's own wallet lists all
of the person's deposits, whichever platform made them, so the listing index leads with
the depositor (a platform's reads of that person filter the same short run by platform).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 23:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "evidence_deposits"


def upgrade() -> None:
    op.create_index("ix_evidence_deposits_depositor", TABLE, ["depositor", "received_at", "id"])
    op.drop_index("ix_evidence_deposits_owner", table_name=TABLE)


def downgrade() -> None:
    op.create_index(
        "ix_evidence_deposits_owner", TABLE, ["platform", "depositor", "received_at", "id"]
    )
    op.drop_index("ix_evidence_deposits_depositor", table_name=TABLE)
