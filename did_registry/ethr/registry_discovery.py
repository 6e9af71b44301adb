"""Finding the ERC-1056 registry of an identity with nothing but a chain node.

A verifier holding a credential knows the issuer's did:ethr and a JSON-RPC URL,
not where the hub deployed its registry. ERC-1056 events index the identity
(https://eips.ethereum.org/EIPS/eip-1056#events), so one ``eth_getLogs`` over the
chain, filtered by the three event signatures and the identity topic, names every
contract that ever emitted a change for it. Only contracts whose runtime code is
exactly the registry's count: a look-alike contract cannot stand in, and a genuine
copy of the registry cannot hold changes for the identity without its owner's key.

No change anywhere means the identity never changed, so its document is the
default one (did:ethr method specification, "Read (Resolve)") and no registry is
needed.
"""

from __future__ import annotations

import threading

from eth_utils.address import to_checksum_address

from chain_adapter.artifacts import load_artifact
from chain_adapter.deploy import DID_REGISTRY
from chain_adapter.protocol import Chain, LogFilter
from did_registry.errors import NotFound
from did_registry.ethr.chain_walker import ChainWalkerSource
from did_registry.ethr.events import TOPICS, RegistryEvent
from did_registry.resolution import Head


class AmbiguousRegistry(NotFound):
    code = "ambiguousRegistry"
    status_code = 409


def registries_of(chain: Chain, identity: str) -> list[str]:
    """Addresses of genuine ERC-1056 registries holding changes of ``identity``, sorted."""
    topic = "0x" + to_checksum_address(identity)[2:].lower().rjust(64, "0")
    logs = chain.get_logs(LogFilter(from_block=0, to_block="latest", topics=(tuple(TOPICS), topic)))
    code = load_artifact(DID_REGISTRY).deployed_bytecode
    found = sorted({to_checksum_address(log.address) for log in logs})
    return [address for address in found if chain.get_code(address) == code]


class DiscoveringSource:
    """An EventSource that finds the registry of each identity on first use.

    With ``registry`` given (a verifier's ``--registry``), it is just a chain walk
    of that registry. Registries are remembered per identity for the life of the
    source.
    """

    def __init__(
        self, chain: Chain, *, registry: str | None = None, confirmations: int = 0
    ) -> None:
        self._chain = chain
        self._confirmations = confirmations
        self._walkers: dict[str, ChainWalkerSource] = {}
        self._by_identity: dict[str, ChainWalkerSource | None] = {}
        self._fixed = self._walker(registry) if registry is not None else None
        # Head and block times do not depend on the registry: any walker answers them.
        self._clock = ChainWalkerSource(
            chain, registry or "0x" + "00" * 20, confirmations=confirmations
        )
        self._lock = threading.Lock()

    @property
    def chain_id(self) -> int:
        return self._chain.chain_id

    @property
    def registry(self) -> str:
        return self._fixed.registry if self._fixed is not None else ""

    def head(self) -> Head:
        return self._clock.head()

    def block(self, number: int) -> Head | None:
        return self._clock.block(number)

    def block_at_time(self, timestamp: int) -> Head | None:
        return self._clock.block_at_time(timestamp)

    def history(self, identity: str) -> list[RegistryEvent]:
        walker = self._fixed if self._fixed is not None else self._discover(identity)
        return [] if walker is None else walker.history(identity)

    def _discover(self, identity: str) -> ChainWalkerSource | None:
        key = identity.lower()
        with self._lock:
            if key in self._by_identity:
                return self._by_identity[key]
        found = registries_of(self._chain, identity)
        if len(found) > 1:
            raise AmbiguousRegistry(
                f"{identity} has changes in {len(found)} DID registries on chain "
                f"{self._chain.chain_id} ({', '.join(found)}): name the one to use"
            )
        walker = self._walker(found[0]) if found else None
        with self._lock:
            self._by_identity[key] = walker
        return walker

    def _walker(self, registry: str) -> ChainWalkerSource:
        address = to_checksum_address(registry)
        if address not in self._walkers:
            self._walkers[address] = ChainWalkerSource(
                self._chain, address, confirmations=self._confirmations
            )
        return self._walkers[address]
