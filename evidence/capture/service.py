"""The capture service's records: each capture's state, its owner and its process lease.

Issue 15 ("Reliability": kill -9 the hub mid-session, and on restart the session is
marked interrupted; nothing is silently lost). The states and their diagram are in
:mod:`evidence.capture.models`. One session's orchestration (the browser, recorder and
chain) is :mod:`evidence.capture.session`; this module is what it writes to the database.

- Every step is one ``UPDATE ... WHERE state IN (expected)`` (a compare-and-set): a step
  out of order or repeated, such as a second end, is refused with
  :class:`CaptureStateConflict` (409) and leaves the capture as it was; of two processes
  (or threads) making the same step, exactly one does.
- The hub process working on a capture holds a lease (``held_by``, a name unique to the
  process run, ``capture_request.new_holder``; ``held_until``), renewed while it runs,
  the way the deposit pipeline's claims are (:mod:`evidence.deposit.claims`).
  :meth:`CaptureService.recover_interrupted`, run at start and periodically, moves every
  ``live`` or ``ending`` capture whose lease lapsed to ``interrupted``, stating when its
  process was last alive and how far the chain got; a ``preflight`` one is ``refused``
  (nothing was recorded). A process that finds its
  renewal refused (:class:`CaptureLeaseLost`) has been taken over and must stop.
- Reads answer 404 for someone else's capture, as for a missing one: whether a capture
  exists is its owner's to know.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from evidence.capture.capture_request import CaptureLimits, check_digest, check_holder, check_target
from evidence.capture.models import (
    CAPTURE_ID_LENGTH,
    ERROR_MAX_LENGTH,
    REASON_MAX_LENGTH,
    Capture,
    CaptureMode,
    CaptureRecord,
    CaptureState,
    EndReason,
    interruption_reason,
    iso_time,
)
from evidence.capture.service_errors import (
    CaptureNotFound,
    CaptureStateConflict,
    InvalidCaptureRequest,
    lease_lost,
    out_of_order,
)
from evidence.principal import Principal

__all__ = ["CaptureService"]

S = CaptureState
LEASE = timedelta(seconds=60)
LIST_LIMIT = 100
_RUNNING = (S.LIVE, S.ENDING)  # a process records these; a lapsed lease interrupts them
_LEASED = (S.PREFLIGHT, S.LIVE, S.ENDING, S.SEALING)
_CHAIN_GROWS = (S.LIVE, S.ENDING, S.INTERRUPTED, S.SEALING)


def _now() -> datetime:
    return datetime.now(UTC)


class CaptureService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        lease: timedelta = LEASE,
        ceiling: CaptureLimits | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """``lease``: how long a process's hold lasts without renewal (renew well within
        it); ``ceiling``: the hub's limits, which a capture may only tighten."""
        self._sessions = sessions
        self.lease = lease
        self.ceiling = ceiling or CaptureLimits()
        self.clock = clock

    # -- the primitives -------------------------------------------------------------------

    def move(
        self,
        capture_id: str,
        expected: Sequence[CaptureState],
        *conditions: ColumnElement[bool],
        **values: Any,
    ) -> bool:
        """Set ``values`` if the capture is still in one of ``expected`` (and meets
        ``conditions``): whether it moved."""
        with self._sessions() as session, session.begin():
            moved = session.execute(
                update(Capture)
                .where(Capture.id == capture_id, Capture.state.in_(expected), *conditions)
                .values(**values)
            )
            return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

    def step(
        self,
        capture_id: str,
        expected: Sequence[CaptureState],
        *conditions: ColumnElement[bool],
        holder: str | None = None,
        **values: Any,
    ) -> CaptureRecord:
        """:meth:`move`, or why not: 409 naming the state the capture is in, or
        :class:`CaptureLeaseLost` when it is in the state but ``holder`` does not hold it."""
        if not self.move(capture_id, expected, *conditions, **values):
            record = self.record(capture_id)
            if record.state in expected and holder is not None and record.held_by != holder:
                raise lease_lost(record, holder)
            raise out_of_order(record, expected)
        return self.record(capture_id)

    def record(self, capture_id: str) -> CaptureRecord:
        with self._sessions() as session:
            found = len(capture_id) <= CAPTURE_ID_LENGTH
            row = session.get(Capture, capture_id) if found else None
            if row is None:
                raise CaptureNotFound(f"no capture {capture_id[:40]!r}")
            return CaptureRecord.of(row)

    def owned(self, principal: Principal, capture_id: str) -> CaptureRecord:
        """The caller's capture; someone else's is not found, as a missing one."""
        record = self.record(capture_id)
        if not principal.owns(record.owner, record.platform):
            raise CaptureNotFound(f"no capture {capture_id[:40]!r}")
        return record

    @staticmethod
    def require(record: CaptureRecord, *states: CaptureState) -> None:
        if record.state not in states:
            raise out_of_order(record, states)

    def list_for(self, principal: Principal, limit: int = LIST_LIMIT) -> list[CaptureRecord]:
        """The caller's captures, newest first (through its platform, unless it reads
        every platform's, as ``Principal.owns`` says)."""
        query = select(Capture).where(Capture.owner == principal.did)
        if not principal.all_platforms:
            query = query.where(Capture.platform == principal.platform)
        query = query.order_by(Capture.created_at.desc(), Capture.id.desc()).limit(limit)
        with self._sessions() as session:
            return [CaptureRecord.of(row) for row in session.scalars(query)]

    # -- the session's life ---------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        mode: str,
        target: str,
        limits: Mapping[str, object] | CaptureLimits | None = None,
        *,
        holder: str | None = None,
    ) -> CaptureRecord:
        """A capture in ``preflight``, leased to ``holder`` (the process about to start
        its browser) if named: a process that dies during the pre-flight is found."""
        try:
            kind = CaptureMode(mode)
        except ValueError:
            raise InvalidCaptureRequest("mode must be 'live' or 'scripted'") from None
        if not isinstance(limits, CaptureLimits):
            limits = CaptureLimits.parse(limits, self.ceiling)
        now = self.clock()
        row = Capture(
            id=secrets.token_hex(CAPTURE_ID_LENGTH // 2),
            owner=principal.did,
            platform=principal.platform,
            mode=kind,
            state=S.PREFLIGHT,
            target=check_target(target),
            limits=limits.to_json(),
            created_at=now,
            interrupted=False,
            chain_length=0,
            **self._hold(check_holder(holder), now) if holder is not None else {},
        )
        with self._sessions() as session, session.begin():
            session.add(row)
        return self.record(row.id)

    def started(self, capture_id: str, preflight_sha256: bytes, holder: str) -> CaptureRecord:
        """The pre-flight passed (its report's SHA-256): the capture is ``live``, held by
        ``holder``, which renews it from now on."""
        check_digest(preflight_sha256, "the pre-flight report's SHA-256")
        now = self.clock()
        return self.step(
            capture_id,
            (S.PREFLIGHT,),
            or_(Capture.held_by.is_(None), Capture.held_by == check_holder(holder)),
            holder=holder,
            state=S.LIVE,
            preflight_sha256=preflight_sha256,
            started_at=now,
            **self._hold(holder, now),
        )

    def refused(self, capture_id: str, reasons: Sequence[str]) -> CaptureRecord:
        """A failed pre-flight: the capture ends ``refused`` with each failed check's reason."""
        if isinstance(reasons, str) or not reasons:
            raise InvalidCaptureRequest("a refusal names at least one reason")
        kept = [str(reason)[:REASON_MAX_LENGTH] for reason in reasons]
        return self.step(
            capture_id,
            (S.PREFLIGHT,),
            state=S.REFUSED,
            refusal=kept,
            ended_at=self.clock(),
            **_released(),
        )

    def renew(self, capture_id: str, holder: str) -> CaptureRecord:
        """Extend ``holder``'s lease; :class:`CaptureLeaseLost` if it no longer holds it
        (the capture was taken over, or has moved on): the holder must stop."""
        now = self.clock()
        if not self.move(capture_id, _LEASED, Capture.held_by == holder, **self._hold(holder, now)):
            raise lease_lost(self.record(capture_id), holder)
        return self.record(capture_id)

    def end_requested(
        self,
        capture_id: str,
        principal: Principal | None,
        reason: str,
        outcome: str | None = None,
    ) -> CaptureRecord:
        """``live`` → ``ending``. With a ``principal``: the owner's end (reason ``user``;
        anyone else's capture is not found). Without: the hub's own (``script_done``,
        ``idle_timeout``, ``max_duration``, ``browser_died``). A second end is a 409."""
        try:
            why = EndReason(reason)
        except ValueError:
            raise InvalidCaptureRequest(f"unknown end reason {reason[:40]!r}") from None
        if why is EndReason.INTERRUPTED:
            raise InvalidCaptureRequest("an interruption is found by recovery, never asked for")
        if principal is not None:
            if why is not EndReason.USER:
                raise InvalidCaptureRequest("a user ends a capture with reason 'user'")
            self.owned(principal, capture_id)
        said = (outcome or why.value.replace("_", " "))[:REASON_MAX_LENGTH]
        ended: dict[str, Any] = {"end_reason": why, "outcome": said, "ended_at": self.clock()}
        return self.step(capture_id, (S.LIVE,), state=S.ENDING, **ended)

    def chain_progress(
        self, capture_id: str, head: bytes, length: int, *, holder: str | None = None
    ) -> CaptureRecord:
        """The chain grew to ``length`` entries ending in ``head`` (only forwards; by
        ``holder`` if named)."""
        check_digest(head, "the chain head")
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise InvalidCaptureRequest("a chain length is a positive integer")
        conditions = [Capture.chain_length < length]
        if holder is not None:
            conditions.append(Capture.held_by == holder)
        if self.move(capture_id, _CHAIN_GROWS, *conditions, chain_head=head, chain_length=length):
            record = self.record(capture_id)
            if record.interrupted_at:  # the sealer found entries written before the DB knew
                reason = interruption_reason(record.interrupted_at, length)
                at = (Capture.chain_length == length,)
                self.move(capture_id, (S.INTERRUPTED, S.SEALING), *at, interruption_reason=reason)
            return self.record(capture_id)
        record = self.record(capture_id)
        if record.state not in _CHAIN_GROWS:
            raise out_of_order(record, _CHAIN_GROWS)
        if holder is not None and record.held_by != holder:
            raise lease_lost(record, holder)
        raise CaptureStateConflict(
            f"capture {capture_id}'s chain already has {record.chain_length} entries"
        )

    def sealing(self, capture_id: str, holder: str) -> CaptureRecord:
        """Start sealing, under ``holder``'s lease: an ``ending`` capture by the process
        that ran it, an ``interrupted`` one by any, a ``sealing`` one whose sealer's lease
        lapsed (it crashed; sealing starts again from the chain)."""
        now = self.clock()
        lapsed = or_(Capture.held_until.is_(None), Capture.held_until < now)
        return self.step(
            capture_id,
            (S.ENDING, S.INTERRUPTED, S.SEALING),
            or_(
                and_(Capture.state == S.ENDING, Capture.held_by == check_holder(holder)),
                Capture.state == S.INTERRUPTED,
                and_(Capture.state == S.SEALING, lapsed),
            ),
            holder=holder,
            state=S.SEALING,
            error=None,
            **self._hold(holder, now),
        )

    def seal_failed(self, capture_id: str, holder: str, error: str) -> CaptureRecord:
        """Sealing failed (its partial package is discarded by the sealer): the error is
        kept and the lease given up, so :meth:`due_for_sealing` offers it again."""
        return self.step(
            capture_id,
            (S.SEALING,),
            Capture.held_by == holder,
            holder=holder,
            error=error[:ERROR_MAX_LENGTH],
            **_released(),
        )

    def sealed(
        self,
        capture_id: str,
        package_sha256: bytes,
        size: int,
        letter: Mapping[str, Any],
        *,
        holder: str | None = None,
    ) -> CaptureRecord:
        """``sealing`` → ``sealed``: the package's SHA-256 and size and the letter (by
        ``holder``, the sealer, if named)."""
        check_digest(package_sha256, "the package's SHA-256")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidCaptureRequest("a package size is a positive integer")
        held = [Capture.held_by == holder] if holder is not None else []
        return self.step(
            capture_id,
            (S.SEALING,),
            *held,
            holder=holder,
            state=S.SEALED,
            package_sha256=package_sha256,
            package_size=size,
            letter=dict(letter),
            sealed_at=self.clock(),
            error=None,
            **_released(),
        )

    # -- recovery -------------------------------------------------------------------------

    def recover_interrupted(self, now: datetime | None = None) -> list[CaptureRecord]:
        """Every capture whose process's lease lapsed before ``now``: ``live`` and
        ``ending`` ones become ``interrupted`` (the reason says when the process was last
        alive and the chain's last entry), ``preflight`` ones ``refused``. Each by
        compare-and-set, so two recovering processes move a capture once."""
        now = now or self.clock()
        query = select(Capture).where(
            Capture.state.in_((S.PREFLIGHT, *_RUNNING)), Capture.held_until < now
        )
        with self._sessions() as session:
            found = [CaptureRecord.of(row) for row in session.scalars(query)]
        moved = []
        for record in found:
            alive = record.renewed_at or record.started_at or record.created_at
            lapsed = (Capture.state == record.state, Capture.held_until < now)
            if record.state is S.PREFLIGHT:
                reason = f"the hub process stopped at {iso_time(alive)}, during the pre-flight"
                values: dict[str, Any] = {"state": S.REFUSED, "refusal": [reason]}
            else:
                values = {
                    "state": S.INTERRUPTED,
                    "interrupted": True,
                    "interruption_reason": interruption_reason(alive, record.chain_length),
                    "interrupted_at": alive,
                    "end_reason": record.end_reason or EndReason.INTERRUPTED,
                }
            values["ended_at"] = record.ended_at or alive
            if self.move(record.id, (record.state,), *lapsed, **values, **_released()):
                moved.append(self.record(record.id))
        return moved

    def due_for_sealing(self, now: datetime | None = None) -> list[str]:
        """Captures no process is sealing: ``interrupted`` ones, and ``sealing`` ones whose
        sealer's lease lapsed or was given up; oldest first."""
        now = now or self.clock()
        query = (
            select(Capture.id)
            .where(
                or_(
                    Capture.state == S.INTERRUPTED,
                    and_(
                        Capture.state == S.SEALING,
                        or_(Capture.held_until.is_(None), Capture.held_until < now),
                    ),
                )
            )
            .order_by(Capture.created_at, Capture.id)  # ties broken the same way everywhere
        )
        with self._sessions() as session:
            return list(session.scalars(query))

    def _hold(self, holder: str, now: datetime) -> dict[str, Any]:
        return {"held_by": holder, "held_until": now + self.lease, "renewed_at": now}


def _released() -> dict[str, Any]:
    return {"held_by": None, "held_until": None}
