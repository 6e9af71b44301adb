"""The deposit pipeline end to end: the embedded TSA, the embedded chain with a real
AnchorQueue and Batcher, and custody letters signed with the notary's DID key; on
SQLite and PostgreSQL. Kills are reproduced by stopping a pass with an exception that
is not an error (``SystemExit``) between its steps, and letting a fresh pipeline resume.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.anchoring.verify import verify_receipt
from chain_adapter.errors import ChainError
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.models import AnchorItem
from chain_adapter.rpc_router import rpc_router
from chain_adapter.rpc_server import RpcServer
from chain_adapter.transactor import Transactor
from credentials.data_integrity.proofs import SigningKey, add_proof, verify_proof
from evidence.deposit.letter import build_custody_letter
from evidence.deposit.models import Deposit, DepositRecord, DepositState
from evidence.deposit.pipeline import EvidencePipeline, IssueLetter
from evidence.deposit.request import DepositMetadata
from evidence.deposit.service import DepositService
from evidence.digests import SHA256, digest_multibase
from evidence.principal import Principal
from evidence.timestamping import (
    EmbeddedTimestampAuthority,
    HttpTimestampAuthority,
    TimestampClient,
    TimestampToken,
    TsaKeyMaterial,
    verify_token,
)
from hub_kernel.keystore import MemoryKeyStore
from testkit.serving import serve_app
from testkit.waiting import wait_until
from tests.evidence.deposit_support import alice, blobs, bob, service
from tests.fixtures.hardhat import free_port
from tests.fixtures.notary_world import NotaryWorld

__all__ = ["alice", "blobs", "bob", "service"]  # fixtures, used by name below


class Counting:
    """A real authority, counting the tokens it issues per digest."""

    def __init__(self, inner: Any, *, kill_after: int | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[bytes] = []
        self.kill_after = kill_after
        self._lock = threading.Lock()

    def timestamp(
        self, digest: bytes, *, hash_algorithm: str = "sha256", nonce: int | None = None
    ) -> TimestampToken:
        with self._lock:
            if self.kill_after is not None and len(self.calls) >= self.kill_after:
                raise SystemExit("killed")
            self.calls.append(digest)
        token: TimestampToken = self.inner.timestamp(digest, hash_algorithm=hash_algorithm)
        return token


class Issuer:
    """The notary's issuer: the custody letter signed eddsa-rdfc-2022 with its DID key."""

    def __init__(self, world: NotaryWorld, *, kill_after: int | None = None) -> None:
        self.world = world
        self.issued: list[str] = []
        self.kill_after = kill_after
        self._lock = threading.Lock()

    def __call__(
        self, record: DepositRecord, token: TimestampToken, receipt: AnchorReceipt
    ) -> dict[str, Any]:
        with self._lock:
            if self.kill_after is not None and len(self.issued) >= self.kill_after:
                raise SystemExit("killed")
            self.issued.append(record.id)
        letter = build_custody_letter(record, token, receipt, issuer=self.world.notary.did)
        fragment, private_key = self.world.notary.current_signing_key()
        key = SigningKey(f"{self.world.notary.did}#{fragment}", private_key)
        return add_proof(letter, suite="eddsa-rdfc-2022", key=key)


@pytest.fixture
def tsa(tmp_path: Path) -> EmbeddedTimestampAuthority:
    return EmbeddedTimestampAuthority(TsaKeyMaterial.load_or_create(MemoryKeyStore(), tmp_path))


@pytest.fixture
def queue(sessions: sessionmaker[Session]) -> AnchorQueue:
    return AnchorQueue(sessions)


def make_batcher(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    world: NotaryWorld,
    transactor: Transactor | None = None,
    on_anchored: Callable[[int], None] | None = None,
) -> Batcher:
    return Batcher(
        sessions,
        queue,
        transactor or world.transactor,
        world.deployment.anchor_registry,
        max_items=1000,
        interval=0.05,
        on_anchored=on_anchored,
    )


def pipeline(
    sessions: sessionmaker[Session],
    authority: Any,
    queue: AnchorQueue,
    issue: IssueLetter,
    **kwargs: Any,
) -> EvidencePipeline:
    return EvidencePipeline(sessions, authority, queue, issue, interval=0.05, **kwargs)


def states(sessions: sessionmaker[Session]) -> dict[str, DepositState]:
    with sessions() as session:
        return {row[0]: row[1] for row in session.execute(select(Deposit.id, Deposit.state))}


def anchor_item_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AnchorItem)) or 0)


