"""The registry indexer against real chains and both databases.

Every check compares the index with the registry's logs decoded independently
(:func:`chain_events`): catch-up, restart from the cursor, a kill at random
points (a subprocess killed with SIGKILL), two indexers at once, confirmation
depth, the background thread, and a reorganisation on a Hardhat node
(``evm_snapshot`` / ``evm_revert``).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.deployment_store import DeploymentStore
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.jsonrpc_chain import JsonRpcChain
from did_registry.ethr.indexer import RegistryIndexer
from did_registry.ethr.models import IndexCheckpoint, IndexedEvent
from did_registry.resolution import Head
from testkit.waiting import wait_until
from tests.did_registry.registry_world import (
    EMBEDDED_CHAIN_ID,
    RegistryWorld,
    chain_events,
    indexed_events,
    open_embedded,
)
from tests.fixtures.hardhat import HardhatNode

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def world(embedded: EmbeddedChain, identities: list[LocalAccount]) -> RegistryWorld:
    world = RegistryWorld.deploy(embedded, identities)
    world.random_operations(random.Random(1056), 20)
    return world


def make_indexer(
    world: RegistryWorld, sessions: sessionmaker[Session], **kw: int
) -> RegistryIndexer:
    options = {"confirmations": 0, "batch_blocks": 4, "start_block": 0, **kw}
    return RegistryIndexer(world.chain, world.registry.address, sessions, **options)


def assert_index_matches_chain(
    world: RegistryWorld, sessions: sessionmaker[Session], up_to: int | None = None
) -> None:
    expected = chain_events(world.chain, world.registry.address, up_to)
    assert expected, "the scenario should have produced events"
    assert indexed_events(sessions, world.chain.chain_id, world.registry.address) == expected


def indexed_up_to(indexer: RegistryIndexer) -> int:
    head = indexer.head()
    return -1 if head is None else head.block_number


def checkpoint_blocks(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(
                select(IndexCheckpoint.block_number).order_by(IndexCheckpoint.block_number)
            )
        )


def test_catch_up_indexes_every_event_and_follows_new_ones(
    world: RegistryWorld, sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer(world, sessions)
    assert indexer.head() is None
    stored = indexer.catch_up()
    assert stored == len(chain_events(world.chain, world.registry.address))
    assert_index_matches_chain(world, sessions)
    head = world.chain.get_block()
    assert indexer.head() == Head(head.number, head.timestamp)
    cursor = indexer.cursor()
    assert cursor is not None and cursor.block_hash == head.hash

    world.random_operations(random.Random(2), 7)
    assert indexer.catch_up() > 0
    assert_index_matches_chain(world, sessions)
    assert indexer.catch_up() == 0
    assert indexer.index_next() is None  # nothing left to do


def test_starts_at_the_recorded_deployment_block(
    world: RegistryWorld, sessions: sessionmaker[Session]
) -> None:
    DeploymentStore(sessions, EMBEDDED_CHAIN_ID).record(
        "EthereumDIDRegistry", world.registry.address, world.deploy_block
    )
    indexer = RegistryIndexer(
        world.chain, world.registry.address.lower(), sessions, confirmations=0, batch_blocks=1
    )
    assert indexer.registry == world.registry.address
    assert indexer.index_next() == 0  # the deployment block itself has no registry event
    assert checkpoint_blocks(sessions) == [world.deploy_block]
    indexer.catch_up()
    assert_index_matches_chain(world, sessions)


def test_restart_continues_from_the_cursor(
    world: RegistryWorld, sessions: sessionmaker[Session]
) -> None:
    first = make_indexer(world, sessions, batch_blocks=1)
    for _ in range(5):
        assert first.index_next() is not None
    cursor = first.cursor()
    assert cursor is not None and cursor.block_number == 4

    second = make_indexer(world, sessions, batch_blocks=1)  # a restarted hub
    assert second.cursor() == cursor
    assert second.head() == cursor.head
    second.catch_up()
    assert_index_matches_chain(world, sessions)
    # One checkpoint per one-block range, each block exactly once: nothing re-read, nothing skipped.
    assert checkpoint_blocks(sessions) == list(range(world.chain.block_number() + 1))


def test_a_range_is_never_stored_twice(
    world: RegistryWorld, sessions: sessionmaker[Session]
) -> None:
    indexer = make_indexer(world, sessions)
    indexer.catch_up()
    before = indexed_events(sessions, EMBEDDED_CHAIN_ID, world.registry.address)
    # Move the cursor back below stored events, which one transaction per range never does:
    # re-reading those blocks must fail on the primary key instead of duplicating them.
    with sessions() as session, session.begin():
        session.execute(delete(IndexCheckpoint))
    with pytest.raises(IntegrityError):
        indexer.index_next()
    assert indexed_events(sessions, EMBEDDED_CHAIN_ID, world.registry.address) == before


def test_two_indexers_at_once_store_each_event_once(
    world: RegistryWorld, sessions: sessionmaker[Session]
) -> None:
    indexers = [make_indexer(world, sessions, batch_blocks=2) for _ in range(2)]
    errors: list[BaseException] = []

    def run(indexer: RegistryIndexer) -> None:
        try:
            indexer.catch_up()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(indexer,)) for indexer in indexers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert_index_matches_chain(world, sessions)


def test_confirmations_keep_the_newest_blocks_out(
    world: RegistryWorld, sessions: sessionmaker[Session], identities: list[LocalAccount]
) -> None:
    indexer = make_indexer(world, sessions, confirmations=3)
    indexer.catch_up()
    head = world.chain.block_number()
    # Transactor convention: the block itself is the first confirmation.
    assert indexed_up_to(indexer) == head - 2
    assert_index_matches_chain(world, sessions, up_to=head - 2)
    for _ in range(2):
        world.set_attribute(identities[0], "did/svc/Later", b"x")
    indexer.catch_up()
    assert indexed_up_to(indexer) == head
    assert_index_matches_chain(world, sessions, up_to=head)


def test_background_thread_follows_the_chain(
    world: RegistryWorld, sessions: sessionmaker[Session], identities: list[LocalAccount]
) -> None:
    indexer = make_indexer(world, sessions, batch_blocks=2000)
    indexer.start()
    try:
        world.random_operations(random.Random(3), 3)
        indexer.wake()
        target = world.chain.block_number()
        wait_until(
            lambda: indexed_up_to(indexer) >= target,
            timeout=20,
            interval=0.02,
            message=lambda: f"indexed up to {indexed_up_to(indexer)} of {target}",
        )
    finally:
        indexer.stop()
    assert indexer.last_error is None
    assert_index_matches_chain(world, sessions, up_to=target)


# -- a kill at any point ----------------------------------------------------------------------

CHILD = """
import sys
from pathlib import Path
from chain_adapter.embedded import EmbeddedChain
from did_registry.ethr.indexer import RegistryIndexer
from notary_hub.db import create_db_engine, session_factory

