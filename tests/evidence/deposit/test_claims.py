"""The pipeline's leased claims are fair and exact, proven on SQLite and PostgreSQL.

Issue 16, item 1: several workers share the deposits of a stage through
``evidence.deposit.claims``. Proven here with claimers racing in threads, each with a
database connection of its own (as processes have): no deposit is ever held by two; the
oldest due deposits go first, so none waits behind newer ones; a claim never takes more
than a batch, so a second worker always finds work while any is left; a lapsed lease is
taken over, and the late owner's results are refused.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from evidence.deposit.claims import DepositClaims
from evidence.deposit.models import Deposit, DepositState
from evidence.deposit.request import DepositMetadata
from evidence.deposit.service import DepositService
from evidence.principal import Principal
from tests.evidence.deposit_support import alice, blobs, service

__all__ = ["alice", "blobs", "service"]  # fixtures, used by name below

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def claims(sessions: sessionmaker[Session], owner: str, batch: int = 10) -> DepositClaims:
    return DepositClaims(
        sessions, owner=owner, batch_size=batch, lease=timedelta(seconds=60),
        retry_base=1, retry_max=60, clock=lambda: NOW,
    )  # fmt: skip


def deposit(service: DepositService, who: Principal, count: int) -> list[str]:
    return [
        service.deposit_digest(who, DepositMetadata(), sha256=hashlib.sha256(b"%d" % i).digest()).id
        for i in range(count)
    ]


def received_order(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Deposit.id).order_by(Deposit.received_at, Deposit.id)))


def test_racing_claimers_never_share_a_deposit_and_each_gets_work(
    sessions: sessionmaker[Session], service: DepositService, alice: Principal
) -> None:
    ids = deposit(service, alice, 200)
    workers = [claims(sessions, f"w{n}") for n in range(4)]
    taken: dict[str, list[str]] = {w.owner: [] for w in workers}
    start = threading.Barrier(len(workers))

    def run(worker: DepositClaims) -> None:
        start.wait()
        while rows := worker.claim(DepositState.RECEIVED, Deposit.sha256, NOW):
            taken[worker.owner].extend(deposit_id for deposit_id, _ in rows)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    claimed = [deposit_id for owned in taken.values() for deposit_id in owned]
    assert sorted(claimed) == sorted(ids)  # every deposit claimed, none twice
    assert all(len(owned) % 10 == 0 for owned in taken.values())  # whole batches, never more
    with sessions() as session:
        holders = dict(session.execute(select(Deposit.id, Deposit.claimed_by)).all())
    assert all(holders[d] == owner for owner, owned in taken.items() for d in owned)


def test_the_oldest_due_deposits_are_claimed_first(
    sessions: sessionmaker[Session], service: DepositService, alice: Principal
) -> None:
    deposit(service, alice, 25)
    order = received_order(sessions)
    first, second = claims(sessions, "a"), claims(sessions, "b")
    assert [d for d, _ in first.claim(DepositState.RECEIVED, Deposit.sha256, NOW)] == order[:10]
    assert [d for d, _ in second.claim(DepositState.RECEIVED, Deposit.sha256, NOW)] == order[10:20]
    # One put off after a failure waits its back-off; the rest are not held up by it.
    first.fail(order[0], RuntimeError("the TSA blinked"))
    first.release(order[1:10])
    again = [d for d, _ in first.claim(DepositState.RECEIVED, Deposit.sha256, NOW)]
    assert again == order[1:10] + order[20:21]


def test_a_lapsed_lease_is_taken_over_and_the_late_owner_is_refused(
    sessions: sessionmaker[Session], service: DepositService, alice: Principal
) -> None:
    deposit(service, alice, 5)
    dead, alive = claims(sessions, "dead"), claims(sessions, "alive")
    held = [d for d, _ in dead.claim(DepositState.RECEIVED, Deposit.sha256, NOW)]
    assert alive.claim(DepositState.RECEIVED, Deposit.sha256, NOW) == []  # the lease holds
    later = NOW + timedelta(seconds=61)
    taken = [d for d, _ in alive.claim(DepositState.RECEIVED, Deposit.sha256, later)]
    assert taken == held
    results = [{"id": d, "tsa": "late"} for d in held]
    assert dead.finish(DepositState.RECEIVED, DepositState.TIMESTAMPED, results) == 0
    assert alive.finish(DepositState.RECEIVED, DepositState.TIMESTAMPED, results) == len(held)
