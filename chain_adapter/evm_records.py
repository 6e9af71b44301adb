"""What the embedded chain says about its transactions and receipts, in protocol terms.

Pure translations from py-evm's objects to the dataclasses of
:mod:`chain_adapter.protocol` and to the extra fields the JSON-RPC server serves
(execution-apis ``eth_getTransactionByHash`` / ``eth_getTransactionReceipt``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, ReceiptAPI
from eth.exceptions import Revert
from eth_utils.address import to_checksum_address
from eth_utils.hexadecimal import encode_hex

from chain_adapter.errors import CallReverted, ChainError
from chain_adapter.protocol import Log, Receipt
from chain_adapter.revert import decode_revert_reason


@dataclass(frozen=True, slots=True)
class Transaction:
    """A mined transaction, as ``eth_getTransactionByHash`` describes it."""

    hash: str
    block_number: int
    block_hash: str
    transaction_index: int
    from_address: str
    to_address: str | None
    nonce: int
    gas: int
    value: int
    input: bytes
    type: int
    chain_id: int | None
    gas_price: int
    max_fee_per_gas: int | None
    max_priority_fee_per_gas: int | None
    v: int
    r: int
    s: int
    # EIP-2930 (address, storage keys) pairs; empty for legacy transactions.
    access_list: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiptExtras:
    """The receipt fields of ``eth_getTransactionReceipt`` that :class:`Receipt` leaves out."""

    cumulative_gas_used: int
    logs_bloom: bytes  # 256 bytes


def build_receipt(evm_block: BlockAPI, receipts: Iterable[ReceiptAPI], index: int) -> Receipt:
    receipts = tuple(receipts)
    tx = evm_block.transactions[index]
    header = evm_block.header
    previous_gas = receipts[index - 1].gas_used if index else 0
    first_log = sum(len(r.logs) for r in receipts[:index])
    tx_hash = encode_hex(tx.hash)
    block_hash = encode_hex(header.hash)
    logs = tuple(
        Log(
            address=to_checksum_address(log.address),
            topics=tuple(encode_hex(t.to_bytes(32, "big")) for t in log.topics),
            data=log.data,
            block_number=header.block_number,
            block_hash=block_hash,
            transaction_hash=tx_hash,
            transaction_index=index,
            log_index=first_log + i,
        )
        for i, log in enumerate(receipts[index].logs)
    )
    contract_address = None
    if not tx.to:
        contract_address = to_checksum_address(generate_contract_address(tx.sender, tx.nonce))
    return Receipt(
        transaction_hash=tx_hash,
        block_number=header.block_number,
        block_hash=block_hash,
        transaction_index=index,
        status=0 if receipts[index].state_root == b"" else 1,
        gas_used=receipts[index].gas_used - previous_gas,
        from_address=to_checksum_address(tx.sender),
        to_address=to_checksum_address(tx.to) if tx.to else None,
        contract_address=contract_address,
        logs=logs,
    )


def describe_transaction(evm_block: BlockAPI, index: int) -> Transaction:
    tx = evm_block.transactions[index]
    typed = getattr(tx, "type_id", None)
    max_fee = getattr(tx, "max_fee_per_gas", None) if typed in (2, 3, 4) else None
    priority = getattr(tx, "max_priority_fee_per_gas", None) if typed in (2, 3, 4) else None
    base_fee = getattr(evm_block.header, "base_fee_per_gas", 0) or 0
    effective_price = (
        min(max_fee, base_fee + (priority or 0)) if max_fee is not None else tx.gas_price
    )
    return Transaction(
        hash=encode_hex(tx.hash),
        block_number=evm_block.header.block_number,
        block_hash=encode_hex(evm_block.header.hash),
        transaction_index=index,
        from_address=to_checksum_address(tx.sender),
        to_address=to_checksum_address(tx.to) if tx.to else None,
        nonce=tx.nonce,
        gas=tx.gas,
        value=tx.value,
        input=tx.data,
        type=typed or 0,
        chain_id=getattr(tx, "chain_id", None),
        gas_price=effective_price,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=priority,
        v=tx.y_parity if typed else getattr(tx, "v", 0),
        r=tx.r,
        s=tx.s,
        access_list=tuple(
            (
                to_checksum_address(entry[0]),
                tuple(encode_hex(k.to_bytes(32, "big")) for k in entry[1]),
            )
            for entry in getattr(tx, "access_list", ())
        ),
    )


def call_reverted(exc: Revert) -> ChainError:
    data = exc.args[0] if exc.args and isinstance(exc.args[0], bytes) else b""
    reason = decode_revert_reason(data)
    return CallReverted(
        f"execution reverted: {reason}" if reason else "execution reverted",
        reason=reason,
        data=data,
    )
