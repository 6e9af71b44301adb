"""Batch digest deposits: up to 1,000 digest-only deposits in one request, one transaction.

``POST /evidence/deposits:batch`` takes ``{"items": [...]}``; each item is what a single
JSON digest deposit takes (:func:`evidence.deposit.request.parse_deposit_request`) plus
its own ``idempotencyKey`` (required: a lost answer to a batch is retried whole, and
only the keys make that retry safe). Each item is a deposit of its own with the single
path's semantics (:mod:`evidence.deposit.idempotency`, draft-ietf-httpapi-idempotency-
key-header §2.7): a key seen before (from this platform, by either path) with the same
request answers the first deposit; with a different request that item is refused 422
``idempotency_key_reused``. Two items of one batch with one key are one deposit when
they ask the same, else the later one is refused.

**Not atomic:** the batch is checked item by item; a malformed item is refused by its
index and the good ones are recorded all the same. The answer is ``200`` with one result
per item, in order: ``{"index", "status", "deposit"}`` (``201`` new, ``200`` a replay)
or ``{"index", "status", "error": {"error", "message"}}``. What the batch as a whole
gets wrong (not an object, no item list, more than :data:`MAX_BATCH_ITEMS` items, a
body over :data:`MAX_BATCH_BYTES`) refuses all of it.

New rows go in with one multi-row ``INSERT … ON CONFLICT DO NOTHING`` on the
``(platform, idempotency_key)`` constraint, ``RETURNING`` the ids it wrote: a
concurrent request with the same keys (another batch, a single deposit) makes each
deposit once, and the items it beat this one to are answered as replays (or refused).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from evidence.deposit.idempotency import request_fingerprint
from evidence.deposit.models import Deposit, DepositRecord, DepositState, new_deposit_id
from evidence.deposit.request import DepositMetadata, parse_deposit_request
from evidence.errors import (
    EvidenceError,
    IdempotencyKeyReused,
    InvalidDeposit,
    Sha256Required,
)
from evidence.principal import Principal
from hub_kernel.errors import HubError

log = logging.getLogger(__name__)

MAX_BATCH_ITEMS = 1000
MAX_BATCH_BYTES = 4 * 1024 * 1024  # 1,000 items with long descriptions; far over hash-only
KEY_FIELD = "idempotencyKey"
_LOOKUP_CHUNK = 500  # keys per IN (...) when finding earlier deposits
_DEPOSITS = cast(Table, Deposit.__table__)


class BatchTooLarge(EvidenceError):
    """More items than :data:`MAX_BATCH_ITEMS`, or a body over :data:`MAX_BATCH_BYTES`."""

    code = "batch_too_large"
    status_code = 413


class InvalidBatch(InvalidDeposit):
    """The batch itself is malformed (not ``{"items": [...]}``, or empty)."""

    code = "invalid_batch"


@dataclass(frozen=True, slots=True)
class _Item:
    index: int
    key: str
    metadata: DepositMetadata
    sha256: bytes
    sm3: bytes | None
    fingerprint: bytes


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One item's outcome: a deposit (``201`` new, ``200`` replayed) or an error."""

    index: int
    status: int
    record: DepositRecord | None = None
    error: HubError | None = None


