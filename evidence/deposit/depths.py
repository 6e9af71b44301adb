"""How many deposits wait for each stage, and since when: the pipeline's queue depths.

Read at scrape time by ``notary_hub.metrics`` (any process answers it truthfully, as
the rows are the queue). Only the three waiting states are counted, each by its own
range of ``ix_evidence_deposits_work``, so the certified millions are never scanned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from evidence.deposit.models import Deposit, DepositState, as_utc

# The state a deposit waits in for each stage: received → timestamp, and so on.
WAITING_FOR = {
    DepositState.RECEIVED: "timestamp",
    DepositState.TIMESTAMPED: "anchor",
    DepositState.ANCHORED: "certify",
}


@dataclass(frozen=True, slots=True)
class Waiting:
    count: int
    oldest: datetime | None  # the longest-waiting deposit's receipt


def waiting_deposits(sessions: sessionmaker[Session]) -> dict[DepositState, Waiting]:
    """Each waiting state's deposits (zero included)."""
    with sessions() as session:
        rows = session.execute(
            select(Deposit.state, func.count(), func.min(Deposit.received_at))
            .where(Deposit.state.in_(list(WAITING_FOR)))
            .group_by(Deposit.state)
        ).all()
    found = {
        DepositState(state): Waiting(int(count), as_utc(oldest) if oldest else None)
        for state, count, oldest in rows
    }
    return {state: found.get(state, Waiting(0, None)) for state in WAITING_FOR}
