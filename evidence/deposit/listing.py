"""``GET /evidence/deposits``: one owner's deposits, newest first, a page at a time.

Keyset pagination over ``(received_at, id)`` descending, served by the index
``ix_evidence_deposits_owner``: the ``cursor`` of the ``next`` link is opaque (base64url
of the last deposit's ``receivedAt`` and id), stable while deposits arrive. Filters:
``state`` (one of :class:`~evidence.deposit.models.DepositState`), ``receivedAfter`` /
``receivedBefore`` (RFC 3339 ``date-time`` with an offset,
https://www.rfc-editor.org/rfc/rfc3339#section-5.6; after is exclusive, before
exclusive). ``limit`` is 1 to :data:`MAX_LIMIT`. A bad parameter is
:class:`~evidence.errors.InvalidListQuery` (422) naming it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from evidence.deposit.models import DEPOSIT_ID_LENGTH, Deposit, DepositRecord, DepositState
from evidence.errors import InvalidListQuery
from evidence.principal import Principal

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# RFC 3339 §5.6 date-time: full-date "T" full-time, the offset required ("Z" or ±hh:mm).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class DepositQuery:
    state: DepositState | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None
    limit: int = DEFAULT_LIMIT
    after: tuple[datetime, str] | None = None  # the cursor: the last deposit shown

    @classmethod
    def parse(
        cls,
        *,
        state: str | None = None,
        received_after: str | None = None,
        received_before: str | None = None,
        limit: str | None = None,
        cursor: str | None = None,
    ) -> DepositQuery:
        """The query of the request's parameters (raw strings), each checked."""
        after, before = (
            _time(received_after, "receivedAfter"),
            _time(received_before, "receivedBefore"),
        )
        if after is not None and before is not None and after >= before:
            raise InvalidListQuery("receivedAfter must be earlier than receivedBefore")
        return cls(
            state=_state(state),
            received_after=after,
            received_before=before,
            limit=_limit(limit),
            after=_cursor(cursor),
        )

    def link(self, cursor: str | None = None) -> str:
        """This query as a URL (under ``/evidence/deposits``), optionally from ``cursor``."""
        params: dict[str, str] = {"limit": str(self.limit)}
        if self.state is not None:
            params["state"] = self.state.value
        if self.received_after is not None:
            params["receivedAfter"] = _rfc3339(self.received_after)
        if self.received_before is not None:
            params["receivedBefore"] = _rfc3339(self.received_before)
        if cursor is not None:
            params["cursor"] = cursor
        return "?" + urlencode(params)


def list_deposits(
    sessions: sessionmaker[Session], principal: Principal, query: DepositQuery
) -> tuple[list[DepositRecord], str | None]:
    """A page of ``principal``'s deposits and the cursor of the next page (``None``: last)."""
    conditions = [Deposit.depositor == principal.did]
    if not principal.all_platforms:  # a platform reads what was deposited through it
        conditions.append(Deposit.platform == principal.platform)
    if query.state is not None:
        conditions.append(Deposit.state == query.state)
    if query.received_after is not None:
        conditions.append(Deposit.received_at > query.received_after)
    if query.received_before is not None:
        conditions.append(Deposit.received_at < query.received_before)
    if query.after is not None:
        at, last_id = query.after
        conditions.append(
            or_(Deposit.received_at < at, and_(Deposit.received_at == at, Deposit.id < last_id))
        )
    statement = (
        select(Deposit)
        .where(*conditions)
        .order_by(Deposit.received_at.desc(), Deposit.id.desc())
        .limit(query.limit + 1)
    )
    with sessions() as session:
        records = [DepositRecord.of(row) for row in session.scalars(statement)]
    if len(records) <= query.limit:
        return records, None
    page = records[: query.limit]
    return page, encode_cursor(page[-1])


def encode_cursor(record: DepositRecord) -> str:
    raw = json.dumps([record.received_at.isoformat(), record.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor(text: str | None) -> tuple[datetime, str] | None:
    if text is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        at, last_id = json.loads(raw)
        when = datetime.fromisoformat(at).astimezone(UTC)
        if not isinstance(last_id, str) or len(last_id) > DEPOSIT_ID_LENGTH:
            raise ValueError
    except (ValueError, TypeError, binascii.Error):
        raise InvalidListQuery(
            "cursor is not one this API gave out (take it from links.next)"
        ) from None
    return when, last_id


def _state(text: str | None) -> DepositState | None:
    if text is None:
        return None
    try:
        return DepositState(text)
    except ValueError:
        allowed = ", ".join(s.value for s in DepositState)
        raise InvalidListQuery(f"state must be one of {allowed}, not {text[:40]!r}") from None


def _time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    if not _RFC3339.fullmatch(text):
        raise InvalidListQuery(
            f"{name} must be an RFC 3339 date-time with an offset, e.g. 2026-12-03T10:00:00Z"
        )
    try:
        # fromisoformat takes at most microseconds: finer fractions are cut.
        head, sep, tail = text.partition(".")
        if sep:
            digits = re.match(r"\d+", tail)
            assert digits is not None
            text = f"{head}.{digits.group()[:6]}{tail[digits.end() :]}"
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise InvalidListQuery(f"{name} is not a valid date-time: {text[:40]!r}") from None


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidListQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