chain = EmbeddedChain.open(Path(sys.argv[1]), chain_id=int(sys.argv[4]))
sessions = session_factory(create_db_engine(sys.argv[2]))
indexer = RegistryIndexer(chain, sys.argv[3], sessions, confirmations=0, batch_blocks=1)
print("ready", flush=True)
indexer.catch_up()
print("done", flush=True)
"""


@pytest.mark.slow
def test_killed_at_random_points_loses_and_duplicates_nothing(
    tmp_path: Path,
    identities: list[LocalAccount],
    db_url: str,
    engine: Engine,
    sessions: sessionmaker[Session],
) -> None:
    chain = open_embedded(tmp_path / "chain", identities)
    world = RegistryWorld.deploy(chain, identities)
    world.random_operations(random.Random(4), 40)
    registry = world.registry.address
    blocks = chain.block_number() + 1
    chain.close()  # the child processes open it
    rng = random.Random(5)
    args = [sys.executable, "-c", CHILD, str(tmp_path / "chain"), db_url, registry, "1337"]
    kills, progress = 0, []
    for _ in range(8):
        child = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.08))
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        kills += child.returncode == -signal.SIGKILL
        progress.append(len(checkpoint_blocks(sessions)))
    final = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert kills >= 4
    assert any(0 < done < blocks for done in progress), progress  # killed mid-way, not only idle

    chain = EmbeddedChain.open(tmp_path / "chain", chain_id=EMBEDDED_CHAIN_ID)
    try:
        expected = chain_events(chain, registry)
        assert indexed_events(sessions, EMBEDDED_CHAIN_ID, registry) == expected
        assert checkpoint_blocks(sessions) == list(range(chain.block_number() + 1))
    finally:
        chain.close()


# -- reorganisations (Hardhat) ----------------------------------------------------------------


@pytest.mark.hardhat
def test_reorganisation_below_the_cursor_is_rewound(
    hardhat_node: HardhatNode, sessions: sessionmaker[Session], identities: list[LocalAccount]
) -> None:
    hardhat_node.ensure_running()
    for who in identities:
        hardhat_node.fund(who.address, 10**19)
    chain = JsonRpcChain.connect(hardhat_node.url, expected_chain_id=hardhat_node.chain_id)
    try:
        world = RegistryWorld.deploy(chain, identities)
        indexer = RegistryIndexer(
            chain,
            world.registry.address,
            sessions,
            confirmations=0,
            batch_blocks=2,
            start_block=world.deploy_block,
        )
        snapshot = hardhat_node.rpc("evm_snapshot")
        world.random_operations(random.Random(6), 6)
        indexer.catch_up()
        assert_index_matches_chain(world, sessions)
        old = indexed_events(sessions, chain.chain_id, world.registry.address)

        # A longer fork replaces the indexed blocks.
        hardhat_node.rpc("evm_revert", [snapshot])
        world.forget_nonces()
        snapshot = hardhat_node.rpc("evm_snapshot")
        world.random_operations(random.Random(7), 9)
        indexer.catch_up()
        assert_index_matches_chain(world, sessions)
        new = indexed_events(sessions, chain.chain_id, world.registry.address)
        assert not {e.at.transaction_hash for e in old} & {e.at.transaction_hash for e in new}

        # A shorter fork: the cursor's block no longer exists at all.
        hardhat_node.rpc("evm_revert", [snapshot])
        world.forget_nonces()
        world.random_operations(random.Random(8), 2)
        indexer.catch_up()
        assert_index_matches_chain(world, sessions)
        cursor = indexer.cursor()
        assert cursor is not None and cursor.block_hash == chain.get_block().hash
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(IndexedEvent)) == len(
                chain_events(chain, world.registry.address)
            )
    finally:
        chain.close()