def deposit_some(service: DepositService, alice: Principal, bob: Principal) -> list[bytes]:
    shared = os.urandom(20_000)
    contents = [shared, os.urandom(1000), shared]
    service.deposit_file(alice, DepositMetadata(title="A", tags=("x",)), [contents[0]])
    service.deposit_file(alice, DepositMetadata(file_name="b.bin"), [contents[1]])
    service.deposit_file(bob, DepositMetadata(title="shared"), [contents[2]])
    digest_only = hashlib.sha256(b"kept by the platform").digest()
    service.deposit_digest(bob, DepositMetadata(title="digest"), sha256=digest_only)
    return [hashlib.sha256(c).digest() for c in contents] + [digest_only]


def test_deposits_are_certified_with_letters_that_verify(
    sessions: sessionmaker[Session],
    service: DepositService,
    queue: AnchorQueue,
    tsa: EmbeddedTimestampAuthority,
    notary_world: NotaryWorld,
    alice: Principal,
    bob: Principal,
) -> None:
    digests = deposit_some(service, alice, bob)
    issuer = Issuer(notary_world)
    stages = pipeline(sessions, tsa, queue, issuer)
    assert stages.timestamp_pass() == 4
    assert stages.anchor_pass() == 0  # enqueued, not anchored yet
    assert stages.anchor_pass() == 0 and anchor_item_count(sessions) == 4  # never twice
    make_batcher(sessions, queue, notary_world).run_once()
    assert stages.run_once() == 8  # anchored, then certified
    assert set(states(sessions).values()) == {DepositState.CERTIFIED}
    assert stages.run_once() == 0 and len(issuer.issued) == 4 and anchor_item_count(sessions) == 4

    head = notary_world.chain.get_block("latest").timestamp
    with sessions() as session:
        rows = session.scalars(select(Deposit).order_by(Deposit.received_at)).all()
    assert sorted(bytes(r.sha256) for r in rows) == sorted(digests)
    for row in rows:
        owner = alice if row.depositor == alice.did else bob
        letter = service.credential(owner, row.id)
        checked = verify_proof(
            letter, resolver=notary_world.resolver, expected_purpose="assertionMethod", at=head
        )
        assert checked.verified, checked.errors
        subject = letter["credentialSubject"]
        assert subject["id"] == row.depositor and subject["depositId"] == row.id
        assert subject["digestMultibase"] == digest_multibase(SHA256, bytes(row.sha256))
        assert subject["contentStored"] is row.content_stored
        stamp, anchor = letter["evidence"]
        verified = verify_token(_unmultibase(stamp["timeStampToken"]), bytes(row.sha256))
        assert verified.serial_number == int(stamp["serialNumber"])
        receipt = AnchorReceipt.from_json(anchor["anchorReceipt"])
        assert receipt.leaf == bytes(row.sha256) and receipt.kind == "deposit"
        assert verify_receipt(receipt, notary_world.chain).valid
        record = service.get(owner, row.id)
        assert record.certified_at is not None and record.anchored_at is not None


def _unmultibase(value: str) -> bytes:
    assert value.startswith("u")
    return base64.urlsafe_b64decode(value[1:] + "=" * (-len(value[1:]) % 4))


def test_a_killed_process_resumes_without_duplicates(
    sessions: sessionmaker[Session],
    service: DepositService,
    queue: AnchorQueue,
    tsa: EmbeddedTimestampAuthority,
    notary_world: NotaryWorld,
    alice: Principal,
    bob: Principal,
) -> None:
    deposit_some(service, alice, bob)
    now = [datetime.now(UTC)]
    clock = lambda: now[0]  # noqa: E731
    dying_tsa = Counting(tsa, kill_after=2)
    first = pipeline(
        sessions, dying_tsa, queue, Issuer(notary_world), lease_seconds=30, clock=clock
    )
    with pytest.raises(SystemExit):
        first.timestamp_pass()  # killed after two tokens, before writing any
    assert set(states(sessions).values()) == {DepositState.RECEIVED}

    tokens = Counting(tsa)
    dying_issuer = Issuer(notary_world, kill_after=1)
    second = pipeline(sessions, tokens, queue, dying_issuer, lease_seconds=30, clock=clock)
    assert second.timestamp_pass() == 0  # the dead process's lease still holds
    now[0] += timedelta(seconds=31)
    assert second.timestamp_pass() == 4 and len(tokens.calls) == 4
    second.anchor_pass()
    make_batcher(sessions, queue, notary_world).run_once()
    with pytest.raises(SystemExit):
        second.run_once()  # anchored, then killed while issuing letters
    assert set(states(sessions).values()) == {DepositState.ANCHORED}

    issuer = Issuer(notary_world)
    third = pipeline(sessions, tokens, queue, issuer, lease_seconds=30, clock=clock)
    assert third.run_once() == 0
    now[0] += timedelta(seconds=31)
    assert third.run_once() == 4
    assert set(states(sessions).values()) == {DepositState.CERTIFIED}
    assert len(tokens.calls) == 4 and anchor_item_count(sessions) == 4
    assert sorted(issuer.issued) == sorted(states(sessions))


