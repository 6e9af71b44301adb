"""Between the chain layer's types and web3.py's: request parameters out, answers back.

Used by :class:`~chain_adapter.jsonrpc_chain.JsonRpcChain`; failures are mapped by
:mod:`chain_adapter.jsonrpc_errors`. Addresses in answers are checksummed, hashes
become ``0x`` hex strings, quantities become ``int``.
"""

from __future__ import annotations

from typing import Any, cast

from eth_utils.address import to_checksum_address

from chain_adapter.protocol import Block, BlockId, CallRequest, Log, LogFilter, Receipt


def to_hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def block_param(block: BlockId) -> Any:
    """A block id as a JSON-RPC block parameter (EIP-1898 object for a hash)."""
    if isinstance(block, str) and block.startswith("0x") and len(block) == 66:
        return {"blockHash": block}
    return block


def tx_params(request: CallRequest) -> Any:
    """The transaction object of ``eth_call``/``eth_estimateGas``."""
    tx: dict[str, Any] = {"data": to_hex(request.data), "value": request.value}
    if request.to is not None:
        tx["to"] = to_checksum_address(request.to)
    if request.from_address is not None:
        tx["from"] = to_checksum_address(request.from_address)
    if request.gas is not None:
        tx["gas"] = request.gas
    return tx


def filter_params(flt: LogFilter) -> Any:
    """The filter object of ``eth_getLogs``."""
    params: dict[str, Any] = {"fromBlock": flt.from_block, "toBlock": flt.to_block}
    if flt.address is not None:
        params["address"] = flt.address if isinstance(flt.address, str) else list(flt.address)
    if flt.topics:
        params["topics"] = [t if t is None or isinstance(t, str) else list(t) for t in flt.topics]
    return params


def block_of(data: Any) -> Block:
    """A sealed block from an ``eth_getBlockByNumber``/``...ByHash`` answer."""
    base_fee = data.get("baseFeePerGas")
    return Block(
        number=int(data["number"]),
        hash=to_hex(data["hash"]),
        parent_hash=to_hex(data["parentHash"]),
        timestamp=int(data["timestamp"]),
        transactions=tuple(to_hex(cast(bytes, tx)) for tx in data["transactions"]),
        gas_limit=int(data["gasLimit"]),
        gas_used=int(data["gasUsed"]),
        base_fee_per_gas=None if base_fee is None else int(base_fee),
    )


def receipt_of(data: Any) -> Receipt:
    """A mined transaction's receipt from an ``eth_getTransactionReceipt`` answer."""
    contract = data.get("contractAddress")
    return Receipt(
        transaction_hash=to_hex(data["transactionHash"]),
        block_number=int(data["blockNumber"]),
        block_hash=to_hex(data["blockHash"]),
        transaction_index=int(data["transactionIndex"]),
        status=int(data["status"]),
        gas_used=int(data["gasUsed"]),
        from_address=to_checksum_address(data["from"]),
        to_address=to_checksum_address(data["to"]) if data.get("to") else None,
        contract_address=to_checksum_address(contract) if contract else None,
        logs=tuple(log_of(entry) for entry in data["logs"]),
    )


def log_of(entry: Any) -> Log:
    """A log entry of a receipt or of an ``eth_getLogs`` answer."""
    return Log(
        address=to_checksum_address(entry["address"]),
        topics=tuple(to_hex(t) for t in entry["topics"]),
        data=bytes(entry["data"]),
        block_number=int(entry["blockNumber"]),
        block_hash=to_hex(entry["blockHash"]),
        transaction_hash=to_hex(entry["transactionHash"]),
        transaction_index=int(entry["transactionIndex"]),
        log_index=int(entry["logIndex"]),
    )
