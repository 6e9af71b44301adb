"""Ethereum JSON-RPC value encoding: strict parsing of params, rendering of results.

Execution API specification, "Value encoding"
(https://ethereum.github.io/execution-apis/api-documentation/ and
https://ethereum.org/en/developers/docs/apis/json-rpc/#hex-encoding):

* a **Quantity** is ``0x`` + the shortest hex of the integer: ``0x0`` for zero,
  never a leading zero digit (``0x041`` is invalid);
* **Data** is ``0x`` + two hex digits per byte, fixed-size for addresses (20
  bytes) and hashes (32 bytes); ``0x`` is empty data.

Params that break these rules are refused with ``-32602`` rather than guessed
at, as geth's ``hexutil`` does. Block parameters follow EIP-1898
(https://eips.ethereum.org/EIPS/eip-1898): a number, a tag, a block hash, or an
object naming one of them.
"""

from __future__ import annotations

import re
from typing import Any, cast, get_args

from eth.constants import BLANK_ROOT_HASH
from eth_utils.address import is_checksum_address, to_checksum_address

from chain_adapter.evm_records import ReceiptExtras, Transaction
from chain_adapter.protocol import BlockId, BlockTag, CallRequest, Log, Receipt
from chain_adapter.rpc_dispatch import InvalidParams

BLOCK_TAGS: frozenset[str] = frozenset(get_args(BlockTag))
UINT64_MAX = 2**64 - 1
UINT256_MAX = 2**256 - 1
MAX_FILTER_ITEMS = 1_000  # addresses, or options of one topic position, per eth_getLogs

_QUANTITY = re.compile(r"0[xX](0|[1-9a-fA-F][0-9a-fA-F]*)")
_DATA = re.compile(r"0[xX](?:[0-9a-fA-F]{2})*")


# -- results -------------------------------------------------------------------------


def quantity(value: int) -> str:
    if value < 0:
        raise ValueError(f"a quantity cannot be negative: {value}")
    return hex(value)


def data(value: bytes) -> str:
    return "0x" + value.hex()


def address(value: str) -> str:
    """An address as geth renders it: lowercase, 20 bytes."""
    return value.lower()


def optional_address(value: str | None) -> str | None:
    return None if value is None else address(value)


def render_log(log: Log) -> dict[str, Any]:
    """A log object (spec schema ``Log``); this chain never reorganises, so never ``removed``."""
    return {
        "address": address(log.address),
        "topics": list(log.topics),
        "data": data(log.data),
        "blockNumber": quantity(log.block_number),
        "blockHash": log.block_hash,
        "transactionHash": log.transaction_hash,
        "transactionIndex": quantity(log.transaction_index),
        "logIndex": quantity(log.log_index),
        "removed": False,
    }


def render_transaction(tx: Transaction) -> dict[str, Any]:
    """A mined transaction (spec schema ``TransactionInfo``), with the fields of its type."""
    out: dict[str, Any] = {
        "blockHash": tx.block_hash,
        "blockNumber": quantity(tx.block_number),
        "transactionIndex": quantity(tx.transaction_index),
        "hash": tx.hash,
        "type": quantity(tx.type),
        "from": address(tx.from_address),
        "to": optional_address(tx.to_address),
        "nonce": quantity(tx.nonce),
        "gas": quantity(tx.gas),
        "value": quantity(tx.value),
        "input": data(tx.input),
        # For mined EIP-1559 transactions this is the effective price paid.
        "gasPrice": quantity(tx.gas_price),
    }
    if tx.chain_id is not None:
        out["chainId"] = quantity(tx.chain_id)
    if tx.max_fee_per_gas is not None:
        out["maxFeePerGas"] = quantity(tx.max_fee_per_gas)
    if tx.max_priority_fee_per_gas is not None:
        out["maxPriorityFeePerGas"] = quantity(tx.max_priority_fee_per_gas)
    if tx.type >= 1:
        out["accessList"] = [
            {"address": address(account), "storageKeys": list(keys)}
            for account, keys in tx.access_list
        ]
        out["yParity"] = quantity(tx.v)
    out.update(v=quantity(tx.v), r=quantity(tx.r), s=quantity(tx.s))
    return out


