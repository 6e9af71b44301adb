"""The JSON-RPC backend: a :class:`~chain_adapter.protocol.Chain` spoken to over HTTP.

Every method is one Ethereum JSON-RPC call (execution-apis,
https://ethereum.github.io/execution-apis/api-documentation/) made through
web3.py's ``HTTPProvider``; this module only maps answers and failures onto the
chain layer's types:

* transport failures (refused, timed out, HTTP 5xx, garbage) and node-side
  JSON-RPC errors become :class:`ChainUnavailable`, with the node URL reduced
  to ``scheme://host:port`` so that credentials in userinfo, path or query never
  reach a message;
* idempotent requests are retried with exponential backoff, so a node restart
  shorter than the retry budget is invisible to callers;
* ``eth_call``/``eth_estimateGas`` reverts become :class:`CallReverted` with the
  decoded ``Error(string)``/``Panic`` reason and the raw revert data (custom
  errors are kept as data only);
* ``eth_sendRawTransaction`` rejections become :class:`TransactionRejected`,
  except that re-sending bytes the node already has is a success: that is how a
  sender re-broadcasts after a crash and still gets exactly-once execution.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import requests
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from requests.adapters import HTTPAdapter
from web3 import HTTPProvider, Web3
from web3.exceptions import BlockNotFound as Web3BlockNotFound
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.exceptions import TransactionNotFound as Web3TransactionNotFound
from web3.types import RPCEndpoint

from chain_adapter.errors import (
    BlockNotFound,
    ChainError,
    ChainUnavailable,
    TransactionRejected,
    WrongChainId,
)
from chain_adapter.jsonrpc_encoding import (
    block_of,
    block_param,
    filter_params,
    log_of,
    receipt_of,
    to_hex,
    tx_params,
)
from chain_adapter.jsonrpc_errors import (
    BLOCK_MISSING,
    TRANSPORT_ERRORS,
    RedactedUrl,
    call_failure,
    describe_transport,
    error_fields,
    is_transient,
    mentions,
    send_verdict,
)
from chain_adapter.protocol import (
    Block,
    BlockId,
    CallRequest,
    FeeParams,
    Log,
    LogFilter,
    Receipt,
)

T = TypeVar("T")

_MAX_BACKOFF = 5.0  # seconds; caps the exponential backoff between retries


class JsonRpcChain:
    """A :class:`~chain_adapter.protocol.Chain` backed by a JSON-RPC node over HTTP.

    Thread-safe: one ``requests`` session with a connection pool is shared by all threads.
    """

    def __init__(
        self,
        w3: Web3,
        session: requests.Session,
        url: RedactedUrl,
        *,
        timeout: float,
        retries: int,
        backoff: float,
    ) -> None:
        """Use :meth:`connect`, which also checks the chain id."""
        self._w3 = w3
        self._session = session
        self._url = url
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = max(0.0, backoff)
        self._chain_id = 0

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        expected_chain_id: int | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> JsonRpcChain:
        """Connect to the node at ``url`` and check its ``eth_chainId``.

        ``timeout`` bounds each HTTP request; an idempotent request is tried up to
        ``1 + retries`` times, sleeping ``backoff * 2**i`` seconds (capped) in between.
        Raises :class:`ChainUnavailable` when the node cannot be reached and
        :class:`WrongChainId` when it serves another chain than ``expected_chain_id``.
        """
        session = requests.Session()
        # Retries are ours (below), not urllib3's; the pool fits many concurrent senders.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=32, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        provider = HTTPProvider(
            url,
            request_kwargs={"timeout": timeout},
            session=session,
            exception_retry_configuration=None,
        )
        # No middleware: no ENS lookups, no gas/chain-id validation round trips.
        chain = cls(
            Web3(provider, middleware=[]),
            session,
            RedactedUrl.of(url),
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )
        try:
            actual = chain._request("eth_chainId", lambda: int(chain._w3.eth.chain_id))
        except ChainError:
            chain.close()
            raise
        if expected_chain_id is not None and actual != expected_chain_id:
            chain.close()
            raise WrongChainId(
                f"node {chain._url.shown} serves chain id {actual}, "
                f"expected chain id {expected_chain_id}"
            )
        chain._chain_id = actual
        return chain

    # -- Chain protocol ---------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def block_number(self) -> int:
        return self._request("eth_blockNumber", lambda: int(self._w3.eth.block_number))

    def get_block(self, block: BlockId = "latest") -> Block:
        # A pending block has no hash (Hardhat answers number/hash null): a Block is sealed.
        ident = "latest" if block == "pending" else block

        def fetch() -> Block:
            try:
                data = self._w3.eth.get_block(cast(Any, ident))
            except Web3BlockNotFound:
                raise BlockNotFound(f"no block {block!r} on chain {self._chain_id}") from None
            return block_of(data)

        return self._request("eth_getBlock", fetch, block=block)

    def get_code(self, address: str, block: BlockId = "latest") -> bytes:
        return self._request(
            "eth_getCode",
            lambda: bytes(self._w3.eth.get_code(to_checksum_address(address), block_param(block))),
            block=block,
        )

    def get_balance(self, address: str, block: BlockId = "latest") -> int:
        return self._request(
            "eth_getBalance",
            lambda: int(self._w3.eth.get_balance(to_checksum_address(address), block_param(block))),
            block=block,
        )

    def get_transaction_count(self, address: str, block: BlockId = "pending") -> int:
        return self._request(
            "eth_getTransactionCount",
            lambda: int(
                self._w3.eth.get_transaction_count(to_checksum_address(address), block_param(block))
            ),
            block=block,
        )

    def call(self, request: CallRequest, block: BlockId = "latest") -> bytes:
        tx = tx_params(request)
        return self._request(
            "eth_call",
            lambda: self._reverting(
                lambda: bytes(self._w3.eth.call(tx, block_param(block))), block
            ),
            block=block,
        )

    def estimate_gas(self, request: CallRequest) -> int:
        tx = tx_params(request)
        return self._request(
            "eth_estimateGas",
            lambda: self._reverting(lambda: int(self._w3.eth.estimate_gas(tx)), None),
        )

    def fee_params(self) -> FeeParams:
        """EIP-1559 fees (``2 * baseFee + tip``), or ``eth_gasPrice`` on a chain without base fee.

        The tip is ``eth_maxPriorityFeePerGas`` (not in the spec but widely served),
        else 0: consortium chains often run free gas.
        """
        base_fee = self.get_block("latest").base_fee_per_gas
        if base_fee is None:
            price = self._request("eth_gasPrice", lambda: int(self._w3.eth.gas_price))
            return FeeParams(gas_price=price)
        tip = self._request("eth_maxPriorityFeePerGas", self._max_priority_fee)
        return FeeParams(max_fee_per_gas=2 * base_fee + tip, max_priority_fee_per_gas=tip)

    def send_raw_transaction(self, raw: bytes) -> str:
        """Broadcast signed ``raw`` bytes; returns the transaction hash.

        Idempotent: bytes the node already holds (pending or mined) answer their
        hash instead of an error, so the request is safely retried like a read.
        """
        tx_hash = to_hex(keccak(raw))

        def send() -> str:
            try:
                sent = self._w3.eth.send_raw_transaction(raw)
            except Web3RPCError as exc:
                return self._send_failed(tx_hash, exc)
            return to_hex(sent)

        return self._request("eth_sendRawTransaction", send)

    def get_receipt(self, tx_hash: str) -> Receipt | None:
        def fetch() -> Receipt | None:
            try:
                data = self._w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except Web3TransactionNotFound:  # also "indexing in progress"
                return None
            if data.get("blockNumber") is None:  # some nodes answer pending receipts
                return None
            return receipt_of(data)

        return self._request("eth_getTransactionReceipt", fetch)

    def get_logs(self, flt: LogFilter) -> list[Log]:
        params = filter_params(flt)
        return self._request(
            "eth_getLogs",
            lambda: [log_of(entry) for entry in self._w3.eth.get_logs(params)],
            block=flt.to_block,
        )

    def close(self) -> None:
        self._session.close()

    # -- Beyond the protocol ----------------------------------------------------------

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """A raw JSON-RPC request (e.g. ``evm_mine``), with the same error mapping."""
        return self._request(
            method, lambda: self._w3.manager.request_blocking(RPCEndpoint(method), params or [])
        )

    # -- internals --------------------------------------------------------------------

    def _reverting(self, op: Callable[[], T], block: BlockId | None) -> T:
        """Run ``eth_call``/``eth_estimateGas``, mapping a revert to :class:`CallReverted`."""
        try:
            return op()
        except (ContractLogicError, Web3RPCError) as exc:
            failure = call_failure(exc)
            if failure is not None:
                raise failure from None
            code, message, _ = error_fields(exc)
            raise self._node_error("call", code, message, block) from None

    def _max_priority_fee(self) -> int:
        try:
            answer = self._w3.manager.request_blocking(RPCEndpoint("eth_maxPriorityFeePerGas"), [])
        except Web3RPCError:  # not served (e.g. free-gas consortium chains): no tip
            return 0
        return int(answer, 16) if isinstance(answer, str) else int(answer)

    def _send_failed(self, tx_hash: str, exc: Web3RPCError) -> str:
        verdict = send_verdict(exc, tx_hash)
        if verdict == "known" or (verdict == "nonce too low" and self._is_known(tx_hash)):
            return tx_hash  # these very bytes are pending or mined already
        code, message, _ = error_fields(exc)
        if verdict == "node error":
            raise self._node_error("eth_sendRawTransaction", code, message, None)
        raise TransactionRejected(f"transaction {tx_hash} rejected by the node: {message}")

    def _is_known(self, tx_hash: str) -> bool:
        try:
            self._w3.eth.get_transaction(HexBytes(tx_hash))
        except Web3TransactionNotFound:
            return False
        return True

    def _node_error(
        self, what: str, code: int | None, message: str, block: BlockId | None
    ) -> ChainError:
        if block is not None and mentions(message, BLOCK_MISSING):
            return BlockNotFound(f"no block {block!r} on chain {self._chain_id}: {message}")
        return ChainUnavailable(
            f"node {self._url.shown}: {what} failed with node error "
            f"{code if code is not None else '?'}: {self._url.scrub(message)}"
        )

    def _request(self, what: str, op: Callable[[], T], *, block: BlockId | None = None) -> T:
        """Run ``op`` (idempotent), retrying transient transport failures with backoff."""
        attempts = 1 + self._retries
        for attempt in range(attempts):
            try:
                return op()
            except ChainError:
                raise
            except Web3RPCError as exc:
                code, message, _ = error_fields(exc)
                raise self._node_error(what, code, message, block) from None
            except TRANSPORT_ERRORS as exc:
                if attempt + 1 < attempts and is_transient(exc):
                    time.sleep(min(self._backoff * 2**attempt, _MAX_BACKOFF))
                    continue
                reason = self._url.scrub(describe_transport(exc, self._timeout))
                # ``from None``: the cause's text carries the full URL, credentials included.
                raise ChainUnavailable(
                    f"node {self._url.shown} unavailable: {what} failed after "
                    f"{attempt + 1} attempt(s): {reason}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover
