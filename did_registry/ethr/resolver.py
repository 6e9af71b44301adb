"""The did:ethr resolver: parse, pick the chain's event source, fold the history.

W3C DID Resolution §4 (https://w3c.github.io/did-resolution/#resolving), with the
did:ethr method's reading of the options: ``versionId`` is a block number, and
``versionTime`` the newest block at or before that time. A version is resolved
as the reference resolver (``ethr-did-resolver``) does for ``?versionId=``: the
history up to that block, expiries judged at that block's timestamp, and the
first later change as ``nextVersionId`` / ``nextUpdate``. The latest version
judges expiries by the clock, as the reference does (a chain that produces no
blocks for a while must not keep expired keys alive).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from functools import lru_cache

from did_registry.errors import InvalidOptions, NotFound, UnknownNetwork
from did_registry.ethr.did import EthrDid, Networks, parse_ethr_did
from did_registry.ethr.document import build_resolution, representation
from did_registry.resolution import EventSource, Head, ResolutionOptions, ResolutionResult


class EthrResolver:
    """Resolves did:ethr on the chains of ``sources`` (keyed by chain id).

    A chain is named in a DID by its chain id in hex (``did:ethr:0x539:…``) or by
    one of ``names`` (e.g. ``{"mainnet": 1}``); a DID without a network is mainnet.
    ``clock`` gives the unix time the latest version's expiries are judged at.
    """

    def __init__(
        self,
        sources: Mapping[int, EventSource],
        *,
        names: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for chain_id, source in sources.items():
            if source.chain_id != chain_id:
                raise ValueError(f"the source for chain {chain_id} serves chain {source.chain_id}")
        self._sources = dict(sources)
        networks: dict[str | int, int] = {chain_id: chain_id for chain_id in sources}
        networks.update(names or {})
        self._networks: Networks = networks
        self._clock = clock
        # Parsing checks an EIP-55 checksum (a keccak) every time: half the cost of
        # resolving from the index. Parsed DIDs are immutable, and errors are not cached.
        self._parsed: Callable[[str], EthrDid] = lru_cache(maxsize=65_536)(self._parse)

    def _parse(self, did: str) -> EthrDid:
        return parse_ethr_did(did, networks=self._networks)

    def parse(self, did: str) -> EthrDid:
        return self._parsed(did)

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        options = options or ResolutionOptions()
        parsed = self.parse(did)
        representation(options.accept)  # refuse an unknown representation before any chain work
        source = self._sources.get(parsed.chain_id)
        if source is None:
            raise UnknownNetwork(f"chain id {parsed.chain_id} is not served by this resolver")
        at = _version(source, options)
        events = source.history(parsed.address)
        now = at.timestamp if at is not None else int(self._clock())
        return build_resolution(parsed, events, at=at, now=now, accept=options.accept)


def _version(source: EventSource, options: ResolutionOptions) -> Head | None:
    """The block ``options`` ask for; ``None`` for the latest version."""
    if options.version_id is not None and options.version_time is not None:
        raise InvalidOptions("versionId and versionTime are alternatives: give one")
    if options.version_id is not None:
        if options.version_id < 0:
            raise InvalidOptions(f"versionId {options.version_id} is not a block number")
        at = source.block(options.version_id)
        if at is None:
            raise NotFound(
                f"versionId {options.version_id} is beyond the newest block "
                f"({source.head().block_number}) of chain {source.chain_id}"
            )
        return at
    if options.version_time is not None:
        at = source.block_at_time(options.version_time)
        if at is None:
            raise NotFound(
                f"chain {source.chain_id} has no block at or before {options.version_time}"
            )
        return at
    return None