def render_receipt(receipt: Receipt, tx: Transaction, extras: ReceiptExtras) -> dict[str, Any]:
    """A receipt (spec schema ``ReceiptInfo``), post-Byzantium: ``status``, never ``root``."""
    return {
        "transactionHash": receipt.transaction_hash,
        "transactionIndex": quantity(receipt.transaction_index),
        "blockHash": receipt.block_hash,
        "blockNumber": quantity(receipt.block_number),
        "from": address(receipt.from_address),
        "to": optional_address(receipt.to_address),
        "cumulativeGasUsed": quantity(extras.cumulative_gas_used),
        "gasUsed": quantity(receipt.gas_used),
        "effectiveGasPrice": quantity(tx.gas_price),
        "contractAddress": optional_address(receipt.contract_address),
        "logs": [render_log(log) for log in receipt.logs],
        "logsBloom": data(extras.logs_bloom),
        "status": quantity(receipt.status),
        "type": quantity(tx.type),
    }


def render_block(header: Any, *, size: int, transactions: list[Any]) -> dict[str, Any]:
    """A block (spec schema ``Block``) from a py-evm header; fork-specific fields when present.

    ``transactions`` is already rendered: hashes, or transaction objects.
    """
    out: dict[str, Any] = {
        "number": quantity(header.block_number),
        "hash": data(header.hash),
        "parentHash": data(header.parent_hash),
        "nonce": data(header.nonce),
        "sha3Uncles": data(header.uncles_hash),
        "logsBloom": data(header.bloom.to_bytes(256, "big")),
        "transactionsRoot": data(header.transaction_root),
        "stateRoot": data(header.state_root),
        "receiptsRoot": data(header.receipt_root),
        "miner": data(header.coinbase),
        "difficulty": quantity(header.difficulty),
        # Proof-of-stake headers (EIP-3675) and this chain's genesis have difficulty 0.
        "totalDifficulty": quantity(0),
        "extraData": data(header.extra_data),
        "size": quantity(size),
        "gasLimit": quantity(header.gas_limit),
        "gasUsed": quantity(header.gas_used),
        "timestamp": quantity(header.timestamp),
        "mixHash": data(header.mix_hash),
        "transactions": transactions,
        "uncles": [],
    }
    for field, key in (
        ("base_fee_per_gas", "baseFeePerGas"),
        ("blob_gas_used", "blobGasUsed"),
        ("excess_blob_gas", "excessBlobGas"),
    ):
        if hasattr(header, field):
            out[key] = quantity(getattr(header, field))
    if hasattr(header, "withdrawals_root"):
        out["withdrawalsRoot"] = data(header.withdrawals_root)
        # No consensus layer feeds this chain, so its withdrawal lists are empty: the
        # root says so, and only then is the (empty) list rendered.
        if header.withdrawals_root == BLANK_ROOT_HASH:
            out["withdrawals"] = []
    if hasattr(header, "parent_beacon_block_root"):
        out["parentBeaconBlockRoot"] = data(header.parent_beacon_block_root)
    return out


# -- params --------------------------------------------------------------------------


def arguments(params: list[Any], *, required: int, optional: int = 0) -> list[Any]:
    """``params`` padded with ``None`` to ``required + optional`` items, after arity checks."""
    limit = required + optional
    if len(params) > limit:
        raise InvalidParams(f"too many arguments, want at most {limit}")
    if len(params) < required:
        raise InvalidParams(f"missing value for required argument {len(params)}")
    return params + [None] * (limit - len(params))


def parse_quantity(value: Any, what: str, *, maximum: int = UINT256_MAX) -> int:
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value):
        raise InvalidParams(
            f"invalid {what}: expected a hex quantity such as 0x1f (no leading zeros), "
            f"got {_show(value)}"
        )
    number = int(value[2:], 16)
    if number > maximum:
        raise InvalidParams(f"invalid {what}: {value} is out of range")
    return number


def parse_data(value: Any, what: str, *, size: int | None = None) -> bytes:
    if not isinstance(value, str) or not _DATA.fullmatch(value):
        raise InvalidParams(
            f"invalid {what}: expected 0x-prefixed hex data with an even number of digits, "
            f"got {_show(value)}"
        )
    raw = bytes.fromhex(value[2:])
    if size is not None and len(raw) != size:
        raise InvalidParams(f"invalid {what}: expected {size} bytes, got {len(raw)}")
    return raw


def parse_address(value: Any, what: str = "address") -> str:
    """A 20-byte address, returned EIP-55 checksummed.

    Any single case is accepted, as nodes do; mixed case must be a valid EIP-55
    checksum (https://eips.ethereum.org/EIPS/eip-55), since a wrong one means a typo.
    """
    raw = parse_data(value, what, size=20)
    digits = str(value)[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(value):
        raise InvalidParams(f"invalid {what}: {value} has a wrong EIP-55 checksum")
    return to_checksum_address(raw)


def parse_hash(value: Any, what: str = "hash") -> str:
    """A 32-byte hash, returned lowercase."""
    return data(parse_data(value, what, size=32))


def parse_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"invalid {what}: expected true or false, got {_show(value)}")
    return value


