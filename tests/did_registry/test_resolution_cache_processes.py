"""The per-process resolution cache over the index, with the indexer in another "process".

Issue 16: HTTP processes resolve from the index that one indexer process writes. Here
process A (its own engine, IndexSource and CachingResolver) and process B (its own
engine and RegistryIndexer) share one database (SQLite and PostgreSQL) and follow the
embedded chain. A must see each change B indexes in its next resolution, give exactly
what an uncached resolver gives, keep nothing for a height not indexed yet, and stay
bounded whatever DIDs it is asked for.
"""

from __future__ import annotations

import pickle
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine

from chain_adapter.embedded import EmbeddedChain
from did_registry.caching_resolver import CachingResolver
from did_registry.errors import InvalidDid, NotFound
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.index_source import IndexSource
from did_registry.ethr.indexer import RegistryIndexer
from did_registry.ethr.resolver import EthrResolver
from did_registry.resolution import ResolutionOptions, ResolutionResult
from notary_hub.db import create_db_engine, session_factory
from tests.did_registry.registry_world import EMBEDDED_CHAIN_ID, RegistryWorld

KEY = "did/pub/Secp256k1/veriKey/hex"


@dataclass
class Counting:
    """A's real resolver, counting the resolutions that reach it (cache misses)."""

    inner: EthrResolver
    calls: list[str] = field(default_factory=list)

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        self.calls.append(did)
        return self.inner.resolve(did, options)


@dataclass
class ProcessA:
    """An HTTP process: its own engine, index reader and cache."""

    engine: Engine
    source: IndexSource
    counting: Counting
    cache: CachingResolver

    def fresh(self, did: str, options: ResolutionOptions | None = None) -> dict[str, object]:
        """What an uncached resolver reading the database now gives."""
        return self.counting.inner.resolve(did, options).to_json()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(embedded: EmbeddedChain, identities: list[LocalAccount]) -> RegistryWorld:
    world = RegistryWorld.deploy(embedded, identities)
    world.random_operations(random.Random(16), 8)
    return world


@pytest.fixture
def indexer_b(world: RegistryWorld, db_url: str, engine: Engine) -> Iterator[RegistryIndexer]:
    own = create_db_engine(db_url)  # `engine` migrated the database
    indexer = RegistryIndexer(
        world.chain, world.registry.address, session_factory(own), confirmations=0
    )
    indexer.catch_up()
    yield indexer
    own.dispose()


@pytest.fixture
def clock(world: RegistryWorld) -> Clock:
    return Clock(world.chain.get_block("latest").timestamp + 1)


@pytest.fixture
def process_a(
    world: RegistryWorld, db_url: str, indexer_b: RegistryIndexer, clock: Clock
) -> Iterator[ProcessA]:
    own = create_db_engine(db_url)
    source = IndexSource(session_factory(own), EMBEDDED_CHAIN_ID, world.registry.address)
    counting = Counting(EthrResolver({EMBEDDED_CHAIN_ID: source}, clock=clock))
    cache = CachingResolver(counting, source.pinned_head, entries=64, clock=clock)
    yield ProcessA(own, source, counting, cache)
    source.close()
    own.dispose()


def did_of(who: LocalAccount) -> str:
    return f"did:ethr:{hex(EMBEDDED_CHAIN_ID)}:{who.address}"


def methods(result: ResolutionResult) -> list[str]:
    assert result.did_document is not None
    return [m["id"] for m in result.did_document["verificationMethod"]]


def test_a_change_indexed_by_another_process_shows_in_the_next_resolution(
    world: RegistryWorld, indexer_b: RegistryIndexer, process_a: ProcessA
) -> None:
    who = world.identities[0]
    did = did_of(who)
    first = process_a.cache.resolve(did)
    assert process_a.cache.resolve(did).to_json() == first.to_json()
    assert len(process_a.counting.calls) == 1
    world.set_attribute(who, KEY, b"\x02" + bytes(32))
    # On chain, not indexed yet: the index head has not moved, the kept result stands.
    assert process_a.cache.resolve(did).to_json() == first.to_json()
    assert len(process_a.counting.calls) == 1
    indexer_b.catch_up()
    after = process_a.cache.resolve(did)
    assert len(process_a.counting.calls) == 2
    assert len(methods(after)) == len(methods(first)) + 1
    assert after.to_json() == process_a.fresh(did)
    walker = EthrResolver(
        {EMBEDDED_CHAIN_ID: ChainWalkerSource(world.chain, world.registry.address)},
        clock=process_a.counting.inner._clock,
    )
    assert after.to_json() == walker.resolve(did).to_json()


