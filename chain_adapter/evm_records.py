"""What the embedded chain says about its transactions, receipts and logs, in protocol terms.

Pure translations from py-evm's objects to the dataclasses of
:mod:`chain_adapter.protocol` and to the extra fields the JSON-RPC server serves
(execution-apis ``eth_getTransactionByHash`` / ``eth_getTransactionReceipt``), and
to and from the rows of the side table that indexes logs for ``eth_getLogs``
("eth/filter"), so that a filter does not replay receipt tries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, ReceiptAPI
from eth.exceptions import Revert
from eth_utils.address import to_canonical_address, to_checksum_address
from eth_utils.hexadecimal import decode_hex, encode_hex

from chain_adapter.errors import CallReverted, ChainError
from chain_adapter.protocol import Log, LogFilter, Receipt
from chain_adapter.revert import decode_revert_reason

INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_index INTEGER NOT NULL,
    tx_hash BLOB NOT NULL,
    block_hash BLOB NOT NULL,
    address BLOB NOT NULL,
    topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB,
    data BLOB NOT NULL,
    PRIMARY KEY (block_number, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logs_address ON logs (address, block_number);
CREATE INDEX IF NOT EXISTS logs_topic0 ON logs (topic0, block_number);
"""
_LOG_COLUMNS = (
    "block_number, log_index, tx_index, tx_hash, block_hash, address, "
    "topic0, topic1, topic2, topic3, data"
)


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


def log_rows(evm_block: BlockAPI, receipts: Iterable[ReceiptAPI]) -> list[tuple[Any, ...]]:
    """The ``logs`` rows of a sealed block, in :data:`INDEX_SCHEMA` column order."""
    rows = []
    log_index = 0
    pairs = zip(evm_block.transactions, receipts, strict=True)
    for tx_index, (tx, receipt) in enumerate(pairs):
        for log in receipt.logs:
            topics = [t.to_bytes(32, "big") for t in log.topics] + [None] * 4
            rows.append(
                (
                    evm_block.header.block_number,
                    log_index,
                    tx_index,
                    tx.hash,
                    evm_block.header.hash,
                    log.address,
                    *topics[:4],
                    log.data,
                )
            )
            log_index += 1
    return rows


def log_query(flt: LogFilter, to_block: int) -> tuple[str, list[Any]]:
    """The SQL selecting the rows ``flt`` matches up to ``to_block``, and its bound values."""
    clauses = ["block_number BETWEEN ? AND ?"]
    params: list[Any] = [flt.from_block, to_block]
    if flt.address is not None:
        addresses = (flt.address,) if isinstance(flt.address, str) else flt.address
        clauses.append(f"address IN ({','.join('?' * len(addresses))})")
        params.extend(to_canonical_address(a) for a in addresses)
    for position, topic in enumerate(flt.topics[:4]):
        if topic is None:
            continue
        options = (topic,) if isinstance(topic, str) else topic
        clauses.append(f"topic{position} IN ({','.join('?' * len(options))})")
        params.extend(decode_hex(t) for t in options)
    # The clauses hold only fixed column names and '?' markers; values are bound.
    where = " AND ".join(clauses)
    query = f"SELECT {_LOG_COLUMNS} FROM logs WHERE {where} ORDER BY block_number, log_index"  # noqa: S608
    return query, params


def log_from_row(row: tuple[Any, ...]) -> Log:
    return Log(
        address=to_checksum_address(row[5]),
        topics=tuple(encode_hex(t) for t in row[6:10] if t is not None),
        data=row[10],
        block_number=row[0],
        block_hash=encode_hex(row[4]),
        transaction_hash=encode_hex(row[3]),
        transaction_index=row[2],
        log_index=row[1],
    )
