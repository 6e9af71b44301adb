"""The resolution cache on a real chain: never stale, past versions kept across new blocks."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from did_registry.caching_resolver import CachingResolver, unpinned
from did_registry.errors import InvalidDid
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.resolver import EthrResolver
from did_registry.resolution import ResolutionOptions, ResolutionResult
from tests.fixtures.notary_world import CHAIN_ID, NotaryWorld


@dataclass
class Counting:
    """The real chain-walking resolver, counting the resolutions that reach it."""

    inner: EthrResolver
    calls: list[str] = field(default_factory=list)

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        self.calls.append(did)
        return self.inner.resolve(did, options)


def make(world: NotaryWorld) -> tuple[CachingResolver, Counting]:
    source = ChainWalkerSource(world.chain, world.deployment.did_registry.address)
    counting = Counting(EthrResolver({CHAIN_ID: source}))
    return CachingResolver(counting, unpinned(source.head)), counting


def keys_of(result: ResolutionResult) -> list[str]:
    assert result.did_document is not None
    return [m["id"] for m in result.did_document["verificationMethod"]]


def test_latest_is_cached_per_head_and_never_stale(notary_world: NotaryWorld) -> None:
    cache, counting = make(notary_world)
    did = notary_world.notary.did
    first = cache.resolve(did)
    assert keys_of(cache.resolve(did)) == keys_of(first)
    assert len(counting.calls) == 1
    notary_world.notary.rotate()
    after = cache.resolve(did)
    assert len(counting.calls) == 2
    assert len(keys_of(after)) == len(keys_of(first)) + 1


def test_past_versions_survive_new_blocks(notary_world: NotaryWorld) -> None:
    cache, counting = make(notary_world)
    did = notary_world.notary.did
    then = notary_world.chain.get_block("latest").timestamp - 1
    past = cache.resolve(did, ResolutionOptions(version_time=then))
    notary_world.notary.rotate()
    again = cache.resolve(did, ResolutionOptions(version_time=then))
    assert len(counting.calls) == 1
    assert again.to_json() == past.to_json()
    fresh = counting.inner.resolve(did, ResolutionOptions(version_time=then))
    assert fresh.to_json() == past.to_json()


def test_results_are_copies_and_failures_are_not_kept(notary_world: NotaryWorld) -> None:
    cache, counting = make(notary_world)
    did = notary_world.notary.did
    result = cache.resolve(did)
    assert result.did_document is not None
    result.did_document["id"] = "changed by a careless caller"
    assert keys_of(cache.resolve(did))
    assert cache.resolve(did).did_document["id"] == did  # type: ignore[index]
    bad = "did:ethr:0x539:not-an-address"
    for _ in range(2):
        with pytest.raises(InvalidDid):
            cache.resolve(bad)
    assert counting.calls.count(bad) == 2