class BatchDeposits:
    """Records batches of digest deposits for :class:`~evidence.deposit.service.DepositService`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime],
        notify: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._notify = notify

    def deposit_batch(self, principal: Principal, body: Any) -> list[ItemResult]:
        """Check and record ``body``'s items; one result per item, in the items' order."""
        items = batch_items(body)
        results: dict[int, ItemResult] = {}
        first_of_key: dict[str, _Item] = {}
        repeats: dict[int, int] = {}  # an item repeating an earlier one: its index
        pending: list[_Item] = []
        for index, raw in enumerate(items):
            try:
                item = _parse_item(principal, index, raw)
            except HubError as exc:
                results[index] = ItemResult(index, exc.status_code, error=exc)
                continue
            first = first_of_key.setdefault(item.key, item)
            if first is item:
                pending.append(item)
            elif hmac.compare_digest(first.fingerprint, item.fingerprint):
                repeats[index] = first.index
            else:
                results[index] = _refused(index)
        self._record(principal, pending, results)
        for index, first_index in repeats.items():
            done = results[first_index]  # a repeat of a new deposit is a replay of it
            status = 200 if done.record is not None else done.status
            results[index] = ItemResult(index, status, done.record, done.error)
        return [results[index] for index in range(len(items))]

    def _record(
        self, principal: Principal, pending: list[_Item], results: dict[int, ItemResult]
    ) -> None:
        earlier = self._by_keys(principal, [item.key for item in pending])
        new: list[tuple[_Item, dict[str, Any]]] = []
        now = self._clock()
        for item in pending:
            found = earlier.get(item.key)
            if found is None:
                new.append((item, self._values(principal, item, now)))
            else:
                results[item.index] = _replay(item, found)
        written = self._insert([values for _, values in new])
        raced = [item for item, values in new if values["id"] not in written]
        after_race = self._by_keys(principal, [item.key for item in raced])
        for item, values in new:
            if values["id"] in written:
                results[item.index] = ItemResult(item.index, 201, DepositRecord.written(values))
            else:  # a concurrent request recorded this key first
                results[item.index] = _replay(item, after_race[item.key])
        if written:
            log.info("deposit batch received", extra={"count": len(written)})
            self._notify()

    def _insert(self, rows: list[dict[str, Any]]) -> set[str]:
        """Insert ``rows`` in one transaction, skipping keys already taken; the ids written."""
        if not rows:
            return set()
        with self._sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            module = postgresql if dialect == "postgresql" else sqlite
            statement = (
                module.insert(_DEPOSITS)
                .on_conflict_do_nothing(index_elements=["platform", "idempotency_key"])
                .returning(_DEPOSITS.c.id)
            )
            # executemany: SQLAlchemy sends it as multi-row INSERTs ("insertmanyvalues").
            return set(session.scalars(statement, rows).all())

    def _by_keys(self, principal: Principal, keys: Sequence[str]) -> dict[str, DepositRecord]:
        found: dict[str, DepositRecord] = {}
        if not keys:
            return found
        with self._sessions() as session:
            for start in range(0, len(keys), _LOOKUP_CHUNK):
                rows = session.scalars(
                    select(Deposit).where(
                        Deposit.platform == principal.platform,
                        Deposit.idempotency_key.in_(keys[start : start + _LOOKUP_CHUNK]),
                    )
                )
                for row in rows:
                    assert row.idempotency_key is not None  # matched by it
                    found[row.idempotency_key] = DepositRecord.of(row)
        return found

    @staticmethod
    def _values(principal: Principal, item: _Item, now: datetime) -> dict[str, Any]:
        return {
            "id": new_deposit_id(),
            "depositor": principal.did,
            "platform": principal.platform,
            "idempotency_key": item.key,
            "request_fingerprint": item.fingerprint,
            "title": item.metadata.title,
            "description": item.metadata.description,
            "tags": list(item.metadata.tags),
            "media_type": item.metadata.media_type,
            "file_name": item.metadata.file_name,
            "size": None,
            "sha256": item.sha256,
            "sm3": item.sm3,
            "content_stored": False,
            "state": DepositState.RECEIVED,
            "received_at": now,
            "attempts": 0,
        }


def batch_items(body: Any) -> list[Any]:
    """The item list of a batch body, or the batch refused whole."""
    if not isinstance(body, dict) or set(body) != {"items"}:
        raise InvalidBatch('a batch is a JSON object {"items": [...]} and nothing else')
    items = body["items"]
    if not isinstance(items, list) or not items:
        raise InvalidBatch("items must be a non-empty list of digest deposits")
    if len(items) > MAX_BATCH_ITEMS:
        raise BatchTooLarge(f"a batch holds at most {MAX_BATCH_ITEMS} items, not {len(items)}")
    return items


def _parse_item(principal: Principal, index: int, raw: Any) -> _Item:
    if not isinstance(raw, dict):
        raise InvalidDeposit("a batch item must be a JSON object")
    key = raw.get(KEY_FIELD)
    if not isinstance(key, str):
        raise InvalidDeposit(f"each batch item needs its own {KEY_FIELD} (a string)")
    fields = {name: value for name, value in raw.items() if name != KEY_FIELD}
    metadata, declared = parse_deposit_request(fields, idempotency_key=key)
    assert metadata.idempotency_key is not None  # checked from a string
    if declared.sha256 is None:
        raise Sha256Required(
            "a digest deposit needs the content's SHA-256 (sha256); an SM3 digest may accompany it"
        )
    fingerprint = request_fingerprint(
        principal.did, metadata, sha256=declared.sha256, sm3=declared.sm3, stored=False
    )
    return _Item(
        index, metadata.idempotency_key, metadata, declared.sha256, declared.sm3, fingerprint
    )


def _refused(index: int) -> ItemResult:
    error = IdempotencyKeyReused(
        f"{KEY_FIELD} is already used for a different request payload "
        "(other content, metadata or depositor)"
    )
    return ItemResult(index, error.status_code, error=error)


def _replay(item: _Item, found: DepositRecord) -> ItemResult:
    """The earlier deposit if it asked for exactly what ``item`` does, else a refusal;
    rows from before fingerprints were kept compare depositor and SHA-256 (as the single path)."""
    if found.request_fingerprint is not None:
        same = hmac.compare_digest(found.request_fingerprint, item.fingerprint)
    else:
        same = not found.content_stored and hmac.compare_digest(found.sha256, item.sha256)
    return ItemResult(item.index, 200, found) if same else _refused(item.index)


def results_json(
    results: Iterable[ItemResult], render: Callable[[DepositRecord], dict[str, Any]]
) -> dict[str, Any]:
    """The answer body: one entry per item, and the counts of each outcome."""
    items: list[dict[str, Any]] = []
    counts = {"created": 0, "replayed": 0, "refused": 0}
    for result in results:
        entry: dict[str, Any] = {"index": result.index, "status": result.status}
        if result.record is not None:
            entry["deposit"] = render(result.record)
            counts["created" if result.status == 201 else "replayed"] += 1
        else:
            assert result.error is not None
            entry["error"] = {"error": result.error.code, "message": result.error.message}
            counts["refused"] += 1
        items.append(entry)
    return {"items": items, **counts}
