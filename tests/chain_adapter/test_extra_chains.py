"""Anchoring on an extra chain (issue 16): two embedded chains, on SQLite and PostgreSQL.

The primary chain (1337) anchors batches; an extra chain (4242) with the hub's own
AnchorRegistry gets each root once, by the batcher's rules: sign and record before
broadcast (a crash in between re-sends the same bytes), a root already there adopted,
bytes whose nonce was taken signed afresh. Crashes are reproduced as in
``test_anchoring``: an anchorer stopped between its steps, a fresh one recovering.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.anchoring.batcher import Batcher, kind_to_bytes32
from chain_adapter.anchoring.extra_chains import ExtraChain, ExtraChainAnchorer
from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.queue import AnchorQueue
from chain_adapter.anchoring.verify import verify_receipt
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import Deployment, deploy_all
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.errors import ContractNotFound
from chain_adapter.extra_anchor_models import ExtraAnchor
from chain_adapter.extra_registry import deploy_anchor_registry
from chain_adapter.models import BatchState
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor

EXTRA_ID = 4242


@pytest.fixture
def node() -> LocalAccount:
    account: LocalAccount = Account.from_key(os.urandom(32))
    return account


@pytest.fixture
def primary(tmp_path: Path, node: LocalAccount) -> Iterator[EmbeddedChain]:
    chain = EmbeddedChain.open(tmp_path / "primary", chain_id=1337, prefund={node.address: 10**24})
    yield chain
    chain.close()


@pytest.fixture
def deployment(primary: EmbeddedChain, node: LocalAccount) -> Deployment:
    return deploy_all(Transactor(primary, node, poll_interval=0.01), organisation_name="Notary")


@pytest.fixture
def extra_dir(tmp_path: Path, node: LocalAccount) -> Path:
    """The extra chain's directory, prefunded; opened by whoever uses it (one opener)."""
    path = tmp_path / "extra"
    EmbeddedChain.open(path, chain_id=EXTRA_ID, prefund={node.address: 10**24}).close()
    return path


def open_extra(path: Path) -> EmbeddedChain:
    return EmbeddedChain.open(path, chain_id=EXTRA_ID)


@pytest.fixture
def registry_address(extra_dir: Path, node: LocalAccount) -> str:
    chain = open_extra(extra_dir)
    try:
        transactor = Transactor(chain, node, poll_interval=0.01)
        return deploy_anchor_registry(transactor, organisation_name="Notary").address
    finally:
        chain.close()


@pytest.fixture
def queue(sessions: sessionmaker[Session]) -> AnchorQueue:
    return AnchorQueue(sessions)


def anchorer(
    sessions: sessionmaker[Session], extra_dir: Path, node: LocalAccount, registry: str
) -> ExtraChainAnchorer:
    target = ExtraChain(url=str(extra_dir), chain_id=EXTRA_ID, registry=registry)
    return ExtraChainAnchorer(
        sessions,
        target,
        node,
        connect=lambda t: open_extra(Path(t.url)),
        interval=0.05,
        receipt_timeout=10,
        poll_interval=0.01,
    )


def anchored_primary(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    primary: EmbeddedChain,
    node: LocalAccount,
    deployment: Deployment,
    count: int = 5,
) -> list[int]:
    ids = queue.enqueue_many([os.urandom(32) for _ in range(count)], "deposit")
    transactor = Transactor(primary, node, receipt_timeout=10, poll_interval=0.01)
    batcher = Batcher(
        sessions, queue, transactor, deployment.anchor_registry, max_items=1000, interval=0.05
    )
    assert batcher.run_once() == 1
    return ids


def roots_on(chain: Chain, registry: str) -> list[tuple[str, str]]:
    bound = BoundContract.attach(chain, deployment_abi(), registry)
    return [
        ("0x" + bytes(e.args["root"]).hex(), e.log.transaction_hash)
        for e in bound.events("RootAnchored", 0)
    ]


def deployment_abi() -> list[dict[str, object]]:
    from chain_adapter.artifacts import load_artifact

    return load_artifact("AnchorRegistry").abi


def row(sessions: sessionmaker[Session]) -> ExtraAnchor:
    with sessions() as session:
        found = session.scalars(select(ExtraAnchor)).one()
        session.expunge(found)
        return found


def test_each_root_is_anchored_once_and_its_receipt_verifies(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    primary: EmbeddedChain,
    node: LocalAccount,
    deployment: Deployment,
    extra_dir: Path,
    registry_address: str,
) -> None:
    ids = anchored_primary(sessions, queue, primary, node, deployment)
    extra = anchorer(sessions, extra_dir, node, registry_address)
    try:
        assert extra.run_once() == 1
        assert extra.run_once() == 0  # nothing sent twice
        chain = extra.link().chain
        receipts = ExtraReceipts(sessions, [EXTRA_ID])
        primary_receipts = [r for i in ids if (r := queue.receipt(i)) is not None]
        derived = receipts.receipts(primary_receipts)
        for main, (other,) in zip(primary_receipts, derived, strict=True):
            assert other.chain_id == EXTRA_ID and other.registry == registry_address
            assert replace(
                other,
                chain_id=main.chain_id,
                registry=main.registry,
                transaction_hash=main.transaction_hash,
                block_number=main.block_number,
                block_hash=main.block_hash,
                block_timestamp=main.block_timestamp,
            ) == main  # fmt: skip
            assert verify_receipt(other, chain).valid
            assert not verify_receipt(other, primary).valid  # another chain's
        assert receipts.complete(derived[0])
        assert len(roots_on(chain, registry_address)) == 1
    finally:
        extra.stop()


