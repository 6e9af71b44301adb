"""How many captures are in each unfinished state: read at scrape time for ``/metrics``.

The finished states (``refused``, ``sealed``) are not counted: they only grow. The
others are each a range of ``ix_evidence_captures_state``.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from evidence.capture.models import Capture, CaptureState

UNFINISHED = (
    CaptureState.PREFLIGHT,
    CaptureState.LIVE,
    CaptureState.ENDING,
    CaptureState.INTERRUPTED,
    CaptureState.SEALING,
)


def unfinished_captures(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Each unfinished state's captures, by the state's name (zero included)."""
    with sessions() as session:
        rows = session.execute(
            select(Capture.state, func.count())
            .where(Capture.state.in_(UNFINISHED))
            .group_by(Capture.state)
        ).all()
    found = {CaptureState(state).value: int(count) for state, count in rows}
    return {state.value: found.get(state.value, 0) for state in UNFINISHED}
