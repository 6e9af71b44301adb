"""Registry events of one identity, read from the chain the way a verifier without the hub would.

ERC-1056 "Events" (https://eips.ethereum.org/EIPS/eip-1056) and the did:ethr
method specification, "Enumerating Contract Events to build the DID Document"
(https://github.com/decentralized-identity/ethr-did-resolver/blob/master/doc/did-method-spec.md):
``changed(identity)`` names the block of the newest change; ``eth_getLogs`` for that
block (registry address, topic1 = identity) gives its events, whose
``previousChange`` names the block before; walk back until it is 0. One
``eth_getLogs`` per changed block, no scan of the chain and no index.

With ``confirmations`` the walk starts at the newest block that has that many
(the block itself counts as the first, as :class:`~chain_adapter.transactor.Transactor`
counts them), so a reorg shallower than that cannot show up in a document.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from eth_utils.address import to_checksum_address

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import DID_REGISTRY
from chain_adapter.protocol import Chain, LogFilter
from did_registry.errors import NotFound
from did_registry.ethr.events import RegistryEvent, decode_event
from did_registry.resolution import Head

_TIMESTAMP_CACHE = 65_536  # blocks; a timestamp is 2 ints, so a few MiB at most


class ChainWalkerSource:
    """An :class:`~did_registry.resolution.EventSource` (with ``block``) over JSON-RPC reads."""

    def __init__(self, chain: Chain, registry_address: str, *, confirmations: int = 0) -> None:
        if confirmations < 0:
            raise ValueError("confirmations is a depth, not negative")
        self._chain = chain
        self._registry = BoundContract(chain, load_artifact(DID_REGISTRY).abi, registry_address)
        self._confirmations = confirmations
        # Confirmed blocks do not change, so their timestamps are cached for good.
        self._timestamps: OrderedDict[int, int] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def chain_id(self) -> int:
        return self._chain.chain_id

    @property
    def registry(self) -> str:
        return self._registry.address

    def head(self) -> Head:
        number = self._head_number()
        return Head(number, self._timestamp(number))

    def block(self, number: int) -> Head | None:
        if number < 0 or number > self._head_number():
            return None
        return Head(number, self._timestamp(number))

    def history(self, identity: str) -> list[RegistryEvent]:
        identity = to_checksum_address(identity)
        head = self._head_number()
        topic = "0x" + identity[2:].lower().rjust(64, "0")
        block = int(self._registry.call("changed", identity, block=head))
        newest_first: list[list[RegistryEvent]] = []
        while block:
            logs = self._chain.get_logs(
                LogFilter(
                    from_block=block,
                    to_block=block,
                    address=self._registry.address,
                    topics=(None, topic),
                )
            )
            if not logs:
                raise NotFound(
                    f"the registry says {identity} changed in block {block}, but the node has "
                    "no logs there (a node without the chain's history cannot resolve it)"
                )
            timestamp = self._timestamp(block)
            events: list[RegistryEvent] = []
            previous = 0
            for log in logs:
                try:
                    event = decode_event(log, timestamp)
                except ValueError:
                    continue  # another event of the registry contract, not an ERC-1056 change
                events.append(event)
                # Several changes in one block: the later ones point at this same block,
                # the first one at the block before; that one is the way on.
                pointer = event.previous_change
                if 0 < pointer < block and (previous == 0 or pointer < previous):
                    previous = pointer
            newest_first.append(events)
            block = previous
        return [event for events in reversed(newest_first) for event in events]

    def block_at_time(self, timestamp: int) -> Head | None:
        """The newest block with a timestamp <= ``timestamp``: binary search over block times.

        Block timestamps never decrease along a chain (Ethereum requires each to
        exceed its parent's), which is what makes the search valid.
        """
        head = self.head()
        if head.timestamp <= timestamp:
            return head
        if self._timestamp(0) > timestamp:
            return None
        low, high = 0, head.block_number  # invariant: time(low) <= timestamp < time(high)
        while high - low > 1:
            middle = (low + high) // 2
            if self._timestamp(middle) <= timestamp:
                low = middle
            else:
                high = middle
        return Head(low, self._timestamp(low))

    def _head_number(self) -> int:
        return max(0, self._chain.block_number() - max(self._confirmations - 1, 0))

    def _timestamp(self, number: int) -> int:
        with self._lock:
            cached = self._timestamps.get(number)
            if cached is not None:
                self._timestamps.move_to_end(number)
                return cached
        timestamp = self._chain.get_block(number).timestamp
        with self._lock:
            self._timestamps[number] = timestamp
            if len(self._timestamps) > _TIMESTAMP_CACHE:
                self._timestamps.popitem(last=False)
        return timestamp
