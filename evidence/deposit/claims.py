"""Leased claims on deposit rows: how the pipeline's stages share work, even across processes.

A stage claims up to a batch of due deposits in one state by writing its name and a
lease end on them (``claimed_by`` / ``claimed_until``) under ``SELECT ... FOR UPDATE
SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite (see ``notary_hub.db``). It
then works outside any transaction and writes all its results in one executemany
``UPDATE``, each applied only if the row is still claimed by it and still in the state
it found: work done twice (a lapsed lease taken over) is written once. A killed
process's claims lapse after the lease. A deposit that failed is put off with
exponential backoff (``attempts``, ``next_attempt_at``, ``last_error``).

Each move and each put-off is logged under the request id that created the deposit
(issue 16 item 5), remembered from the claim, so a grep for that id follows the deposit
from the HTTP request through every stage, in whichever process runs it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from evidence.deposit.models import ERROR_MAX_LENGTH, Deposit, DepositState
from hub_kernel.request_context import bound_request_id

log = logging.getLogger(__name__)
_DEPOSITS = cast(Table, Deposit.__table__)


class DepositClaims:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        owner: str,
        batch_size: int,
        lease: timedelta,
        retry_base: float,
        retry_max: float,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self.owner = owner
        self._batch_size = batch_size
        self._lease = lease
        self._retry_base = retry_base
        self._retry_max = retry_max
        self._clock = clock
        # The request id of each claimed deposit, until its claim ends (stages share this).
        self._request_ids: dict[str, str | None] = {}
        self._ids_lock = threading.Lock()

    def claim(self, state: DepositState, column: Any, now: datetime) -> list[tuple[str, Any]]:
        """Lease up to a batch of due, unclaimed deposits in ``state``: ``(id, column)`` rows."""
        with self._sessions() as session, session.begin():
            rows = session.execute(
                select(Deposit.id, column, Deposit.request_id)
                .where(
                    Deposit.state == state,
                    or_(Deposit.next_attempt_at.is_(None), Deposit.next_attempt_at <= now),
                    or_(Deposit.claimed_until.is_(None), Deposit.claimed_until < now),
                )
                .order_by(Deposit.received_at)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if rows:
                session.execute(
                    update(Deposit)
                    .where(Deposit.id.in_([row[0] for row in rows]))
                    .values(claimed_by=self.owner, claimed_until=now + self._lease)
                )
        with self._ids_lock:
            self._request_ids.update((row[0], row[2]) for row in rows)
        return [(row[0], row[1]) for row in rows]

    def finish(
        self, before: DepositState, after: DepositState, results: list[dict[str, Any]]
    ) -> int:
        """Write each result (its ``id`` and column values) to its row, moving it to
        ``after``, if the row is still claimed by us in ``before``; how many moved."""
        if not results:
            return 0
        columns = [name for name in results[0] if name != "id"]
        statement = (
            update(_DEPOSITS)
            .where(
                _DEPOSITS.c.id == bindparam("_id"),
                _DEPOSITS.c.state == before,
                _DEPOSITS.c.claimed_by == self.owner,
            )
            .values(
                {
                    **{name: bindparam(f"_{name}") for name in columns},
                    "state": after,
                    "claimed_by": None,
                    "claimed_until": None,
                    "attempts": 0,
                    "last_error": None,
                    "next_attempt_at": None,
                }
            )
        )
        values = [{f"_{name}": value for name, value in result.items()} for result in results]
        with self._sessions() as session, session.begin():
            outcome = session.execute(statement, values)
        for result in results:
            with bound_request_id(self._forget([result["id"]]).get(result["id"])):
                log.info("deposit moved", extra={"deposit": result["id"], "state": after.value})
        return changed_rows(outcome, len(values))

    def release(self, deposit_ids: list[str]) -> None:
        """Give claimed deposits back untouched (the stage stops early)."""
        self._forget(deposit_ids)
        if not deposit_ids:
            return
        with self._sessions() as session, session.begin():
            session.execute(
                update(Deposit)
                .where(Deposit.id.in_(deposit_ids), Deposit.claimed_by == self.owner)
                .values(claimed_by=None, claimed_until=None)
            )

    def fail(self, deposit_id: str, exc: Exception) -> str:
        """Record ``exc`` on the deposit and put its next attempt off, exponentially;
        the error as recorded."""
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        code = getattr(exc, "code", type(exc).__name__)
        error = f"{code}: {message}"[:ERROR_MAX_LENGTH]
        with bound_request_id(self._forget([deposit_id]).get(deposit_id)):
            log.warning("deposit put off", extra={"deposit": deposit_id, "error": code})
        now = self._clock()
        with self._sessions() as session, session.begin():
            row = session.get(Deposit, deposit_id)
            if row is None or row.claimed_by != self.owner:
                return error
            delay = min(self._retry_base * 2**row.attempts, self._retry_max)
            row.attempts += 1
            row.last_error = error
            row.next_attempt_at = now + timedelta(seconds=delay)
            row.claimed_by = None
            row.claimed_until = None
        return error

    def _forget(self, deposit_ids: Iterable[str]) -> dict[str, str | None]:
        """The request ids of claims that end, no longer remembered."""
        with self._ids_lock:
            return {i: self._request_ids.pop(i, None) for i in deposit_ids}


def changed_rows(result: Any, expected: int) -> int:
    """Rows an executemany UPDATE changed, where the driver tells (else ``expected``)."""
    count = getattr(result, "rowcount", -1)
    return count if isinstance(count, int) and count >= 0 else expected
