"""The deposit pipeline: received → timestamped → anchored → certified, in the background.

Three :class:`hub_kernel.worker.Worker` loops, each moving deposits of one state:

- **timestamp**: an RFC 3161 token over the content's SHA-256 (RFC 3161 §2.4.1, the
  messageImprint) from the configured authorities (a
  :class:`~evidence.timestamping.client.TimestampClient` fails over between them). An
  authority that is down leaves the deposit ``received``, retried with exponential
  backoff.
- **anchor**: the deposit's anchor leaf is enqueued on the batch anchorer in the same
  database transaction that records the item id, so a deposit never has two items (the
  id column is also unique). The **anchor leaf is the content's 32-byte SHA-256 digest**,
  kind ``"deposit"``: anyone holding the file recomputes it, and the receipt's RFC 9162
  leaf hash (``SHA-256(0x00 ‖ leaf)``) keeps leaves apart from inner nodes. Once the
  item's batch is anchored on chain the deposit is ``anchored``; a chain that is down
  only delays that (the batcher retries).
- **certify**: the custody letters are issued through ``issue_letters``, a whole claimed
  batch at once (one status allocation and one list publication for all), or one by one
  through ``issue_letter``; a batch that fails is retried letter by letter, so one bad
  deposit only holds back itself. Each letter is stored in the same statement that marks
  its deposit ``certified``.

Every step is idempotent, so a process killed anywhere resumes without duplicates.
Steps that call out (the TSA, the letter issuer) first claim their rows with a lease
(:mod:`evidence.deposit_claims`), work outside any transaction, then write their
results only to rows still theirs and still in the state they found. A killed
process's claims lapse after ``lease_seconds``.

Each stage works a claimed batch at a time with a few transactions: one claim, one
executemany write of all results, and reads of whole batches (a whole anchor batch's
receipts at once when the deposits are a good part of it). Tokens from external
authorities are asked for concurrently (``timestamp_concurrency``); the embedded TSA,
which costs CPU rather than waiting, is called in a loop.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.models import AnchorBatch, AnchorItem, BatchState
from evidence.deposit_claims import DepositClaims, changed_rows
from evidence.deposit_tokens import IMPRINT_ALGORITHM, check_token, stored_token, token_values
from evidence.errors import EvidenceError, TimestampError, TimestampUnavailable
from evidence.models import Deposit, DepositRecord, DepositState
from evidence.timestamping.client import TimestampClient
from evidence.timestamping.embedded_tsa import EmbeddedTimestampAuthority
from evidence.timestamping.protocol import TimestampAuthority, TimestampToken
from hub_kernel.worker import Worker

log = logging.getLogger(__name__)

ANCHOR_KIND = "deposit"

_DEPOSITS = cast(Table, Deposit.__table__)
# Read a whole anchor batch's receipts when the items wanted are at least this share of it.
_WHOLE_BATCH_FACTOR = 4

IssueLetter = Callable[[DepositRecord, TimestampToken, AnchorReceipt], dict[str, Any]]
LetterWork = tuple[DepositRecord, TimestampToken, AnchorReceipt]
IssueLetters = Callable[[Sequence[LetterWork]], list[dict[str, Any]]]


def anchor_leaf(sha256: bytes) -> bytes:
    """What is anchored for a deposit: its content's SHA-256 digest, as is."""
    return sha256


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EvidencePipeline:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        authority: TimestampAuthority,
        queue: AnchorQueue,
        issue_letter: IssueLetter | None = None,
        *,
        issue_letters: IssueLetters | None = None,
        interval: float = 0.5,
        batch_size: int = 100,
        timestamp_concurrency: int = 8,
        lease_seconds: float = 60.0,
        retry_base: float = 1.0,
        retry_max: float = 300.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._sessions = sessions
        self._authority = authority
        self._queue = queue
        if issue_letter is None and issue_letters is None:
            raise EvidenceError("the pipeline needs a custody letter issuer")
        self._issue_letter = issue_letter
        self._issue_letters = issue_letters
        self._batch_size = batch_size
        # Tokens from the embedded TSA cost CPU, not waiting: threads would only add
        # overhead; an external authority answers in network time, so ask it concurrently.
        concurrency = 1 if _answers_in_process(authority) else max(1, timestamp_concurrency)
        self._timestamp_concurrency = concurrency
        self._timestamp_pool: ThreadPoolExecutor | None = None  # made on first need
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock
        self.owner = secrets.token_hex(8)  # this process's name on its claims
        self._claims = DepositClaims(
            sessions,
            owner=self.owner,
            batch_size=batch_size,
            lease=self._lease,
            retry_base=retry_base,
            retry_max=retry_max,
            clock=clock,
        )
        self._errors: dict[str, str] = {}
        drain = self._drain
        self._timestamper = Worker("evidence-timestamp", drain(self.timestamp_pass), interval)
        self._anchorer = Worker(
            "evidence-anchor", drain(self._enqueue_anchors, self._collect_anchored), interval
        )
        self._certifier = Worker("evidence-certify", drain(self.certify_pass), interval)
        self.workers = (self._timestamper, self._anchorer, self._certifier)

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        pool, self._timestamp_pool = self._timestamp_pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def wake(self) -> None:
        """New deposits: :meth:`DepositService.subscribe` this."""
        self._timestamper.wake()

    def on_batch_anchored(self, _batch_id: int) -> None:
        """An anchor batch is on chain: the Batcher's ``on_anchored`` callback."""
        self._anchorer.wake()

    @property
    def last_errors(self) -> dict[str, str]:
        """The last failure of each stage that is failing now (for ``/readyz``): a pass
        that failed as a whole, or the last deposit it had to put off."""
        errors = dict(self._errors)
        for name, worker in zip(("timestamp", "anchor", "certify"), self.workers, strict=True):
            if worker.last_error:
                errors[name] = worker.last_error
        return errors

    @property
    def _stopping(self) -> bool:
        return any(worker.stopping for worker in self.workers)

    def run_once(self) -> int:
        """One pass of every stage, in order; how many deposits moved on."""
        return self.timestamp_pass() + self.anchor_pass() + self.certify_pass()

    def _drain(self, *steps: Callable[[], int]) -> Callable[[], None]:
        """A worker's pass: run ``steps`` again while any of them found a full batch."""

        def work() -> None:
            while True:
                counts = [step() for step in steps]
                if max(counts) < self._batch_size or self._stopping:
                    return

        return work

    def _lease_ending(self, claimed_at: datetime) -> bool:
        """Stop well before a lease runs out, or another process may take the rows over."""
        return self._stopping or self._clock() >= claimed_at + self._lease * 0.75

    # -- received → timestamped -------------------------------------------------------------

    def timestamp_pass(self) -> int:
        claimed_at = self._clock()
        claimed = self._claims.claim(DepositState.RECEIVED, Deposit.sha256, claimed_at)
        results: list[dict[str, Any]] = []
        window = self._timestamp_concurrency
        for start in range(0, len(claimed), window):
            if self._lease_ending(claimed_at):
                self._claims.release([row[0] for row in claimed[start:]])
                break
            chunk = claimed[start : start + window]
            down = False
            for (deposit_id, _), outcome in zip(chunk, self._tokens(chunk), strict=True):
                if isinstance(outcome, Exception):
                    self._failed("timestamp", deposit_id, outcome)
                    down = down or isinstance(outcome, TimestampUnavailable)
                    continue
                results.append(token_values(deposit_id, outcome, self._clock()))
                self._errors.pop("timestamp", None)
            if down:
                # Every authority is down: the others wait for the next pass.
                self._claims.release([row[0] for row in claimed[start + window :]])
                break
        moved = self._claims.finish(DepositState.RECEIVED, DepositState.TIMESTAMPED, results)
        if moved:
            self._anchorer.wake()
        return moved

    def _tokens(self, chunk: list[tuple[str, Any]]) -> list[TimestampToken | Exception]:
        """A token (or the authority's error) for each ``(id, sha256)``, concurrently when
        the authority is external."""
        if len(chunk) == 1:
            return [self._token(bytes(sha256)) for _, sha256 in chunk]
        if self._timestamp_pool is None:
            self._timestamp_pool = ThreadPoolExecutor(
                self._timestamp_concurrency, thread_name_prefix="evidence-tsa"
            )
        futures = [self._timestamp_pool.submit(self._token, bytes(sha256)) for _, sha256 in chunk]
        return [future.result() for future in futures]

    def _token(self, sha256: bytes) -> TimestampToken | Exception:
        try:
            token = self._authority.timestamp(sha256, hash_algorithm=IMPRINT_ALGORITHM)
            check_token(token, sha256)
        except (TimestampUnavailable, TimestampError) as exc:
            return exc
        return token

    # -- timestamped → anchored ---------------------------------------------------------------

    def anchor_pass(self) -> int:
        """Enqueue the anchor items not yet enqueued; how many deposits became anchored."""
        self._enqueue_anchors()
        return self._collect_anchored()

    def _enqueue_anchors(self) -> int:
        with self._sessions() as session, session.begin():
            rows = session.execute(
                select(Deposit.id, Deposit.sha256)
                .where(Deposit.state == DepositState.TIMESTAMPED, Deposit.anchor_item_id.is_(None))
                .order_by(Deposit.received_at)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            leaves = [anchor_leaf(bytes(sha256)) for _, sha256 in rows]
            item_ids = self._queue.enqueue_many(leaves, ANCHOR_KIND, session)
            session.execute(
                update(_DEPOSITS)
                .where(_DEPOSITS.c.id == bindparam("_id"), _DEPOSITS.c.anchor_item_id.is_(None))
                .values(anchor_item_id=bindparam("_item")),
                [
                    {"_id": deposit_id, "_item": item_id}
                    for (deposit_id, _), item_id in zip(rows, item_ids, strict=True)
                ],
            )
        return len(rows)

    def _collect_anchored(self) -> int:
        with self._sessions() as session, session.begin():
            rows = session.execute(
                select(Deposit.id, AnchorBatch.block_timestamp)
                .join(AnchorItem, AnchorItem.id == Deposit.anchor_item_id)
                .join(AnchorBatch, AnchorBatch.id == AnchorItem.batch_id)
                .where(
                    Deposit.state == DepositState.TIMESTAMPED,
                    AnchorBatch.state == BatchState.ANCHORED,
                )
                .limit(self._batch_size)
            ).all()
            if not rows:
                return 0
            result = session.execute(
                update(_DEPOSITS)
                .where(
                    _DEPOSITS.c.id == bindparam("_id"),
                    _DEPOSITS.c.state == DepositState.TIMESTAMPED,
                )
                .values(
                    state=DepositState.ANCHORED,
                    anchored_at=bindparam("_at"),
                    attempts=0,
                    last_error=None,
                    next_attempt_at=None,
                ),
                [
                    {"_id": deposit_id, "_at": datetime.fromtimestamp(block_time or 0, UTC)}
                    for deposit_id, block_time in rows
                ],
            )
        self._certifier.wake()
        return changed_rows(result, len(rows))

    # -- anchored → certified ---------------------------------------------------------------

    def certify_pass(self) -> int:
        claimed_at = self._clock()
        claimed = self._claims.claim(DepositState.ANCHORED, Deposit.id, claimed_at)
        if not claimed:
            return 0
        with self._sessions() as session:
            deposits = session.scalars(
                select(Deposit).where(Deposit.id.in_([row[0] for row in claimed]))
            ).all()
            work = [(DepositRecord.of(row), stored_token(row)) for row in deposits]
        receipts = self._receipts([r.anchor_item_id for r, _ in work if r.anchor_item_id])
        ready: list[LetterWork] = []
        for record, token in work:
            assert record.anchor_item_id is not None  # ANCHORED invariant
            receipt = receipts.get(record.anchor_item_id)
            if receipt is None:
                missing = EvidenceError(f"anchor item {record.anchor_item_id} has no receipt")
                self._failed("certify", record.id, missing)
                continue
            ready.append((record, token, receipt))
        results = self._letters(ready, claimed_at)
        return self._claims.finish(DepositState.ANCHORED, DepositState.CERTIFIED, results)

    def _letters(self, ready: list[LetterWork], claimed_at: datetime) -> list[dict[str, Any]]:
        """The results of issuing ``ready``'s letters: as one batch when there is a batch
        issuer, else (or when the batch fails) one by one."""
        if (
            self._issue_letters is not None
            and len(ready) > 1
            and not self._lease_ending(claimed_at)
        ):
            try:
                letters = self._issue_letters(ready)
                if len(letters) != len(ready):
                    raise EvidenceError(f"{len(letters)} letters issued for {len(ready)} deposits")
            except Exception:  # the issuer is injected: find the failing deposit one by one
                log.warning("custody letters not issued as a batch", extra={"count": len(ready)})
            else:
                self._errors.pop("certify", None)
                return [
                    {"id": record.id, "letter": letter, "certified_at": self._clock()}
                    for (record, _, _), letter in zip(ready, letters, strict=True)
                ]
        results: list[dict[str, Any]] = []
        for index, (record, token, receipt) in enumerate(ready):
            if self._lease_ending(claimed_at):
                self._claims.release([r.id for r, _, _ in ready[index:]])
                break
            try:
                letter = self._letter(record, token, receipt)
            except Exception as exc:  # the issuer is injected: any failure waits for a retry
                log.warning("custody letter not issued", extra={"deposit": record.id})
                self._failed("certify", record.id, exc)
                continue
            self._errors.pop("certify", None)
            results.append({"id": record.id, "letter": letter, "certified_at": self._clock()})
        return results

    def _letter(
        self, record: DepositRecord, token: TimestampToken, receipt: AnchorReceipt
    ) -> dict[str, Any]:
        if self._issue_letter is not None:
            return self._issue_letter(record, token, receipt)
        assert self._issue_letters is not None  # one of the two is required
        letters = self._issue_letters([(record, token, receipt)])
        if len(letters) != 1:
            raise EvidenceError(f"{len(letters)} letters issued for one deposit")
        return letters[0]

    def _receipts(self, item_ids: list[int]) -> dict[int, AnchorReceipt]:
        """The receipts of anchored items, by item id.

        A batch the items are a good part of is read whole with
        :meth:`AnchorQueue.batch_receipts` (one query, audit paths built incrementally);
        a few items of a large batch are read one by one.
        """
        with self._sessions() as session:
            rows = session.execute(
                select(AnchorItem.id, AnchorBatch.id, AnchorBatch.size)
                .join(AnchorBatch, AnchorBatch.id == AnchorItem.batch_id)
                .where(AnchorItem.id.in_(item_ids), AnchorBatch.state == BatchState.ANCHORED)
            ).all()
        wanted: dict[int, set[int]] = {}
        sizes: dict[int, int] = {}
        for item_id, batch_id, size in rows:
            wanted.setdefault(batch_id, set()).add(item_id)
            sizes[batch_id] = size
        receipts: dict[int, AnchorReceipt] = {}
        for batch_id, items in wanted.items():
            if sizes[batch_id] <= len(items) * _WHOLE_BATCH_FACTOR:
                missing = set(items)
                for item_id, receipt in self._queue.batch_receipts(batch_id):
                    if item_id in missing:
                        receipts[item_id] = receipt
                        missing.discard(item_id)
                        if not missing:
                            break
                continue
            for item_id in items:
                one = self._queue.receipt(item_id)
                if one is not None:
                    receipts[item_id] = one
        return receipts

    def _failed(self, stage: str, deposit_id: str, exc: Exception) -> None:
        self._errors[stage] = self._claims.fail(deposit_id, exc)


def _answers_in_process(authority: TimestampAuthority) -> bool:
    """Whether tokens come from the embedded TSA (first in line, for a fail-over client)."""
    if isinstance(authority, TimestampClient):
        authority = authority.authorities[0]
    return isinstance(authority, EmbeddedTimestampAuthority)
