"""What the hub needs from an EVM chain, as one small ``Protocol``.

The methods map one-to-one onto Ethereum JSON-RPC calls
(https://ethereum.github.io/execution-apis/api-documentation/), so a backend is
either a node spoken to over HTTP or an in-process EVM that answers the same
questions. Signing, nonces, gas and confirmation waiting are *not* backend
concerns: :class:`chain_adapter.transactor.Transactor` does them once, on top of
this interface, for every backend.

Conventions: addresses are EIP-55 checksummed ``str``; hashes and topics are
``0x``-prefixed lowercase hex ``str``; call data and return data are ``bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

BlockTag = Literal["latest", "earliest", "pending", "safe", "finalized"]
BlockId = int | BlockTag | str  # a number, a tag, or a 0x-prefixed 32-byte block hash


@dataclass(frozen=True, slots=True)
class Block:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    transactions: tuple[str, ...] = ()
    gas_limit: int = 0
    gas_used: int = 0
    base_fee_per_gas: int | None = None


@dataclass(frozen=True, slots=True)
class Log:
    address: str
    topics: tuple[str, ...]
    data: bytes
    block_number: int
    block_hash: str
    transaction_hash: str
    transaction_index: int
    log_index: int


@dataclass(frozen=True, slots=True)
class Receipt:
    transaction_hash: str
    block_number: int
    block_hash: str
    transaction_index: int
    status: int
    gas_used: int
    from_address: str
    to_address: str | None
    contract_address: str | None
    logs: tuple[Log, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == 1


@dataclass(frozen=True, slots=True)
class CallRequest:
    """The fields of ``eth_call`` / ``eth_estimateGas``."""

    to: str | None
    data: bytes = b""
    from_address: str | None = None
    value: int = 0
    gas: int | None = None


@dataclass(frozen=True, slots=True)
class LogFilter:
    """An ``eth_getLogs`` filter.

    Each topic position is ``None`` (any), a hex topic, or a tuple of hex topics (any of).
    """

    from_block: int
    to_block: int | BlockTag
    address: str | tuple[str, ...] | None = None
    topics: tuple[str | tuple[str, ...] | None, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class FeeParams:
    """Fees for the next transaction: EIP-1559 when ``max_fee_per_gas`` is set, legacy otherwise."""

    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None


@runtime_checkable
class Chain(Protocol):
    """An EVM chain, as seen through the Ethereum JSON-RPC read and raw-send calls."""

    @property
    def chain_id(self) -> int: ...

    def block_number(self) -> int: ...

    def get_block(self, block: BlockId = "latest") -> Block: ...

    def get_code(self, address: str, block: BlockId = "latest") -> bytes: ...

    def get_balance(self, address: str, block: BlockId = "latest") -> int: ...

    def call(self, request: CallRequest, block: BlockId = "latest") -> bytes: ...

    def estimate_gas(self, request: CallRequest) -> int: ...

    def fee_params(self) -> FeeParams: ...

    def get_transaction_count(self, address: str, block: BlockId = "pending") -> int: ...

    def send_raw_transaction(self, raw: bytes) -> str: ...

    def get_receipt(self, tx_hash: str) -> Receipt | None: ...

    def get_logs(self, flt: LogFilter) -> list[Log]: ...

    def close(self) -> None: ...
