"""The embedded chain: an in-process EVM (py-evm) that persists on disk.

It is the hub's default chain, so that one machine with no external services can
run the whole hub. It behaves like a single-validator consortium chain:

* **instant sealing**: every accepted transaction is mined into its own block
  at once, and the block is committed to disk before ``send_raw_transaction``
  returns, so a restart keeps every block, receipt, log and state change;
* **free gas**: the genesis base fee is zero and stays zero while blocks are
  below their gas target (EIP-1559 §"Specification"), as on Besu/GoQuorum
  networks run with ``min-gas-price=0``; funded accounts still work;
* a configured chain id, enforced by EIP-155 signature checks.

Blocks, receipts and state live in py-evm's key-value layout (``kvstore``); a
side table indexes logs so ``eth_getLogs`` does not replay receipt tries.

One lock serialises the writer and the short reads; ``call`` and ``estimate_gas``
never take it: they run on read-only snapshots of the store, under an optional gas
cap and deadline (:mod:`chain_adapter.rpc_execution`), so a slow call cannot hold
up sealing, anchoring or readiness checks.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth import constants as evm_constants
from eth.abc import BlockAPI, BlockHeaderAPI, SignedTransactionAPI, StateAPI
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.exceptions import TransactionNotFound, UnrecognizedTransactionType
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.address import to_canonical_address
from eth_utils.exceptions import ValidationError as EthUtilsValidationError
from eth_utils.hexadecimal import decode_hex, encode_hex
from rlp import encode as rlp_encode
from rlp.exceptions import DecodingError, DeserializationError

from chain_adapter.errors import (
    ChainUnavailable,
    TransactionRejected,
    WrongChainId,
)
from chain_adapter.evm_records import (
    INDEX_SCHEMA,
    ReceiptExtras,
    Transaction,
    build_receipt,
    describe_transaction,
    log_from_row,
    log_query,
    log_rows,
)
from chain_adapter.kvstore import SqliteKV, open_database
from chain_adapter.protocol import (
    Block,
    BlockId,
    CallRequest,
    FeeParams,
    Log,
    LogFilter,
    Receipt,
)
from chain_adapter.rpc_execution import DeadlineCancunVM, SnapshotCalls, resolve_header
from chain_adapter.writer_lock import WriterLock

GAS_LIMIT = 30_000_000


class _ConsortiumChain(MiningChain):
    # Cancun; its executions honour a deadline when one is set (only read-only calls set one).
    vm_configuration = ((BlockNumber(0), DeadlineCancunVM),)

    def create_header_from_parent(
        self, parent_header: BlockHeaderAPI, **header_params: Any
    ) -> BlockHeaderAPI:
        # A consortium chain keeps a constant gas limit instead of voting it up or down.
        header_params.setdefault("gas_limit", parent_header.gas_limit)
        return super().create_header_from_parent(parent_header, **header_params)


class EmbeddedChain:
    """A persistent single-node EVM chain implementing :class:`chain_adapter.protocol.Chain`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        chain_class: type[_ConsortiumChain],
        writer_lock: WriterLock | None = None,
    ) -> None:
        self._writer_lock = writer_lock
        self._conn = conn
        self._kv = SqliteKV(conn)
        self._chain_class = chain_class
        self._lock = threading.RLock()
        self._closed = False
        self._evm = chain_class(AtomicDB(self._kv))
        path = next(row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main")
        self._calls = SnapshotCalls(Path(path), chain_class)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        chain_id: int,
        prefund: Mapping[str, int] | None = None,
        gas_limit: int = GAS_LIMIT,
        lock: WriterLock | None = None,
    ) -> EmbeddedChain:
        """Open the chain stored in ``data_dir``, creating its genesis block on first use.

        ``prefund`` only matters at genesis; an existing chain keeps its state. The chain
        holds ``data_dir``'s writer lock (issue 11: one writer per chain) until closed:
        ``lock`` if the caller took it earlier, else it takes it, raising
        :class:`~chain_adapter.writer_lock.ChainLocked` while another process has it.
        """
        lock = lock or WriterLock.acquire(Path(data_dir))
        try:
            return cls._open_locked(Path(data_dir), chain_id, prefund, gas_limit, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(
        cls,
        data_dir: Path,
        chain_id: int,
        prefund: Mapping[str, int] | None,
        gas_limit: int,
        lock: WriterLock,
    ) -> EmbeddedChain:
        conn = open_database(data_dir / "chain.sqlite3", INDEX_SCHEMA)
        chain_class: type[_ConsortiumChain] = type(
            "ConsortiumChain", (_ConsortiumChain,), {"chain_id": chain_id}
        )
        stored = conn.execute("SELECT value FROM meta WHERE name = 'chain_id'").fetchone()
        if stored is not None and int(stored[0]) != chain_id:
            conn.close()
            raise WrongChainId(
                f"the chain stored in {data_dir} has chain id {stored[0]}, not {chain_id}"
            )
        if stored is None:
            genesis_state: dict[Address, Any] = {
                to_canonical_address(address): {
                    "balance": balance,
                    "nonce": 0,
                    "code": b"",
                    "storage": {},
                }
                for address, balance in (prefund or {}).items()
            }
            genesis_params: dict[str, Any] = {
                "coinbase": evm_constants.ZERO_ADDRESS,
                "difficulty": 0,
                "gas_limit": gas_limit,
                "timestamp": int(time.time()),
                "extra_data": b"notary-hub embedded chain",
                "nonce": b"\x00" * 8,
                "mix_hash": evm_constants.ZERO_HASH32,
                "base_fee_per_gas": 0,
            }
            kv = SqliteKV(conn)
            chain_class.from_genesis(AtomicDB(kv), genesis_params, genesis_state)
            conn.execute("INSERT INTO meta (name, value) VALUES ('chain_id', ?)", (str(chain_id),))
            kv.commit()
        return cls(conn, chain_class, lock)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Serialise access; a closed or failing store is an unavailable chain."""
        with self._lock:
            if self._closed:
                raise ChainUnavailable("the embedded chain is closed")
            try:
                yield
            except sqlite3.Error as exc:
                raise ChainUnavailable(f"the embedded chain's store failed: {exc}") from None

    # -- Chain protocol ---------------------------------------------------------------

    @property
    def chain_id(self) -> int:
        chain_id: int = self._chain_class.chain_id
        return chain_id

    def block_number(self) -> int:
        with self._guard():
            number: int = self._evm.get_canonical_head().block_number
            return number

    def get_block(self, block: BlockId = "latest") -> Block:
        with self._guard():
            evm_block = self._block(block)
            header = evm_block.header
            return Block(
                number=header.block_number,
                hash=encode_hex(header.hash),
                parent_hash=encode_hex(header.parent_hash),
                timestamp=header.timestamp,
                transactions=tuple(encode_hex(tx.hash) for tx in evm_block.transactions),
                gas_limit=header.gas_limit,
                gas_used=header.gas_used,
                base_fee_per_gas=getattr(header, "base_fee_per_gas", None),
            )

    def get_code(self, address: str, block: BlockId = "latest") -> bytes:
        with self._guard():
            code: bytes = self._state(block).get_code(to_canonical_address(address))
            return code

    def get_balance(self, address: str, block: BlockId = "latest") -> int:
        with self._guard():
            balance: int = self._state(block).get_balance(to_canonical_address(address))
            return balance

    def get_transaction_count(self, address: str, block: BlockId = "pending") -> int:
        with self._guard():
            nonce: int = self._state(block).get_nonce(to_canonical_address(address))
            return nonce

    def call(
        self,
        request: CallRequest,
        block: BlockId = "latest",
        *,
        gas_cap: int | None = None,
        deadline: float | None = None,
    ) -> bytes:
        """Run ``request`` against the state after ``block``, on a snapshot, without the lock.

        ``gas`` above ``gas_cap`` is clamped to it; past ``deadline`` (``time.monotonic``)
        the execution aborts with :class:`~chain_adapter.rpc_execution.ExecutionTimeout`.
        """
        return self._calls.call(request, block, gas_cap=gas_cap, deadline=deadline)

    def estimate_gas(
        self, request: CallRequest, *, gas_cap: int | None = None, deadline: float | None = None
    ) -> int:
        """The gas ``request`` needs at the head, searched up to ``gas_cap``; as :meth:`call`."""
        return self._calls.estimate_gas(request, gas_cap=gas_cap, deadline=deadline)

    def fee_params(self) -> FeeParams:
        with self._guard():
            base_fee = getattr(self._evm.get_canonical_head(), "base_fee_per_gas", 0) or 0
        return FeeParams(max_fee_per_gas=2 * base_fee, max_priority_fee_per_gas=0)

    def send_raw_transaction(self, raw: bytes) -> str:
        """Validate, execute and seal ``raw`` into a new block; return its hash.

        Sending bytes that are already mined returns their hash again, which is
        what lets a sender re-broadcast after a crash without double effects.
        """
        with self._guard():
            vm = self._evm.get_vm()
            try:
                tx = vm.get_transaction_builder().decode(raw)
            except (
                DecodingError,
                DeserializationError,
                UnrecognizedTransactionType,
                EthUtilsValidationError,
                ValueError,
                TypeError,
            ) as exc:
                raise TransactionRejected(f"undecodable transaction: {exc}") from None
            if self._tx_index(tx.hash) is not None:
                return encode_hex(tx.hash)
            # py-evm leaves replay protection to the caller: refuse transactions
            # signed for another chain, and legacy ones signed for no chain at all.
            tx_chain_id = getattr(tx, "chain_id", None)
            if tx_chain_id != self.chain_id:
                raise TransactionRejected(
                    f"transaction is signed for chain id {tx_chain_id}, this chain is "
                    f"{self.chain_id} (EIP-155 replay protection is required)"
                )
            self._seal(tx)
            return encode_hex(tx.hash)

    def get_receipt(self, tx_hash: str) -> Receipt | None:
        with self._guard():
            located = self._tx_index(decode_hex(tx_hash))
            if located is None:
                return None
            block_number, index = located
            evm_block = self._evm.get_canonical_block_by_number(BlockNumber(block_number))
            receipts = evm_block.get_receipts(self._evm.chaindb)
            return build_receipt(evm_block, receipts, index)

    def get_logs(self, flt: LogFilter) -> list[Log]:
        with self._guard():
            query, params = log_query(flt, self._header(flt.to_block).block_number)
            rows = self._conn.execute(query, params).fetchall()
        return [log_from_row(row) for row in rows]

    def close(self) -> None:
        self._calls.close()  # a call still running finishes on its own connection
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
                if self._writer_lock is not None:
                    self._writer_lock.release()

    # -- Beyond the protocol: what the JSON-RPC server needs --------------------------

    def get_transaction(self, tx_hash: str) -> Transaction | None:
        with self._guard():
            located = self._tx_index(decode_hex(tx_hash))
            if located is None:
                return None
            block_number, index = located
            evm_block = self._evm.get_canonical_block_by_number(BlockNumber(block_number))
            return describe_transaction(evm_block, index)

    def block_transactions(self, block: BlockId) -> list[Transaction]:
        with self._guard():
            evm_block = self._block(block)
            return [describe_transaction(evm_block, i) for i in range(len(evm_block.transactions))]

    def block_header(self, block: BlockId) -> BlockHeaderAPI:
        with self._guard():
            return self._header(block)

    def block_size(self, block: BlockId) -> int:
        """The length of the block's RLP encoding, as ``eth_getBlockBy*`` reports in ``size``."""
        with self._guard():
            return len(rlp_encode(self._block(block)))

    def receipt_extras(self, tx_hash: str) -> ReceiptExtras | None:
        with self._guard():
            located = self._tx_index(decode_hex(tx_hash))
            if located is None:
                return None
            block_number, index = located
            evm_block = self._evm.get_canonical_block_by_number(BlockNumber(block_number))
            receipt = evm_block.get_receipts(self._evm.chaindb)[index]
            # py-evm receipts carry the block's running gas total, not the transaction's own.
            return ReceiptExtras(
                cumulative_gas_used=receipt.gas_used,
                logs_bloom=receipt.bloom.to_bytes(256, "big"),
            )

    def get_storage_at(self, address: str, slot: int, block: BlockId = "latest") -> int:
        with self._guard():
            state = self._state(block)
            value: int = state.get_storage(to_canonical_address(address), slot)
            return value

    # -- internals --------------------------------------------------------------------

    def _seal(self, tx: SignedTransactionAPI) -> None:
        head = self._evm.get_canonical_head()
        # A fresh pending header per transaction: its timestamp is now, not when
        # the previous block was sealed.
        self._evm.header = self._evm.create_header_from_parent(head)
        try:
            self._evm.apply_transaction(tx)
            evm_block = self._evm.mine_block()
        except (EthUtilsValidationError, ValueError) as exc:
            self._kv.rollback()
            self._evm = self._chain_class(AtomicDB(self._kv))
            raise TransactionRejected(f"transaction rejected: {exc}") from None
        self._index_logs(evm_block)
        self._kv.commit()

    def _index_logs(self, evm_block: BlockAPI) -> None:
        rows = log_rows(evm_block, evm_block.get_receipts(self._evm.chaindb))
        self._conn.executemany("INSERT INTO logs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _tx_index(self, tx_hash: bytes) -> tuple[int, int] | None:
        try:
            located: tuple[int, int] = self._evm.chaindb.get_transaction_index(Hash32(tx_hash))
        except TransactionNotFound:
            return None
        return located

    def _state(self, block: BlockId) -> StateAPI:
        """The world state after ``block``."""
        return self._evm.get_vm(self._header(block)).state

    def _header(self, block: BlockId) -> BlockHeaderAPI:
        return resolve_header(self._evm, block)

    def _block(self, block: BlockId) -> BlockAPI:
        header = self._header(block)
        return self._evm.get_block_by_header(header)
