"""The pipeline's batched reads on SQLite and PostgreSQL: a letter carries the receipt the
anchor queue gives for its item, whether its batch's receipts were read whole or one by
one; the embedded TSA is asked in a loop, an external authority concurrently."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.queue import AnchorQueue
from evidence.deposit.models import Deposit, DepositState
from evidence.deposit.request import DepositMetadata
from evidence.deposit.service import DepositService
from evidence.principal import Principal
from evidence.timestamping import (
    EmbeddedTimestampAuthority,
    TimestampClient,
    TimestampToken,
    TsaKeyMaterial,
)
from hub_kernel.keystore import MemoryKeyStore
from tests.evidence.deposit.test_pipeline import Issuer, make_batcher, pipeline, queue, tsa
from tests.evidence.deposit_support import alice, blobs, service
from tests.fixtures.notary_world import NotaryWorld

__all__ = ["alice", "blobs", "queue", "service", "tsa"]  # fixtures, used by name below


def _deposit(service: DepositService, alice: Principal, count: int) -> None:
    for index in range(count):
        digest = hashlib.sha256(b"batch %d" % index).digest()
        service.deposit_digest(alice, DepositMetadata(title=str(index)), sha256=digest)


@pytest.mark.parametrize("claim", [2, 12], ids=["few-of-a-batch", "whole-batch"])
def test_letters_carry_the_queues_receipts(
    claim: int,
    sessions: sessionmaker[Session],
    service: DepositService,
    queue: AnchorQueue,
    tsa: EmbeddedTimestampAuthority,
    notary_world: NotaryWorld,
    alice: Principal,
) -> None:
    _deposit(service, alice, 12)
    stages = pipeline(sessions, tsa, queue, Issuer(notary_world), batch_size=claim)
    while stages.timestamp_pass():
        pass
    for _ in range(12 // claim):
        stages.anchor_pass()  # enqueues a claim's worth of anchor items
    make_batcher(sessions, queue, notary_world).run_once()  # one anchor batch of 12
    while stages.run_once():
        pass
    with sessions() as session:
        rows = session.execute(select(Deposit.state, Deposit.anchor_item_id, Deposit.letter)).all()
    assert len(rows) == 12 and {row.state for row in rows} == {DepositState.CERTIFIED}
    for row in rows:
        expected = queue.receipt(row.anchor_item_id)
        assert expected is not None
        assert row.letter["evidence"][1]["anchorReceipt"] == expected.to_json()


class SlowAuthority:
    """A real authority that answers after a delay, like one across a network."""

    def __init__(self, inner: EmbeddedTimestampAuthority, delay: float) -> None:
        self.inner = inner
        self.name = "slow"
        self.delay = delay
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def timestamp(
        self, digest: bytes, *, hash_algorithm: str = "sha256", nonce: int | None = None
    ) -> TimestampToken:
        with self._lock:
            self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        return self.inner.timestamp(digest, hash_algorithm=hash_algorithm)


def test_an_external_authority_is_asked_concurrently_the_embedded_one_in_a_loop(
    sessions: sessionmaker[Session],
    service: DepositService,
    queue: AnchorQueue,
    tsa: EmbeddedTimestampAuthority,
    notary_world: NotaryWorld,
    alice: Principal,
    tmp_path: Path,
) -> None:
    _deposit(service, alice, 16)
    slow = SlowAuthority(tsa, delay=0.2)
    stages = pipeline(sessions, TimestampClient([slow]), queue, Issuer(notary_world))
    started = time.monotonic()
    assert stages.timestamp_pass() == 16
    assert time.monotonic() - started < 16 * 0.2 / 2  # 8 at a time, not one by one
    assert len(slow.threads) > 1
    stages.stop()

    _deposit(service, alice, 16)
    recording = RecordingTsa(TsaKeyMaterial.load_or_create(MemoryKeyStore(), tmp_path / "own"))
    first_in_line = TimestampClient([recording, slow])
    assert pipeline(sessions, first_in_line, queue, Issuer(notary_world)).timestamp_pass() == 16
    assert recording.threads == {threading.get_ident()}


class RecordingTsa(EmbeddedTimestampAuthority):
    """The embedded TSA, noting the threads it is called on."""

    threads: set[int]

    def timestamp(self, digest: bytes, **options: Any) -> TimestampToken:
        self.__dict__.setdefault("threads", set()).add(threading.get_ident())
        return super().timestamp(digest, **options)
