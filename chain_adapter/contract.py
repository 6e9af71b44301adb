"""A contract ABI bound to an address on a :class:`~chain_adapter.protocol.Chain`.

Encoding and decoding go through web3.py's offline ABI codec (a ``Web3`` with no
reachable provider is only used for ``encode_abi``, event filters and
``process_log``); the chain is reached only through the ``Chain`` protocol and
transactions only through :class:`~chain_adapter.transactor.Transactor`, so the
same object works on every backend. Solidity ABI specification:
https://docs.soliditylang.org/en/latest/abi-spec.html ("Function Selector and
Argument Encoding", "Events").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from eth_utils.abi import get_abi_output_types
from eth_utils.address import to_checksum_address
from web3 import Web3
from web3._utils.abi import map_abi_data
from web3._utils.normalizers import BASE_RETURN_NORMALIZERS
from web3.contract import Contract
from web3.utils.abi import get_abi_element

from chain_adapter.errors import ContractNotFound
from chain_adapter.protocol import BlockId, CallRequest, Chain, Log, LogFilter, Receipt
from chain_adapter.transactor import Transactor

# Only the codec of this instance is used; it never sends a request.
_OFFLINE = Web3()


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """One event log with its arguments decoded by name (addresses checksummed)."""

    name: str
    args: dict[str, Any]
    log: Log


class BoundContract:
    """Calls, transactions and events of one deployed contract."""

    def __init__(self, chain: Chain, abi: Sequence[Mapping[str, Any]], address: str) -> None:
        self._chain = chain
        self._abi = [dict(entry) for entry in abi]
        self._address = to_checksum_address(address)
        self._contract: Contract = _OFFLINE.eth.contract(
            address=self._address, abi=cast(Any, self._abi)
        )

    @classmethod
    def attach(
        cls,
        chain: Chain,
        abi: Sequence[Mapping[str, Any]],
        address: str,
        expected_code: bytes | None = None,
    ) -> BoundContract:
        """Bind to ``address`` after checking that a contract lives there.

        Raises :class:`ContractNotFound` when the address has no code, or when
        ``expected_code`` (the artifact's deployed bytecode) is given and differs.
        """
        code = chain.get_code(address)
        if not code:
            raise ContractNotFound(f"no contract code at {address} on chain {chain.chain_id}")
        if expected_code is not None and code != expected_code:
            raise ContractNotFound(
                f"the code at {address} on chain {chain.chain_id} is not the expected "
                f"contract ({len(code)} bytes deployed, {len(expected_code)} expected)"
            )
        return cls(chain, abi, address)

    @property
    def address(self) -> str:
        return self._address

    @property
    def abi(self) -> list[dict[str, Any]]:
        return self._abi

    def encode(self, fn_name: str, *args: Any) -> bytes:
        """Call data for ``fn_name(*args)``: selector and ABI-encoded arguments."""
        encoded = self._contract.encode_abi(fn_name, args=list(args))
        return bytes.fromhex(encoded[2:])

    def call(
        self, fn_name: str, *args: Any, block: BlockId = "latest", from_address: str | None = None
    ) -> Any:
        """``eth_call`` of ``fn_name(*args)``; one output is returned bare, several as a tuple.

        A revert raises :class:`~chain_adapter.errors.CallReverted`.
        """
        request = CallRequest(
            to=self._address, data=self.encode(fn_name, *args), from_address=from_address
        )
        output = self._chain.call(request, block=block)
        fn_abi = get_abi_element(cast(Any, self._abi), fn_name, *args, abi_codec=_OFFLINE.codec)
        types = get_abi_output_types(cast(Any, fn_abi))
        values = map_abi_data(BASE_RETURN_NORMALIZERS, types, _OFFLINE.codec.decode(types, output))
        if len(values) == 1:
            return values[0]
        return tuple(values)

    def transact(self, transactor: Transactor, fn_name: str, *args: Any, value: int = 0) -> Receipt:
        """Send ``fn_name(*args)`` through ``transactor`` and wait for its receipt."""
        return transactor.transact(self._address, self.encode(fn_name, *args), value=value)

    def events(
        self,
        event_name: str,
        from_block: int,
        to_block: int | str = "latest",
        argument_filters: Mapping[str, Any] | None = None,
    ) -> list[DecodedEvent]:
        """Events ``event_name`` emitted by this contract in ``[from_block, to_block]``.

        ``argument_filters`` maps argument names to a value, or a list/tuple of
        accepted values. Indexed arguments filter on the node (as topics); the
        others are compared after decoding.
        """
        event = self._contract.events[event_name]
        builder = event.build_filter()
        indexed = {i["name"] for i in event.abi["inputs"] if i.get("indexed")}
        local: dict[str, tuple[Any, ...]] = {}
        for name, wanted in (argument_filters or {}).items():
            options = tuple(wanted) if isinstance(wanted, list | tuple) else (wanted,)
            if name in indexed:
                builder.args[name].match_any(*options)
            elif name in builder.args:
                local[name] = options
            else:
                raise ValueError(f"event {event_name} has no argument {name!r}")
        topics = tuple(t if t is None or isinstance(t, str) else tuple(t) for t in builder.topics)
        logs = self._chain.get_logs(
            LogFilter(
                from_block=from_block,
                to_block=cast(Any, to_block),
                address=self._address,
                topics=topics,
            )
        )
        decoded = [self._decode(log, event_name) for log in logs]
        return [
            e
            for e in decoded
            if all(_matches(e.args[name], options) for name, options in local.items())
        ]

    def decode_logs(self, receipt: Receipt, event_name: str) -> list[DecodedEvent]:
        """The ``event_name`` events this contract emitted in ``receipt``."""
        topic = self._contract.events[event_name].topic
        return [
            self._decode(log, event_name)
            for log in receipt.logs
            if log.address == self._address and log.topics and log.topics[0] == topic
        ]

    def _decode(self, log: Log, event_name: str) -> DecodedEvent:
        entry = {
            "address": log.address,
            "topics": [bytes.fromhex(t[2:]) for t in log.topics],
            "data": log.data,
            "blockNumber": log.block_number,
            "blockHash": log.block_hash,
            "transactionHash": log.transaction_hash,
            "transactionIndex": log.transaction_index,
            "logIndex": log.log_index,
        }
        data = self._contract.events[event_name].process_log(cast(Any, entry))
        return DecodedEvent(name=event_name, args=dict(data["args"]), log=log)


def _matches(value: Any, options: tuple[Any, ...]) -> bool:
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower() in {str(o).lower() for o in options}
    return value in options