def test_a_root_waits_for_the_primary_anchoring(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    extra_dir: Path,
    node: LocalAccount,
    registry_address: str,
) -> None:
    queue.enqueue_many([os.urandom(32)], "deposit")  # queued, no batch on the primary chain
    extra = anchorer(sessions, extra_dir, node, registry_address)
    try:
        assert extra.enqueue() == 0 and extra.run_once() == 0
    finally:
        extra.stop()


def _signed_and_recorded(
    sessions: sessionmaker[Session], extra: ExtraChainAnchorer
) -> tuple[int, bytes, str]:
    """An anchorer's steps up to a recorded signed transaction; then "the process died"."""
    assert extra.enqueue() == 1
    record = row(sessions)
    link = extra.link()
    data = link.registry.encode("anchor", record.root, record.size, kind_to_bytes32(record.kind))
    signed = link.transactor.build(link.registry.address, data)
    extra._record_signed(record.batch_id, signed)
    return record.batch_id, signed.raw, signed.hash


def test_crash_after_signing_resends_the_same_bytes(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    primary: EmbeddedChain,
    node: LocalAccount,
    deployment: Deployment,
    extra_dir: Path,
    registry_address: str,
) -> None:
    anchored_primary(sessions, queue, primary, node, deployment)
    crashed = anchorer(sessions, extra_dir, node, registry_address)
    _, raw, tx_hash = _signed_and_recorded(sessions, crashed)
    crashed.stop()
    assert row(sessions).raw_transaction == raw

    restarted = anchorer(sessions, extra_dir, node, registry_address)
    try:
        assert restarted.run_once() == 1
        done = row(sessions)
        assert done.state is BatchState.ANCHORED and done.tx_hash == tx_hash
        assert [t for _, t in roots_on(restarted.link().chain, registry_address)] == [tx_hash]
    finally:
        restarted.stop()


def test_a_root_already_on_the_chain_is_adopted(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    primary: EmbeddedChain,
    node: LocalAccount,
    deployment: Deployment,
    extra_dir: Path,
    registry_address: str,
) -> None:
    anchored_primary(sessions, queue, primary, node, deployment)
    crashed = anchorer(sessions, extra_dir, node, registry_address)
    _, _, tx_hash = _signed_and_recorded(sessions, crashed)
    link = crashed.link()
    link.chain.send_raw_transaction(row(sessions).raw_transaction or b"")
    crashed.stop()  # broadcast and mined; the process died before recording it

    restarted = anchorer(sessions, extra_dir, node, registry_address)
    try:
        assert restarted.run_once() == 1
        assert row(sessions).tx_hash == tx_hash
        assert len(roots_on(restarted.link().chain, registry_address)) == 1
    finally:
        restarted.stop()


def test_recorded_bytes_whose_nonce_was_taken_are_signed_again(
    sessions: sessionmaker[Session],
    queue: AnchorQueue,
    primary: EmbeddedChain,
    node: LocalAccount,
    deployment: Deployment,
    extra_dir: Path,
    registry_address: str,
) -> None:
    anchored_primary(sessions, queue, primary, node, deployment)
    crashed = anchorer(sessions, extra_dir, node, registry_address)
    _, _, tx_hash = _signed_and_recorded(sessions, crashed)
    other = Transactor(crashed.link().chain, node, poll_interval=0.01)
    other.transact(node.address, b"")  # the recorded nonce goes to another transaction
    crashed.stop()

    restarted = anchorer(sessions, extra_dir, node, registry_address)
    try:
        assert restarted.run_once() == 1
        done = row(sessions)
        assert done.state is BatchState.ANCHORED and done.tx_hash != tx_hash
        assert len(roots_on(restarted.link().chain, registry_address)) == 1
    finally:
        restarted.stop()


def test_another_contract_at_the_registry_address_is_refused(
    sessions: sessionmaker[Session], extra_dir: Path, node: LocalAccount, registry_address: str
) -> None:
    extra = anchorer(sessions, extra_dir, node, registry_address)
    try:
        consortium = str(extra.link().registry.call("consortium"))
    finally:
        extra.stop()
    wrong = anchorer(sessions, extra_dir, node, consortium)
    with pytest.raises(ContractNotFound, match="not the hub's AnchorRegistry"):
        wrong.link()
    wrong.stop()


def test_a_registry_the_node_may_not_anchor_on_is_refused(
    sessions: sessionmaker[Session], extra_dir: Path, node: LocalAccount
) -> None:
    stranger: LocalAccount = Account.from_key(os.urandom(32))
    chain = open_extra(extra_dir)
    try:
        Transactor(chain, node, poll_interval=0.01).transact(stranger.address, b"", value=10**20)
        theirs = deploy_anchor_registry(
            Transactor(chain, stranger, poll_interval=0.01), organisation_name="Another"
        ).address
    finally:
        chain.close()
    extra = anchorer(sessions, extra_dir, node, theirs)
    with pytest.raises(ContractNotFound, match="no service node"):
        extra.link()
    extra.stop()
