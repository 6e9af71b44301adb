"""Deposits anchored → certified: the custody letter, signed and stored with the state.

Letters are issued through ``issue_letters``, a whole claimed batch at once (one status
allocation and one list publication for all), or one by one through ``issue_letter``; a
batch that fails is retried letter by letter, so one bad deposit only holds back itself.
Each letter is stored in the same statement that marks its deposit ``certified``. The
anchor receipts come from the queue (:meth:`AnchorQueue.receipts`), never from its tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.receipt import AnchorReceipt
from evidence.deposit.claims import DepositClaims
from evidence.deposit.models import Deposit, DepositRecord, DepositState
from evidence.deposit.tokens import stored_token
from evidence.errors import EvidenceError
from evidence.metrics import DEPOSIT_CERTIFIED_SECONDS
from evidence.timestamping.protocol import TimestampToken

log = logging.getLogger(__name__)

IssueLetter = Callable[[DepositRecord, TimestampToken, AnchorReceipt], dict[str, Any]]
LetterWork = tuple[DepositRecord, TimestampToken, AnchorReceipt]
IssueLetters = Callable[[Sequence[LetterWork]], list[dict[str, Any]]]


class CertifyStage:
    name = "certify"

    def __init__(
        self,
        sessions: sessionmaker[Session],
        queue: AnchorQueue,
        claims: DepositClaims,
        *,
        issue_letter: IssueLetter | None,
        issue_letters: IssueLetters | None,
        clock: Callable[[], datetime],
        lease_ending: Callable[[datetime], bool],
        extra_receipts: ExtraReceipts | None = None,
    ) -> None:
        """With ``extra_receipts``, a deposit waits (its claim given back) until its root
        is anchored on every extra chain: the ``wait`` policy of issue 16."""
        if issue_letter is None and issue_letters is None:
            raise EvidenceError("the pipeline needs a custody letter issuer")
        self._sessions = sessions
        self._queue = queue
        self._claims = claims
        self._issue_letter = issue_letter
        self._issue_letters = issue_letters
        self._clock = clock
        self._lease_ending = lease_ending
        self._wait_for = extra_receipts
        self.last_error: str | None = None

    def run_pass(self) -> int:
        claimed_at = self._clock()
        claimed = self._claims.claim(DepositState.ANCHORED, Deposit.id, claimed_at)
        if not claimed:
            return 0
        with self._sessions() as session:
            deposits = session.scalars(
                select(Deposit).where(Deposit.id.in_([row[0] for row in claimed]))
            ).all()
            work = [(DepositRecord.of(row), stored_token(row)) for row in deposits]
        receipts = self._queue.receipts([r.anchor_item_id for r, _ in work if r.anchor_item_id])
        ready: list[LetterWork] = []
        for record, token in work:
            assert record.anchor_item_id is not None  # ANCHORED invariant
            receipt = receipts.get(record.anchor_item_id)
            if receipt is None:
                missing = EvidenceError(f"anchor item {record.anchor_item_id} has no receipt")
                self._failed(record.id, missing)
                continue
            ready.append((record, token, receipt))
        results = self._letters(self._anchored_everywhere(ready), claimed_at)
        moved = self._claims.finish(DepositState.ANCHORED, DepositState.CERTIFIED, results)
        if moved == len(results):  # else some were another process's by now: it observes them
            received = {record.id: record.received_at for record, _ in work}
            for result in results:
                waited = (result["certified_at"] - received[result["id"]]).total_seconds()
                DEPOSIT_CERTIFIED_SECONDS.observe(max(0.0, waited))
        return moved

    def _anchored_everywhere(self, ready: list[LetterWork]) -> list[LetterWork]:
        """Under the ``wait`` policy, the deposits anchored on every extra chain; the others'
        claims are given back, to be taken again on a later pass."""
        if self._wait_for is None or not ready:
            return ready
        extras = self._wait_for.receipts([receipt for _, _, receipt in ready])
        complete = [self._wait_for.complete(more) for more in extras]
        self._claims.release([w[0].id for w, done in zip(ready, complete, strict=True) if not done])
        return [work for work, done in zip(ready, complete, strict=True) if done]

    def _letters(self, ready: list[LetterWork], claimed_at: datetime) -> list[dict[str, Any]]:
        """The results of issuing ``ready``'s letters: as one batch when there is a batch
        issuer, else (or when the batch fails) one by one."""
        batched = self._issue_letters is not None and len(ready) > 1
        if batched and not self._lease_ending(claimed_at):
            assert self._issue_letters is not None
            batch = self._batch(self._issue_letters, ready)
            if batch is not None:
                return batch
        results: list[dict[str, Any]] = []
        for index, (record, token, receipt) in enumerate(ready):
            if self._lease_ending(claimed_at):
                self._claims.release([r.id for r, _, _ in ready[index:]])
                break
            try:
                letter = self._letter(record, token, receipt)
            except Exception as exc:  # the issuer is injected: any failure waits for a retry
                log.warning("custody letter not issued", extra={"deposit": record.id})
                self._failed(record.id, exc)
                continue
            self.last_error = None
            results.append({"id": record.id, "letter": letter, "certified_at": self._clock()})
        return results

    def _batch(
        self, issue_letters: IssueLetters, ready: list[LetterWork]
    ) -> list[dict[str, Any]] | None:
        try:
            letters = issue_letters(ready)
            if len(letters) != len(ready):
                raise EvidenceError(f"{len(letters)} letters issued for {len(ready)} deposits")
        except Exception:  # the issuer is injected: find the failing deposit one by one
            log.warning("custody letters not issued as a batch", extra={"count": len(ready)})
            return None
        self.last_error = None
        return [
            {"id": record.id, "letter": letter, "certified_at": self._clock()}
            for (record, _, _), letter in zip(ready, letters, strict=True)
        ]

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

    def _failed(self, deposit_id: str, exc: Exception) -> None:
        self.last_error = self._claims.fail(deposit_id, exc)