def test_a_version_is_kept_once_it_has_a_next_one_and_not_before(
    world: RegistryWorld, indexer_b: RegistryIndexer, process_a: ProcessA
) -> None:
    who = world.identities[1]
    did = did_of(who)
    newest = world.set_attribute(who, KEY, b"\x02" + bytes([1]) * 32).block_number
    indexer_b.catch_up()
    at_newest = ResolutionOptions(version_id=newest)
    alone = process_a.cache.resolve(did, at_newest)
    assert "nextVersionId" not in alone.did_document_metadata
    later = world.set_attribute(who, KEY, b"\x02" + bytes([2]) * 32).block_number
    indexer_b.catch_up()
    # The same version now has a next one: a kept copy without it would be stale.
    with_next = process_a.cache.resolve(did, at_newest)
    assert with_next.did_document_metadata["nextVersionId"] == str(later)
    assert with_next.to_json() == process_a.fresh(did, at_newest)
    calls = len(process_a.counting.calls)
    world.set_attribute(who, KEY, b"\x02" + bytes([3]) * 32)
    indexer_b.catch_up()
    # History with a next version is final: served across new heads, and still right.
    assert process_a.cache.resolve(did, at_newest).to_json() == with_next.to_json()
    assert len(process_a.counting.calls) == calls
    assert with_next.to_json() == process_a.fresh(did, at_newest)


def test_a_height_not_indexed_yet_is_never_kept(
    world: RegistryWorld, indexer_b: RegistryIndexer, process_a: ProcessA, clock: Clock
) -> None:
    who = world.identities[2]
    did = did_of(who)
    block = world.set_attribute(who, KEY, b"\x02" + bytes([4]) * 32).block_number
    ahead = ResolutionOptions(version_id=block)
    with pytest.raises(NotFound):
        process_a.cache.resolve(did, ahead)  # on chain, beyond the index head
    future = ResolutionOptions(version_time=int(clock()) + 10_000)
    before = process_a.cache.resolve(did, future)  # the index head's version, for now
    indexer_b.catch_up()
    shown = process_a.cache.resolve(did, ahead)
    assert shown.did_document_metadata["versionId"] == str(block)
    assert shown.to_json() == process_a.fresh(did, ahead)
    moved = process_a.cache.resolve(did, future)
    assert moved.did_document_metadata["versionId"] == str(block)
    assert len(methods(moved)) == len(methods(before)) + 1


def test_a_latest_version_expires_by_the_clock_while_the_head_stands(
    world: RegistryWorld, indexer_b: RegistryIndexer, process_a: ProcessA, clock: Clock
) -> None:
    who = world.identities[0]
    did = did_of(who)
    world.set_attribute(who, KEY, b"\x02" + bytes([5]) * 32, validity=100)
    indexer_b.catch_up()
    clock.now = world.chain.get_block("latest").timestamp
    live = process_a.cache.resolve(did)
    clock.now += 50
    assert process_a.cache.resolve(did).to_json() == live.to_json()
    clock.now += 51  # the key's validTo has passed; no block has been indexed since
    expired = process_a.cache.resolve(did)
    assert len(methods(expired)) == len(methods(live)) - 1
    assert expired.to_json() == process_a.fresh(did)


def test_many_distinct_dids_do_not_grow_the_cache(process_a: ProcessA) -> None:
    cache = process_a.cache
    for _ in range(300):  # unknown DIDs resolve to a default document, so they are kept
        unknown = f"did:ethr:{hex(EMBEDDED_CHAIN_ID)}:{Account.create().address}"
        assert cache.resolve(unknown).did_document is not None
        assert len(cache) <= 64
    assert len(cache) == 64
    for i in range(50):  # errors are never kept
        with pytest.raises(InvalidDid):
            cache.resolve(f"did:ethr:{hex(EMBEDDED_CHAIN_ID)}:0x{i:x}" + "z" * 5000)
    assert len(cache) == 64


def test_the_byte_cap_holds(world: RegistryWorld, process_a: ProcessA) -> None:
    dids = [did_of(who) for who in world.identities]
    one = len(pickle.dumps(process_a.fresh(dids[0]))) + len(dids[0])
    cap = one * 5 // 2  # room for two documents of this size, not three
    small = CachingResolver(process_a.counting, process_a.source.pinned_head, max_bytes=cap)
    for did in dids * 2:
        small.resolve(did)
        assert small.size_bytes <= cap
    assert 0 < len(small) < len(dids)


def test_a_head_read_a_moment_ago_is_seen_moved_once_that_moment_passed(
    world: RegistryWorld, db_url: str, indexer_b: RegistryIndexer
) -> None:
    own = create_db_engine(db_url)
    source = IndexSource(
        session_factory(own), EMBEDDED_CHAIN_ID, world.registry.address, head_max_age=0.2
    )
    cache = CachingResolver(EthrResolver({EMBEDDED_CHAIN_ID: source}), source.pinned_head)
    try:
        who = world.identities[1]
        did = did_of(who)
        first = cache.resolve(did)
        world.set_attribute(who, KEY, b"\x02" + bytes([6]) * 32)
        indexer_b.catch_up()
        time.sleep(0.25)
        after = cache.resolve(did)
        assert len(methods(after)) == len(methods(first)) + 1
    finally:
        source.close()
        own.dispose()
