"""evidence: request fingerprints for Idempotency-Key, and an index for listing deposits

Issue 11 item 6. ``request_fingerprint`` holds the SHA-256 of what a keyed deposit
request asked for (evidence.deposit.idempotency), so a key reused for a different
request is refused (draft-ietf-httpapi-idempotency-key-header §2.7); rows from before
stay NULL and are compared by depositor and SHA-256 as before. ``ix_evidence_deposits_owner``
serves ``GET /evidence/deposits`` (one owner's deposits, newest first).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("evidence_deposits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_fingerprint", sa.LargeBinary(length=32)))
        batch_op.create_index(
            "ix_evidence_deposits_owner",
            ["platform", "depositor", "received_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("evidence_deposits", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_deposits_owner")
        batch_op.drop_column("request_fingerprint")