def parse_block_number(value: Any, what: str = "block number") -> int | BlockTag:
    """A block number or tag (``eth_getBlockByNumber``, ``eth_getLogs``, ``eth_feeHistory``)."""
    if isinstance(value, str) and value in BLOCK_TAGS:
        return cast(BlockTag, value)
    if isinstance(value, str) and _QUANTITY.fullmatch(value):
        return parse_quantity(value, what, maximum=UINT64_MAX)
    raise InvalidParams(
        f"invalid {what}: expected a hex quantity or one of {', '.join(sorted(BLOCK_TAGS))}, "
        f"got {_show(value)}"
    )


def parse_block_id(value: Any, what: str = "block") -> BlockId:
    """An EIP-1898 block parameter; ``None`` (omitted) means ``latest``."""
    if value is None:
        return "latest"
    if isinstance(value, str) and len(value) == 66:
        return parse_hash(value, f"{what} hash")
    if isinstance(value, dict):
        if "blockHash" in value and "blockNumber" not in value:
            if "requireCanonical" in value:
                # Every block of this chain is canonical; only the flag's type is checked.
                parse_bool(value["requireCanonical"], "requireCanonical")
            return parse_hash(value["blockHash"], "blockHash")
        if "blockNumber" in value and len(value) == 1:
            return parse_block_number(value["blockNumber"], "blockNumber")
        raise InvalidParams(f"invalid {what}: expected exactly one of blockHash or blockNumber")
    return parse_block_number(value, what)


def parse_call_request(value: Any) -> CallRequest:
    """The transaction object of ``eth_call`` / ``eth_estimateGas``.

    Fee, nonce and type fields are checked for form but do not change the result:
    the embedded chain executes calls at a zero gas price.
    """
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid transaction object: expected an object, got {_show(value)}")
    input_ = None if value.get("input") is None else parse_data(value["input"], "input")
    data_ = None if value.get("data") is None else parse_data(value["data"], "data")
    if input_ is not None and data_ is not None and input_ != data_:
        raise InvalidParams('both "data" and "input" are set and not equal')
    for key in ("gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "nonce", "type", "chainId"):
        if value.get(key) is not None:
            parse_quantity(value[key], key)
    gas = value.get("gas")
    to = value.get("to")
    sender = value.get("from")
    return CallRequest(
        to=None if to is None else parse_address(to, "to"),
        data=input_ if input_ is not None else (data_ or b""),
        from_address=None if sender is None else parse_address(sender, "from"),
        value=0 if value.get("value") is None else parse_quantity(value["value"], "value"),
        gas=None if gas is None else parse_quantity(gas, "gas", maximum=UINT64_MAX),
    )


def parse_slot(value: Any) -> int:
    # Geth takes a storage key either as a quantity or as 32-byte data; so do we.
    if isinstance(value, str) and len(value) == 66:
        return int.from_bytes(parse_data(value, "storage slot", size=32), "big")
    return parse_quantity(value, "storage slot")


def parse_log_addresses(value: Any) -> str | tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_address(value)
    if not isinstance(value, list) or len(value) > MAX_FILTER_ITEMS:
        raise InvalidParams(
            f"invalid address filter: expected an address or an array of at most "
            f"{MAX_FILTER_ITEMS} addresses"
        )
    # An empty array filters nothing out, as in geth.
    return tuple(parse_address(a) for a in value) or None


def parse_topics(value: Any) -> tuple[str | tuple[str, ...] | None, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > 4:
        raise InvalidParams("invalid topics: expected an array of at most 4 positions")
    positions: list[str | tuple[str, ...] | None] = []
    for index, position in enumerate(value):
        if position is None or isinstance(position, str):
            positions.append(None if position is None else parse_hash(position, "topic"))
            continue
        if not isinstance(position, list) or len(position) > MAX_FILTER_ITEMS:
            raise InvalidParams(
                f"invalid topics[{index}]: expected null, a topic or an array of at most "
                f"{MAX_FILTER_ITEMS} topics"
            )
        options = [None if t is None else parse_hash(t, "topic") for t in position]
        # A null or an empty array in a position matches anything there, as in geth.
        matches_any = not options or None in options
        positions.append(None if matches_any else tuple(o for o in options if o is not None))
    return tuple(positions)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
