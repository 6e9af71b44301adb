"""``open_did_registry``: DID resolution, registration, the consortium and the notary's DID.

The registry index (followed by a worker), the resolvers reading it, the registrar
relaying holders' operations, the consortium service (its applications moved on by a
poller) and the notary's own identity, opened once from the deployed contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from chain_adapter.deploy import DID_REGISTRY, Deployment
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from did_registry.caching_resolver import DEFAULT_ENTRIES, CachingResolver
from did_registry.consortium.service import ConsortiumService, service_from_files
from did_registry.did_key import DidKeyResolver
from did_registry.dispatch import DispatchingResolver
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.index_source import IndexSource
from did_registry.ethr.indexer import RegistryIndexer
from did_registry.ethr.resolver import EthrResolver
from did_registry.notary_identity import NotaryIdentity, open_notary_identity
from did_registry.registrar.service import Registrar
from hub_kernel.advisory_locks import PassGuard
from hub_kernel.keystore import KeyStore
from hub_kernel.worker import Worker

CONSORTIUM_POLL_SECONDS = 5.0


@dataclass
class DidRegistryParts:
    indexer: RegistryIndexer
    index_source: IndexSource
    resolver: DispatchingResolver
    registrar: Registrar
    consortium: ConsortiumService
    notary: NotaryIdentity
    # did:ethr by walking the chain's logs, at its head: what a sign-in checks a holder's
    # key against, so a key added a moment ago counts before the index has caught up.
    fresh_resolver: DispatchingResolver
    _workers: list[Worker] = field(default_factory=list, repr=False)

    def start(self, guard: Callable[[str], PassGuard | None] = lambda _name: None) -> None:
        """The indexer and the consortium poller; ``guard(name)``: one pass of each at a
        time across the hub's processes."""
        # Votes cast on other members' hubs move this hub's applications on.
        advance = Worker(
            "consortium-advance",
            self.consortium.advance,
            CONSORTIUM_POLL_SECONDS,
            guard=guard("consortium-advance"),
        )
        self._workers = [advance]
        self.indexer.start(guard("did-indexer"))
        advance.start()

    def stop(self) -> None:
        self.indexer.stop()
        for worker in self._workers:
            worker.stop()

    def close(self) -> None:
        self.stop()
        self.index_source.close()


def open_did_registry(
    *,
    sessions: sessionmaker[Session],
    chain: Chain,
    transactor: Transactor,
    deployment: Deployment,
    keystore: KeyStore,
    network_names: Mapping[str, int],
    confirmations: int,
    index_poll_seconds: float,
    trusted_ca_file: Path | None,
    crl_files: Sequence[Path],
    created: list[str],
    resolution_cache_entries: int = DEFAULT_ENTRIES,
    resolution_head_max_age: float = 0.0,
) -> DidRegistryParts:
    registry = deployment.did_registry.address
    indexer = RegistryIndexer(
        chain,
        registry,
        sessions,
        confirmations=confirmations,
        start_block=deployment.blocks.get(DID_REGISTRY),
        poll_interval=index_poll_seconds,
    )
    # The head is the cursor row, not this process's indexer: the indexer may run in
    # another process (issue 16). The cache lags it by `resolution_head_max_age` at most.
    source = IndexSource(
        sessions, chain.chain_id, registry, chain=chain, head_max_age=resolution_head_max_age
    )
    ethr = EthrResolver({chain.chain_id: source}, names=network_names)
    cached = CachingResolver(ethr, source.pinned_head, entries=resolution_cache_entries)
    resolver = DispatchingResolver({"ethr": cached, "key": DidKeyResolver()})
    registrar = Registrar(
        transactor, deployment.did_registry, from_block=deployment.blocks.get(DID_REGISTRY, 0)
    )
    networks: dict[str | int, int] = {chain.chain_id: chain.chain_id}
    networks.update(network_names)
    consortium = service_from_files(
        deployment.consortium,
        transactor,
        sessions,
        trusted_ca_file,
        list(crl_files),
        resolver=resolver,
        networks=networks,
    )
    # The notary signs with keys it looks up by walking the chain: the index may lag.
    walker = ChainWalkerSource(chain, registry)
    own = EthrResolver({chain.chain_id: walker}, names=network_names)
    notary = open_notary_identity(keystore, registrar, resolver=own, created=created)
    fresh = DispatchingResolver({"ethr": own, "key": DidKeyResolver()})
    return DidRegistryParts(indexer, source, resolver, registrar, consortium, notary, fresh)
