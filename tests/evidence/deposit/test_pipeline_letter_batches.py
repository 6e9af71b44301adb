"""The certify stage with a batch letter issuer, as the hub wires it.

Letters are issued by the real :class:`CredentialIssuer` with status lists (one
allocation and one publication per claimed batch); a batch that fails is issued
again letter by letter, so only the bad deposit waits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.receipt import AnchorReceipt
from credentials.data_integrity.proofs import SUITES
from credentials.issuer import CredentialIssuer, NotarySigner
from credentials.verifier import Verifier
from evidence.deposit.letter import build_custody_letter
from evidence.deposit.models import Deposit, DepositRecord, DepositState
from evidence.deposit.pipeline import EvidencePipeline
from evidence.deposit.request import DepositMetadata
from evidence.deposit.service import DepositService
from evidence.errors import EvidenceError
from evidence.principal import Principal
from evidence.timestamping import EmbeddedTimestampAuthority, TimestampToken
from tests.credentials.status_helpers import make_service
from tests.evidence.deposit.test_pipeline import make_batcher, queue, states, tsa
from tests.evidence.deposit_support import alice, blobs, service
from tests.fixtures.notary_world import NotaryWorld

__all__ = ["alice", "blobs", "queue", "service", "tsa"]  # fixtures, used by name below

Work = tuple[DepositRecord, TimestampToken, AnchorReceipt]


class BatchIssuer:
    """The hub's batch issuer: deterministic letter ids, one ``issue_many`` per call."""

    def __init__(self, issuer: CredentialIssuer, *, refuse: set[str] | None = None) -> None:
        self.issuer = issuer
        self.calls: list[int] = []
        self.refuse = refuse or set()

    def __call__(self, work: Sequence[Work]) -> list[dict[str, Any]]:
        self.calls.append(len(work))
        if any(record.id in self.refuse for record, _, _ in work):
            raise EvidenceError("refused")
        letters = [
            build_custody_letter(
                record,
                token,
                receipt,
                issuer=self.issuer.did,
                credential_id=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, record.id)}",
            )
            for record, token, receipt in work
        ]
        issued = self.issuer.issue_many(letters, status_purposes=("revocation",))
        return [one.credential for one in issued]


@pytest.fixture
def issuer(sessions: sessionmaker[Session], notary_world: NotaryWorld) -> CredentialIssuer:
    chain = notary_world.chain
    signer = NotarySigner(
        notary_world.notary,
        suite=SUITES["eddsa-rdfc-2022"],
        chain_time=lambda: chain.get_block("latest").timestamp,
    )
    return CredentialIssuer(signer, status=make_service(sessions, notary_world))


def deposited_and_anchored(
    stages: EvidencePipeline,
    service: DepositService,
    owner: Principal,
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    world: NotaryWorld,
    count: int,
) -> list[str]:
    ids = [
        service.deposit_file(owner, DepositMetadata(title=f"d{n}"), [f"content {n}".encode()]).id
        for n in range(count)
    ]
    assert stages.timestamp_pass() == count
    stages.anchor_pass()
    make_batcher(sessions, queue, world).run_once()
    assert stages.anchor_pass() == count
    return ids


def test_a_claimed_batch_is_certified_with_one_issue(
    sessions: sessionmaker[Session],
    service: DepositService,
    queue: AnchorQueue,
    tsa: EmbeddedTimestampAuthority,
    notary_world: NotaryWorld,
    alice: Principal,
    issuer: CredentialIssuer,
) -> None:
    batch = BatchIssuer(issuer)
    stages = EvidencePipeline(sessions, tsa, queue, issue_letters=batch, interval=0.05)
    ids = deposited_and_anchored(stages, service, alice, sessions, queue, notary_world, 5)
    height = notary_world.chain.block_number()
    assert stages.certify_pass() == 5
    assert batch.calls == [5]
    assert notary_world.chain.block_number() == height + 1  # one status list publication
    assert set(states(sessions).values()) == {DepositState.CERTIFIED}
    verifier = Verifier(notary_world.resolver, chain=notary_world.chain)
    entries = set()
    for deposit_id in ids:
        letter = service.credential(alice, deposit_id)
        assert letter["credentialSubject"]["depositId"] == deposit_id
        assert verifier.verify_credential(letter).verified
        entries.add(letter["credentialStatus"]["id"])
    assert len(entries) == 5


def test_a_failing_batch_is_issued_one_by_one(
    sessions: sessionmaker[Session],
    service: DepositService,
    queue: AnchorQueue,
    tsa: EmbeddedTimestampAuthority,
    notary_world: NotaryWorld,
    alice: Principal,
    issuer: CredentialIssuer,
) -> None:
    batch = BatchIssuer(issuer)
    stages = EvidencePipeline(
        sessions, tsa, queue, issue_letters=batch, interval=0.05, retry_base=0.0
    )
    ids = deposited_and_anchored(stages, service, alice, sessions, queue, notary_world, 4)
    batch.refuse = {ids[1]}
    assert stages.certify_pass() == 3
    assert batch.calls == [4, 1, 1, 1, 1]  # the batch, then each letter alone
    assert states(sessions)[ids[1]] == DepositState.ANCHORED
    batch.refuse = set()
    assert stages.certify_pass() == 1
    assert set(states(sessions).values()) == {DepositState.CERTIFIED}
    assert "certify" not in stages.last_errors
    with sessions() as session:
        letters = session.scalars(select(Deposit.letter)).all()
    assert len({letter["credentialStatus"]["id"] for letter in letters if letter}) == 4


def test_a_pipeline_needs_an_issuer(
    sessions: sessionmaker[Session], queue: AnchorQueue, tsa: EmbeddedTimestampAuthority
) -> None:
    with pytest.raises(EvidenceError, match="letter issuer"):
        EvidencePipeline(sessions, tsa, queue)
