"""The deposit pipeline: received → timestamped → anchored → certified, in the background.

Three stages, one module each, run by :class:`evidence.stages.Stages` (a worker each):

- **timestamp** (:mod:`evidence.deposit.timestamp_stage`): an RFC 3161 token over the
  content's SHA-256;
- **anchor** (:mod:`evidence.deposit.anchor_stage`): the SHA-256 into the batch
  anchorer, ``anchored`` once its batch is on chain;
- **certify** (:mod:`evidence.deposit.certify_stage`): the custody letter, stored with
  the ``certified`` state.

Every step is idempotent, so a process killed anywhere resumes without duplicates.
Steps that call out (the TSA, the letter issuer) first claim their rows with a lease
(:mod:`evidence.deposit.claims`), work outside any transaction, then write their
results only to rows still theirs and still in the state they found. A killed
process's claims lapse after ``lease_seconds``; a stage stops working a claim at three
quarters of its lease.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.queue import AnchorQueue
from evidence.deposit.anchor_stage import ANCHOR_KIND, AnchorStage, anchor_leaf
from evidence.deposit.certify_stage import CertifyStage, IssueLetter, IssueLetters, LetterWork
from evidence.deposit.claims import DepositClaims
from evidence.deposit.timestamp_stage import TimestampStage
from evidence.stages import Stages
from evidence.timestamping.protocol import TimestampAuthority

__all__ = [
    "ANCHOR_KIND",
    "EvidencePipeline",
    "IssueLetter",
    "IssueLetters",
    "LetterWork",
    "anchor_leaf",
]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EvidencePipeline:
    """The deposit service's three stages over one lease-holding claim table."""

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
        wait_for_extra: ExtraReceipts | None = None,
    ) -> None:
        self._lease = timedelta(seconds=lease_seconds)
        self._clock = clock
        self.owner = secrets.token_hex(8)  # this process's name on its claims
        claims = DepositClaims(
            sessions,
            owner=self.owner,
            batch_size=batch_size,
            lease=self._lease,
            retry_base=retry_base,
            retry_max=retry_max,
            clock=clock,
        )
        self._certify = CertifyStage(
            sessions,
            queue,
            claims,
            issue_letter=issue_letter,
            issue_letters=issue_letters,
            clock=clock,
            lease_ending=self._lease_ending,
            extra_receipts=wait_for_extra,
        )
        self._timestamp = TimestampStage(
            claims,
            authority,
            concurrency=timestamp_concurrency,
            clock=clock,
            lease_ending=self._lease_ending,
        )
        self._anchor = AnchorStage(
            sessions, queue, batch_size=batch_size, stopping=lambda: self._stages.stopping
        )
        self._stages = Stages(
            "evidence",
            [self._timestamp, self._anchor, self._certify],
            batch_size=batch_size,
            interval=interval,
        )
        self.workers = tuple(self._stages.workers)

    def start(self, stages: Collection[str] | None = None) -> None:
        """Run the stages named (``timestamp``, ``anchor``, ``certify``; all by default)."""
        self._stages.start(stages)

    def stop(self) -> None:
        self._stages.stop()
        self._timestamp.close()

    def wake(self) -> None:
        """New deposits: :meth:`DepositService.subscribe` this."""
        self._stages.wake("timestamp")

    def on_batch_anchored(self, _batch_id: int) -> None:
        """An anchor batch is on chain: the Batcher's ``on_anchored`` callback."""
        self._stages.wake("anchor")

    @property
    def last_errors(self) -> dict[str, str]:
        """The last failure of each stage that is failing now (for ``/readyz``)."""
        return self._stages.last_errors

    def persistent_errors(self, *, passes: int, seconds: float) -> dict[str, str]:
        """The stages failing repeatedly (:meth:`Stages.persistent_errors`): not ready."""
        return self._stages.persistent_errors(passes=passes, seconds=seconds)

    def run_once(self) -> int:
        """One pass of every stage, in order; how many deposits moved on."""
        return self._stages.run_once()

    def timestamp_pass(self) -> int:
        return self._stages.run_pass(0)

    def anchor_pass(self) -> int:
        return self._stages.run_pass(1)

    def certify_pass(self) -> int:
        return self._stages.run_pass(2)

    def _lease_ending(self, claimed_at: datetime) -> bool:
        """Stop well before a lease runs out, or another process may take the rows over."""
        return self._stages.stopping or self._clock() >= claimed_at + self._lease * 0.75