def test_two_processes_share_the_work_without_doing_any_twice(
    sessions: sessionmaker[Session],
    service: DepositService,
    queue: AnchorQueue,
    tsa: EmbeddedTimestampAuthority,
    notary_world: NotaryWorld,
    alice: Principal,
) -> None:
    for index in range(40):
        service.deposit_digest(
            alice, DepositMetadata(), sha256=hashlib.sha256(b"%d" % index).digest()
        )
    tokens, issuer = Counting(tsa), Issuer(notary_world)
    pipelines = [pipeline(sessions, tokens, queue, issuer, batch_size=7) for _ in range(2)]

    def anchored(batch: int) -> None:
        for stages in pipelines:
            stages.on_batch_anchored(batch)

    batcher = make_batcher(sessions, queue, notary_world, on_anchored=anchored)
    for stages in pipelines:
        stages.start()
    batcher.start()
    try:
        wait_until(
            lambda: set(states(sessions).values()) == {DepositState.CERTIFIED},
            timeout=60,
            interval=0.1,
            message=lambda: f"not all certified: {states(sessions)}",
        )
    finally:
        for stages in pipelines:
            stages.stop()
        batcher.stop()
    assert len(tokens.calls) == 40 and len(set(tokens.calls)) == 40
    assert sorted(issuer.issued) == sorted(states(sessions))
    assert anchor_item_count(sessions) == 40


def test_a_timestamp_authority_that_is_down_is_retried_and_fallen_back_from(
    sessions: sessionmaker[Session],
    service: DepositService,
    queue: AnchorQueue,
    tsa: EmbeddedTimestampAuthority,
    notary_world: NotaryWorld,
    alice: Principal,
) -> None:
    down = HttpTimestampAuthority(f"http://127.0.0.1:{free_port()}/tsa", timeout=1)
    first = service.deposit_digest(alice, DepositMetadata(), sha256=hashlib.sha256(b"1").digest())
    now = [datetime.now(UTC)]
    waiting = pipeline(
        sessions,
        TimestampClient([down], retries=0),
        queue,
        Issuer(notary_world),
        clock=lambda: now[0],
        retry_base=10,
    )
    assert waiting.timestamp_pass() == 0
    record = service.get(alice, first.id)
    assert record.state is DepositState.RECEIVED and record.attempts == 1
    assert record.last_error is not None and "timestamp_unavailable" in record.last_error
    assert "timestamp_unavailable" in waiting.last_errors["timestamp"]
    now[0] += timedelta(seconds=5)
    assert waiting.timestamp_pass() == 0 and service.get(alice, first.id).attempts == 1  # backoff
    now[0] += timedelta(seconds=6)
    assert waiting.timestamp_pass() == 0 and service.get(alice, first.id).attempts == 2

    fallback = pipeline(
        sessions,
        TimestampClient([down, tsa], retries=0),
        queue,
        Issuer(notary_world),
        clock=lambda: now[0] + timedelta(minutes=5),
    )
    assert fallback.timestamp_pass() == 1
    record = service.get(alice, first.id)
    assert record.state is DepositState.TIMESTAMPED and record.tsa == tsa.name
    assert record.attempts == 0 and record.last_error is None
    assert fallback.last_errors == {}
    down.close()


@contextmanager
def served_chain(world: NotaryWorld, port: int) -> Iterator[None]:
    """The embedded chain's JSON-RPC on ``port`` (sending allowed), until the block exits."""
    server_impl = RpcServer(world.chain, allow_send_raw=True)
    app = FastAPI()
    app.include_router(rpc_router(lambda: server_impl))
    with serve_app(app, port=port, reuse_address=True):
        yield


def test_deposits_wait_while_the_chain_is_down_and_certify_when_it_returns(
    sessions: sessionmaker[Session],
    service: DepositService,
    queue: AnchorQueue,
    tsa: EmbeddedTimestampAuthority,
    notary_world: NotaryWorld,
    alice: Principal,
    bob: Principal,
) -> None:
    port = free_port()
    with served_chain(notary_world, port):
        remote = JsonRpcChain.connect(f"http://127.0.0.1:{port}/rpc", timeout=2, retries=0)
    deposit_some(service, alice, bob)
    stages = pipeline(sessions, tsa, queue, Issuer(notary_world))
    transactor = Transactor(remote, notary_world.node, receipt_timeout=10, poll_interval=0.01)
    batcher = make_batcher(sessions, queue, notary_world, transactor)
    stages.run_once()
    with pytest.raises(ChainError):
        batcher.run_once()  # the node is down
    assert stages.run_once() == 0
    assert set(states(sessions).values()) == {DepositState.TIMESTAMPED}
    with served_chain(notary_world, port):
        batcher.run_once()
        assert stages.run_once() == 8
    assert set(states(sessions).values()) == {DepositState.CERTIFIED}
    remote.close()
