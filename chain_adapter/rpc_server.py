"""Standard Ethereum JSON-RPC over the embedded chain, so that ordinary clients can read it.

Method semantics follow the Ethereum execution API specification
(https://ethereum.github.io/execution-apis/api-documentation/): sections "eth/block",
"eth/client", "eth/execute", "eth/fee_market", "eth/filter" (``eth_getLogs``),
"eth/state", "eth/submit" and "eth/transaction". The envelope is JSON-RPC 2.0
(https://www.jsonrpc.org/specification), handled by :mod:`chain_adapter.rpc_dispatch`.
Where the spec leaves the error form open, geth's behaviour is followed, because
client libraries are written against it: a revert with data is code ``3`` with
message ``execution reverted: <reason>`` and ``data`` the hex revert data; other
execution and chain failures are ``-32000``.

Tags: with instant sealing there is never a pending block, and a single sealer
finalises each block as it seals it, so ``pending``, ``safe`` and ``finalized``
all name the latest block.

Limits (issue 9, item 3; :mod:`chain_adapter.rpc_execution`): ``eth_call`` and
``eth_estimateGas`` run with their gas clamped to :attr:`CallLimits.gas_cap`
(geth's RPCGasCap) and abort at the request's deadline, answered ``-32000``
``execution timeout``. A request's deadline is :attr:`CallLimits.timeout` after it
arrives, and a batch shares it: one request buys at most that much execution time.

The server is pure: it takes parsed JSON and returns JSON, and knows nothing of HTTP.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from eth_utils.exceptions import ValidationError as EthUtilsValidationError

from chain_adapter.embedded import EmbeddedChain
from chain_adapter.errors import BlockNotFound, CallReverted, ChainError
from chain_adapter.protocol import BlockId, BlockTag, LogFilter
from chain_adapter.rpc_dispatch import (
    METHOD_NOT_FOUND,
    Dispatcher,
    Handler,
    InvalidParams,
    RpcError,
)
from chain_adapter.rpc_encoding import (
    arguments,
    data,
    parse_address,
    parse_block_id,
    parse_block_number,
    parse_bool,
    parse_call_request,
    parse_data,
    parse_hash,
    parse_log_addresses,
    parse_slot,
    parse_topics,
    quantity,
    render_block,
    render_log,
    render_receipt,
    render_transaction,
)
from chain_adapter.rpc_execution import CallLimits
from chain_adapter.rpc_fees import (
    fee_history,
    next_base_fee,
    parse_block_count,
    parse_percentiles,
)

SERVER_ERROR = -32000  # geth's code for execution and chain failures
REVERT_ERROR = 3  # geth's code for a revert that returned data
LIMIT_EXCEEDED = -32005  # the "limit exceeded" code of EIP-1474, as Infura and others use it
MAX_LOG_BLOCK_RANGE = 10_000
MAX_LOG_RESULTS = 10_000
READ_ONLY_MESSAGE = "read-only; sending raw transactions is disabled by configuration"


def _client_version() -> str:
    try:
        own = version("notary-hub")
    except PackageNotFoundError:
        own = "unknown"
    return f"notary-hub/v{own}/embedded-py-evm"


# The deadline of the request being handled in this context (a handler's signature
# has room for its params only).
_DEADLINE: ContextVar[float | None] = ContextVar("rpc_request_deadline", default=None)


class RpcServer:
    """The JSON-RPC 2.0 dispatcher for an :class:`EmbeddedChain`."""

    def __init__(
        self,
        chain: EmbeddedChain,
        *,
        allow_send_raw: bool = False,
        limits: CallLimits | None = None,
    ) -> None:
        self._chain = chain
        self._allow_send_raw = allow_send_raw
        self.limits = limits or CallLimits()
        self._client_version = _client_version()
        methods: dict[str, Handler] = {
            "web3_clientVersion": self._web3_client_version,
            "net_version": self._net_version,
            "net_listening": self._net_listening,
            "eth_chainId": self._eth_chain_id,
            "eth_syncing": self._eth_syncing,
            "eth_accounts": self._eth_accounts,
            "eth_blockNumber": self._eth_block_number,
            "eth_getBlockByNumber": self._eth_get_block_by_number,
            "eth_getBlockByHash": self._eth_get_block_by_hash,
            "eth_getBlockTransactionCountByNumber": self._eth_tx_count_by_number,
            "eth_getBlockTransactionCountByHash": self._eth_tx_count_by_hash,
            "eth_getTransactionByHash": self._eth_get_transaction_by_hash,
            "eth_getTransactionReceipt": self._eth_get_transaction_receipt,
            "eth_getBalance": self._eth_get_balance,
            "eth_getCode": self._eth_get_code,
            "eth_getStorageAt": self._eth_get_storage_at,
            "eth_getTransactionCount": self._eth_get_transaction_count,
            "eth_call": self._eth_call,
            "eth_estimateGas": self._eth_estimate_gas,
            "eth_getLogs": self._eth_get_logs,
            "eth_gasPrice": self._eth_gas_price,
            "eth_maxPriorityFeePerGas": self._eth_max_priority_fee_per_gas,
            "eth_feeHistory": self._eth_fee_history,
            "eth_sendRawTransaction": self._eth_send_raw_transaction,
        }
        self._dispatcher = Dispatcher(methods, translate=_translate)

    def handle(self, payload: Any, *, deadline: float | None = None) -> Any | None:
        """Answer a parsed request or batch; ``None`` when no response is due.

        EVM executions abort at ``deadline`` (``time.monotonic``); by default
        ``limits.timeout`` from now.
        """
        if deadline is None:
            deadline = time.monotonic() + self.limits.timeout
        token = _DEADLINE.set(deadline)
        try:
            return self._dispatcher.handle(payload)
        finally:
            _DEADLINE.reset(token)

    # -- web3 / net / client ----------------------------------------------------------

    def _web3_client_version(self, params: list[Any]) -> str:
        arguments(params, required=0)
        return self._client_version

    def _net_version(self, params: list[Any]) -> str:
        arguments(params, required=0)
        return str(self._chain.chain_id)  # decimal, unlike eth_chainId

    def _net_listening(self, params: list[Any]) -> bool:
        arguments(params, required=0)
        return True

    def _eth_chain_id(self, params: list[Any]) -> str:
        arguments(params, required=0)
        return quantity(self._chain.chain_id)

    def _eth_syncing(self, params: list[Any]) -> bool:
        arguments(params, required=0)
        return False  # the only node of its chain is always at its head

    def _eth_accounts(self, params: list[Any]) -> list[str]:
        arguments(params, required=0)
        return []  # the node holds no keys: clients sign locally

    # -- blocks -----------------------------------------------------------------------

    def _eth_block_number(self, params: list[Any]) -> str:
        arguments(params, required=0)
        return quantity(self._chain.block_number())

    def _eth_get_block_by_number(self, params: list[Any]) -> dict[str, Any] | None:
        block, full = arguments(params, required=1, optional=1)
        return self._block(parse_block_number(block), _full_flag(full))

    def _eth_get_block_by_hash(self, params: list[Any]) -> dict[str, Any] | None:
        block, full = arguments(params, required=1, optional=1)
        return self._block(parse_hash(block, "block hash"), _full_flag(full))

    def _eth_tx_count_by_number(self, params: list[Any]) -> str | None:
        (block,) = arguments(params, required=1)
        return self._tx_count(parse_block_number(block))

    def _eth_tx_count_by_hash(self, params: list[Any]) -> str | None:
        (block,) = arguments(params, required=1)
        return self._tx_count(parse_hash(block, "block hash"))

    def _block(self, block: BlockId, full: bool) -> dict[str, Any] | None:
        try:
            header = self._chain.block_header(block)
            # Pin "latest" to one hash so a block sealed meanwhile cannot mix in.
            pinned = data(header.hash)
            size = self._chain.block_size(pinned)
            transactions: list[Any] = (
                [render_transaction(tx) for tx in self._chain.block_transactions(pinned)]
                if full
                else list(self._chain.get_block(pinned).transactions)
            )
        except BlockNotFound:
            return None  # the spec's answer for an unknown block
        return render_block(header, size=size, transactions=transactions)

    def _tx_count(self, block: BlockId) -> str | None:
        try:
            return quantity(len(self._chain.get_block(block).transactions))
        except BlockNotFound:
            return None

    # -- transactions -----------------------------------------------------------------

    def _eth_get_transaction_by_hash(self, params: list[Any]) -> dict[str, Any] | None:
        (tx_hash,) = arguments(params, required=1)
        tx = self._chain.get_transaction(parse_hash(tx_hash, "transaction hash"))
        return None if tx is None else render_transaction(tx)

    def _eth_get_transaction_receipt(self, params: list[Any]) -> dict[str, Any] | None:
        (tx_hash,) = arguments(params, required=1)
        wanted = parse_hash(tx_hash, "transaction hash")
        receipt = self._chain.get_receipt(wanted)
        tx = self._chain.get_transaction(wanted)
        extras = self._chain.receipt_extras(wanted)
        if receipt is None or tx is None or extras is None:
            return None
        return render_receipt(receipt, tx, extras)

    def _eth_send_raw_transaction(self, params: list[Any]) -> str:
        if not self._allow_send_raw:
            raise RpcError(METHOD_NOT_FOUND, READ_ONLY_MESSAGE)
        (raw,) = arguments(params, required=1)
        return self._chain.send_raw_transaction(parse_data(raw, "raw transaction"))

    # -- state ------------------------------------------------------------------------

    def _eth_get_balance(self, params: list[Any]) -> str:
        account, block = arguments(params, required=1, optional=1)
        return quantity(self._chain.get_balance(parse_address(account), parse_block_id(block)))

    def _eth_get_code(self, params: list[Any]) -> str:
        account, block = arguments(params, required=1, optional=1)
        return data(self._chain.get_code(parse_address(account), parse_block_id(block)))

    def _eth_get_storage_at(self, params: list[Any]) -> str:
        account, slot, block = arguments(params, required=2, optional=1)
        value = self._chain.get_storage_at(
            parse_address(account), parse_slot(slot), parse_block_id(block)
        )
        return data(value.to_bytes(32, "big"))

    def _eth_get_transaction_count(self, params: list[Any]) -> str:
        account, block = arguments(params, required=1, optional=1)
        return quantity(
            self._chain.get_transaction_count(parse_address(account), parse_block_id(block))
        )

    # -- execution --------------------------------------------------------------------

    def _eth_call(self, params: list[Any]) -> str:
        request, block, overrides = arguments(params, required=1, optional=2)
        if overrides is not None:
            raise InvalidParams("state overrides are not supported")
        call = parse_call_request(request)
        output = self._chain.call(
            call, parse_block_id(block), gas_cap=self.limits.gas_cap, deadline=_DEADLINE.get()
        )
        return data(output)

    def _eth_estimate_gas(self, params: list[Any]) -> str:
        request, block, overrides = arguments(params, required=1, optional=2)
        if overrides is not None:
            raise InvalidParams("state overrides are not supported")
        call = parse_call_request(request)
        if block is not None:
            # The embedded chain estimates against its head only; refuse rather than
            # silently answer for another block.
            head = self._chain.get_block("latest")
            wanted = self._chain.get_block(parse_block_id(block))
            if wanted.hash != head.hash:
                raise InvalidParams("eth_estimateGas only runs against the latest block")
        return quantity(
            self._chain.estimate_gas(call, gas_cap=self.limits.gas_cap, deadline=_DEADLINE.get())
        )

    # -- logs -------------------------------------------------------------------------

    def _eth_get_logs(self, params: list[Any]) -> list[dict[str, Any]]:
        (criteria,) = arguments(params, required=1)
        if not isinstance(criteria, dict):
            raise InvalidParams("invalid filter: expected an object")
        head = self._chain.block_number()
        if criteria.get("blockHash") is not None:
            if criteria.get("fromBlock") is not None or criteria.get("toBlock") is not None:
                raise InvalidParams("cannot specify both blockHash and fromBlock/toBlock")
            block_hash = parse_hash(criteria["blockHash"], "blockHash")
            try:
                first = last = self._chain.get_block(block_hash).number
            except BlockNotFound:
                raise RpcError(SERVER_ERROR, "unknown block") from None
        else:
            first = _resolve(_block_or_latest(criteria.get("fromBlock"), "fromBlock"), head)
            last = _resolve(_block_or_latest(criteria.get("toBlock"), "toBlock"), head)
            if first > last:
                raise InvalidParams("invalid block range params: fromBlock is after toBlock")
            if first > head:
                return []
            last = min(last, head)
            if last - first + 1 > MAX_LOG_BLOCK_RANGE:
                raise RpcError(
                    LIMIT_EXCEEDED,
                    f"block range too large: {last - first + 1} blocks, at most "
                    f"{MAX_LOG_BLOCK_RANGE} per eth_getLogs request",
                )
        flt = LogFilter(
            from_block=first,
            to_block=last,
            address=parse_log_addresses(criteria.get("address")),
            topics=parse_topics(criteria.get("topics")),
        )
        logs = self._chain.get_logs(flt)
        if len(logs) > MAX_LOG_RESULTS:
            raise RpcError(
                LIMIT_EXCEEDED,
                f"query returned more than {MAX_LOG_RESULTS} results; narrow the block range "
                "or the address/topics filter",
            )
        return [render_log(log) for log in logs]

    # -- fees -------------------------------------------------------------------------

    def _eth_gas_price(self, params: list[Any]) -> str:
        arguments(params, required=0)
        # A legacy price must cover the base fee of the block it will land in.
        head = self._chain.block_header("latest")
        return quantity(next_base_fee(head) + self._suggested_tip())

    def _eth_max_priority_fee_per_gas(self, params: list[Any]) -> str:
        arguments(params, required=0)
        return quantity(self._suggested_tip())

    def _suggested_tip(self) -> int:
        return self._chain.fee_params().max_priority_fee_per_gas or 0

    def _eth_fee_history(self, params: list[Any]) -> dict[str, Any]:
        count_param, newest_param, percentiles_param = arguments(params, required=2, optional=1)
        count = parse_block_count(count_param)
        percentiles = parse_percentiles(percentiles_param)
        head = self._chain.block_number()
        newest = _resolve(parse_block_number(newest_param, "newest block"), head)
        if newest > head:
            raise RpcError(SERVER_ERROR, f"request beyond head block: {newest} > {head}")
        if count == 0:
            return {"oldestBlock": quantity(0), "baseFeePerGas": [], "gasUsedRatio": []}
        oldest = max(0, newest - count + 1)
        headers = [self._chain.block_header(n) for n in range(oldest, newest + 1)]
        return fee_history(headers, percentiles, self._tips)

    def _tips(self, number: int, base_fee: int) -> list[tuple[int, int]]:
        tips = []
        for tx in self._chain.block_transactions(number):
            receipt = self._chain.get_receipt(tx.hash)
            # A mined transaction's gas price is its effective price: base fee + tip.
            tips.append((tx.gas_price - base_fee, receipt.gas_used if receipt else 0))
        return tips


def _translate(exc: Exception) -> RpcError | None:
    """Chain-layer errors as JSON-RPC errors, in geth's shapes."""
    if isinstance(exc, CallReverted) and exc.data:
        return RpcError(REVERT_ERROR, exc.message, data(exc.data))
    if isinstance(exc, ChainError):
        return RpcError(SERVER_ERROR, exc.message)
    if isinstance(exc, EthUtilsValidationError):
        # py-evm's checks of a call it was asked to run, e.g. "Sender does not have
        # enough balance": the caller's problem, as geth's -32000 "insufficient funds".
        return RpcError(SERVER_ERROR, str(exc))
    return None


def _full_flag(value: Any) -> bool:
    return False if value is None else parse_bool(value, "full transactions flag")


def _block_or_latest(value: Any, what: str) -> int | BlockTag:
    return "latest" if value is None else parse_block_number(value, what)


def _resolve(block: int | BlockTag, head: int) -> int:
    if block == "earliest":
        return 0
    return head if isinstance(block, str) else block
