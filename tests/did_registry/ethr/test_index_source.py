"""The index path of resolution: IndexSource against the chain's own logs and the chain walker.

On the embedded chain and both databases: histories, head, block times and
``versionTime`` lookups agree with events decoded straight from ``eth_getLogs``
and with :class:`ChainWalkerSource`; and the did:ethr resolver gives identical
results on both paths, at the latest version and at every version.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.embedded import EmbeddedChain
from did_registry.errors import InvalidDid
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.index_source import IndexNotReady, IndexSource
from did_registry.ethr.indexer import RegistryIndexer
from did_registry.ethr.resolver import EthrResolver
from did_registry.resolution import Head, ResolutionOptions
from tests.did_registry.registry_world import (
    EMBEDDED_CHAIN_ID,
    RegistryWorld,
    chain_events,
    new_identities,
)


@pytest.fixture
def world(embedded: EmbeddedChain, identities: list[LocalAccount]) -> RegistryWorld:
    world = RegistryWorld.deploy(embedded, identities)
    world.random_operations(random.Random(1056), 24)
    return world


@pytest.fixture
def indexer(world: RegistryWorld, sessions: sessionmaker[Session]) -> RegistryIndexer:
    indexer = RegistryIndexer(
        world.chain, world.registry.address, sessions, confirmations=0, batch_blocks=5
    )
    indexer.catch_up()
    return indexer


@pytest.fixture
def source(
    world: RegistryWorld, sessions: sessionmaker[Session], indexer: RegistryIndexer
) -> Iterator[IndexSource]:
    source = IndexSource(
        sessions, EMBEDDED_CHAIN_ID, world.registry.address, indexer.head, chain=world.chain
    )
    yield source
    source.close()


def test_history_is_the_identitys_events_in_chain_order(
    world: RegistryWorld, source: IndexSource, identities: list[LocalAccount]
) -> None:
    every = chain_events(world.chain, world.registry.address)
    walker = ChainWalkerSource(world.chain, world.registry.address)
    for who in identities:
        mine = [event for event in every if event.identity == who.address]
        assert mine
        assert source.history(who.address) == mine
        assert source.history(who.address.lower()) == mine
        assert walker.history(who.address) == mine
    assert source.history("0x" + "12" * 20) == []
    with pytest.raises(InvalidDid):
        source.history("0x1234")


def test_head_is_the_indexer_cursor(
    world: RegistryWorld,
    sessions: sessionmaker[Session],
    indexer: RegistryIndexer,
    identities: list[LocalAccount],
) -> None:
    from_db = IndexSource(sessions, EMBEDDED_CHAIN_ID, world.registry.address, head_ttl=0.0)
    try:
        tip = world.chain.get_block()
        assert from_db.head() == Head(tip.number, tip.timestamp) == indexer.head()
        assert (from_db.chain_id, from_db.registry) == (EMBEDDED_CHAIN_ID, world.registry.address)

        # Events the indexer has not reached are not there yet; once indexed, they are.
        before = from_db.history(identities[0].address)
        world.set_attribute(identities[0], "did/svc/Later", b"https://later.example")
        assert from_db.history(identities[0].address) == before
        indexer.catch_up()
        assert len(from_db.history(identities[0].address)) == len(before) + 1
    finally:
        from_db.close()


def test_a_cached_head_hides_newer_events_until_it_expires(
    world: RegistryWorld,
    sessions: sessionmaker[Session],
    indexer: RegistryIndexer,
    identities: list[LocalAccount],
) -> None:
    cached = IndexSource(sessions, EMBEDDED_CHAIN_ID, world.registry.address, head_ttl=3600.0)
    try:
        head = cached.head()
        before = cached.history(identities[1].address)
        world.set_attribute(identities[1], "did/svc/Later", b"x")
        indexer.catch_up()
        # One consistent position: the head it read, and no event above it.
        assert cached.head() == head
        assert cached.history(identities[1].address) == before
    finally:
        cached.close()


def test_an_empty_index_is_not_ready(world: RegistryWorld, sessions: sessionmaker[Session]) -> None:
    empty = IndexSource(sessions, EMBEDDED_CHAIN_ID, world.registry.address)
    try:
        with pytest.raises(IndexNotReady):
            empty.head()
        with pytest.raises(IndexNotReady):
            empty.history(world.identities[0].address)
    finally:
        empty.close()


def test_a_given_head_bounds_the_history(
    world: RegistryWorld, sessions: sessionmaker[Session], indexer: RegistryIndexer
) -> None:
    every = chain_events(world.chain, world.registry.address)
    middle = every[len(every) // 2].at
    at = Head(middle.block_number, middle.block_timestamp)
    bounded = IndexSource(sessions, EMBEDDED_CHAIN_ID, world.registry.address, lambda: at)
    try:
        identity = every[len(every) // 2].identity
        expected = [
            e for e in every if e.identity == identity and e.at.block_number <= at.block_number
        ]
        assert bounded.history(identity) == expected
    finally:
        bounded.close()


def test_blocks_and_times_agree_with_the_chain(world: RegistryWorld, source: IndexSource) -> None:
    walker = ChainWalkerSource(world.chain, world.registry.address)
    head = source.head()
    for number in range(head.block_number + 1):
        assert source.block(number) == walker.block(number)
        assert source.block(number) == Head(number, world.chain.get_block(number).timestamp)
    assert source.block(head.block_number + 1) is None
    assert source.block(-1) is None

    times = sorted({world.chain.get_block(n).timestamp for n in range(head.block_number + 1)})
    for moment in {t + delta for t in times for delta in (-1, 0, 1)} | {times[-1] + 10**6}:
        assert source.block_at_time(moment) == walker.block_at_time(moment), moment


def test_without_the_chain_times_come_from_what_is_indexed(
    world: RegistryWorld, sessions: sessionmaker[Session], indexer: RegistryIndexer
) -> None:
    bare = IndexSource(sessions, EMBEDDED_CHAIN_ID, world.registry.address, indexer.head)
    try:
        event = chain_events(world.chain, world.registry.address)[3].at
        assert bare.block(event.block_number) == Head(event.block_number, event.block_timestamp)
        # The newest indexed block at or before the time: exact at an event's own time.
        assert bare.block_at_time(event.block_timestamp) == Head(
            event.block_number, event.block_timestamp
        )
        with pytest.raises(IndexNotReady):
            bare.block(world.deploy_block)  # no event there and no checkpoint
    finally:
        bare.close()


def test_resolution_from_the_index_equals_the_chain_walk(
    world: RegistryWorld, source: IndexSource, identities: list[LocalAccount]
) -> None:
    walker = ChainWalkerSource(world.chain, world.registry.address)
    now = world.chain.get_block().timestamp + 3600
    by_index = EthrResolver({EMBEDDED_CHAIN_ID: source}, clock=lambda: now)
    by_walk = EthrResolver({EMBEDDED_CHAIN_ID: walker}, clock=lambda: now)
    head = source.head()
    blocks = sorted({e.at.block_number for e in chain_events(world.chain, world.registry.address)})
    versions = [*blocks, blocks[0] - 1, world.deploy_block, head.block_number]
    for who in [*identities, new_identities(1)[0]]:
        did = f"did:ethr:{hex(EMBEDDED_CHAIN_ID)}:{who.address}"
        assert by_index.resolve(did) == by_walk.resolve(did)
        for version in versions:
            options = ResolutionOptions(version_id=version)
            assert by_index.resolve(did, options) == by_walk.resolve(did, options), version
        for version in blocks[::3]:
            moment = world.chain.get_block(version).timestamp
            options = ResolutionOptions(version_time=moment)
            assert by_index.resolve(did, options) == by_walk.resolve(did, options), moment


def test_reads_survive_a_dropped_database_connection(
    world: RegistryWorld, source: IndexSource, engine: Engine, identities: list[LocalAccount]
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite connections are files; only a server can drop them")
    before = source.history(identities[0].address)  # leaves an idle connection behind
    with engine.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert source.history(identities[0].address) == before
