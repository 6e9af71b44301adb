"""The one place where the hub builds, signs and sends transactions, on any backend.

Signing is local (eth-account ``sign_transaction``; never ``eth_sendTransaction``),
so the node never holds a key. Transactions are EIP-1559 (type 2) when the chain
has a base fee and legacy otherwise, always with the EIP-155 chain id (EIP-155
"Specification"; EIP-1559 "Specification"). Gas comes from ``eth_estimateGas``
times a safety margin, so a call that would revert fails as
:class:`~chain_adapter.errors.CallReverted` *before* anything is sent.

Nonces: one lock and one local counter per :class:`Transactor` (so per sender:
share one Transactor per account across threads). The counter starts from
``eth_getTransactionCount(sender, "pending")`` and is re-read after the node
rejects a transaction, which also repairs the gap a rejected nonce leaves.

Several processes sending from one account (issue 16: HTTP and pipeline workers on one
database) pass ``sender_lock``, a lock they all share (``hub_kernel.advisory_locks``):
reading the nonce, signing and broadcasting happen under it (:meth:`sending`), and the
nonce is read from the node every time, since another process may have used the next
one. A transaction built to be recorded before it is sent is built and sent inside one
``with transactor.sending():``.

Exactly-once: :meth:`build` returns the signed bytes before anything is sent; a
caller may persist them, :meth:`send` them, and after a crash send the *same*
bytes again: backends answer re-sent bytes with their hash, not an error.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from chain_adapter.errors import (
    CallReverted,
    ChainError,
    ChainUnavailable,
    ReceiptTimeout,
    TransactionRejected,
    TransactionReverted,
)
from chain_adapter.metrics import count_chain_error
from chain_adapter.protocol import CallRequest, Chain, FeeParams, Receipt

_REPLAY_MEMORY = 4096  # sent transactions whose call is kept to explain a revert


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed transaction, ready to be (re-)broadcast as is."""

    raw: bytes
    hash: str
    nonce: int
    sender: str


class Transactor:
    """Builds, signs (locally), sends and awaits transactions of one account on one chain.

    ``confirmations`` is the depth :meth:`wait` requires: a receipt in block ``b``
    is confirmed once ``head - b + 1 >= confirmations``, i.e. its own block counts
    as the first confirmation. 0 and 1 both mean "mined"; 3 means two more blocks
    on top. Thread-safe.
    """

    def __init__(
        self,
        chain: Chain,
        account: LocalAccount,
        *,
        confirmations: int = 0,
        receipt_timeout: float = 120.0,
        poll_interval: float = 0.5,
        gas_multiplier: float = 1.2,
        sender_lock: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        if gas_multiplier < 1.0:
            raise ValueError("gas_multiplier below 1.0 would under-fund estimated transactions")
        self._chain = chain
        self._account = account
        self._confirmations = max(0, confirmations)
        self._receipt_timeout = receipt_timeout
        self._poll_interval = poll_interval
        self._gas_multiplier = gas_multiplier
        self._lock = threading.RLock()
        self._sender_lock = sender_lock
        self._sending_depth = 0  # this process's nesting of sending(), under _lock
        self._next_nonce: int | None = None  # None: read it from the chain before next use
        self._replay: OrderedDict[str, tuple[CallRequest, int]] = OrderedDict()

    @property
    def address(self) -> str:
        return str(self._account.address)

    @property
    def chain(self) -> Chain:
        return self._chain

    @contextmanager
    def sending(self) -> Iterator[None]:
        """This process's, and with a ``sender_lock`` every process's, only sender."""
        with self._lock:
            if self._sender_lock is None or self._sending_depth:
                self._sending_depth += 1
                try:
                    yield
                finally:
                    self._sending_depth -= 1
                return
            with self._sender_lock():
                self._next_nonce = None  # another process may have used it
                self._sending_depth += 1
                try:
                    yield
                finally:
                    self._sending_depth -= 1

    def build(
        self, to: str | None, data: bytes = b"", value: int = 0, gas: int | None = None
    ) -> SignedTx:
        """Sign a transaction to ``to`` (``None``: contract creation) and reserve its nonce.

        With ``gas=None`` the gas limit is estimated, so a reverting call raises
        :class:`CallReverted` here and no nonce is used.
        """
        gas_limit, fees = self._prepare(to, data, value, gas)
        with self._lock:
            if self._sender_lock is not None and not self._sending_depth:
                self._next_nonce = None  # not under sending(): the node's count is the truth
            return self._sign(to, data, value, gas_limit, fees)

    def send(self, signed: SignedTx) -> str:
        """Broadcast ``signed``; returns its hash. Safe to repeat with the same ``signed``.

        On :class:`TransactionRejected` the nonce counter is re-read from the chain.
        On :class:`ChainUnavailable` it is kept: the bytes may have reached the node,
        and the caller is expected to send them again later.
        """
        try:
            return self._chain.send_raw_transaction(signed.raw)
        except TransactionRejected as exc:
            count_chain_error("transactor", exc.code)
            self._resync()
            raise
        except ChainError as exc:
            count_chain_error("transactor", exc.code)
            raise

    def wait(self, tx_hash: str) -> Receipt:
        """The receipt of ``tx_hash`` once it has ``confirmations`` blocks.

        Raises :class:`TransactionReverted` (with the revert reason when a replay as
        ``eth_call`` at the receipt's block recovers it) for status 0, and
        :class:`ReceiptTimeout` after ``receipt_timeout`` seconds. A node that is
        briefly unavailable only delays the wait.
        """
        deadline = time.monotonic() + self._receipt_timeout
        last_error: ChainError | None = None
        while True:
            try:
                receipt = self._confirmed_receipt(tx_hash)
            except ChainUnavailable as exc:
                receipt, last_error = None, exc
            if receipt is not None:
                with self._lock:
                    replay = self._replay.pop(tx_hash.lower(), None)
                if not receipt.succeeded:
                    reverted = self._reverted(receipt, replay)
                    count_chain_error("transactor", reverted.code)
                    raise reverted
                return receipt
            if time.monotonic() >= deadline:
                detail = f" (last error: {last_error.message})" if last_error else ""
                count_chain_error("transactor", ReceiptTimeout.code)
                raise ReceiptTimeout(
                    f"transaction {tx_hash} not mined with {self._confirmations} "
                    f"confirmation(s) within {self._receipt_timeout:g}s{detail}"
                )
            time.sleep(self._poll_interval)

    def transact(
        self, to: str | None, data: bytes = b"", value: int = 0, gas: int | None = None
    ) -> Receipt:
        """Build, send and wait: the receipt of a successful transaction.

        A rejection by the node is retried once, re-signed with a nonce re-read from
        the chain: the rejected bytes were not taken, so this cannot execute twice.
        That heals a nonce taken by another sender, or one reserved by a
        :meth:`build` whose bytes were never sent.
        """
        gas_limit, fees = self._prepare(to, data, value, gas)
        # Sign and send under the lock, so that nonces reach the node in order.
        with self.sending():
            for retry in (False, True):
                signed = self._sign(to, data, value, gas_limit, fees)
                try:
                    tx_hash = self.send(signed)
                    break
                except TransactionRejected:
                    if retry:
                        raise
                except ChainUnavailable:
                    # Nobody keeps these bytes: let the next transaction reuse the nonce
                    # unless the node did receive them (the "pending" count tells).
                    self._resync()
                    raise
        return self.wait(tx_hash)

    def deploy(self, bytecode: bytes, ctor_args_encoded: bytes = b"") -> Receipt:
        """Deploy a contract; the receipt's ``contract_address`` is its address."""
        receipt = self.transact(None, bytecode + ctor_args_encoded)
        if receipt.contract_address is None:
            raise ChainError(f"deployment {receipt.transaction_hash} created no contract")
        return receipt

    # -- internals --------------------------------------------------------------------

    def _prepare(
        self, to: str | None, data: bytes, value: int, gas: int | None
    ) -> tuple[int, FeeParams]:
        if gas is None:
            request = CallRequest(to=to, data=data, from_address=self.address, value=value)
            gas = math.ceil(self._chain.estimate_gas(request) * self._gas_multiplier)
        return gas, self._chain.fee_params()

    def _sign(self, to: str | None, data: bytes, value: int, gas: int, fees: FeeParams) -> SignedTx:
        """Sign with the next nonce; the caller holds the lock."""
        if self._next_nonce is None:
            self._next_nonce = self._chain.get_transaction_count(self.address, "pending")
        nonce = self._next_nonce
        tx: dict[str, Any] = {
            "chainId": self._chain.chain_id,
            "nonce": nonce,
            "gas": gas,
            "value": value,
            "data": data,
        }
        if to is not None:
            tx["to"] = to
        if fees.max_fee_per_gas is not None:
            tx["type"] = 2
            tx["maxFeePerGas"] = fees.max_fee_per_gas
            tx["maxPriorityFeePerGas"] = fees.max_priority_fee_per_gas or 0
        else:
            tx["gasPrice"] = fees.gas_price or 0
        signed = self._account.sign_transaction(tx)
        self._next_nonce = nonce + 1
        tx_hash = signed.hash.to_0x_hex()
        self._replay[tx_hash] = (
            CallRequest(to=to, data=data, from_address=self.address, value=value, gas=gas),
            gas,
        )
        while len(self._replay) > _REPLAY_MEMORY:
            self._replay.popitem(last=False)
        return SignedTx(
            raw=bytes(signed.raw_transaction), hash=tx_hash, nonce=nonce, sender=self.address
        )

    def _resync(self) -> None:
        with self._lock:
            self._next_nonce = None

    def _confirmed_receipt(self, tx_hash: str) -> Receipt | None:
        receipt = self._chain.get_receipt(tx_hash)
        if receipt is None or self._confirmations <= 1:
            return receipt
        head = self._chain.block_number()
        if head - receipt.block_number + 1 < self._confirmations:
            return None
        # Re-read: a reorg while we counted may have moved or dropped the transaction.
        again = self._chain.get_receipt(tx_hash)
        if again is None or again.block_hash != receipt.block_hash:
            return None
        return again

    def _reverted(
        self, receipt: Receipt, replay: tuple[CallRequest, int] | None
    ) -> TransactionReverted:
        reason: str | None = None
        detail = "no reason recovered"
        if replay is not None:
            request, gas = replay
            if receipt.gas_used >= gas:
                detail = f"out of gas (used all {gas})"
            try:
                # At the receipt's block the replay also sees what earlier transactions
                # in that block did, which is often why this one reverted.
                self._chain.call(request, block=receipt.block_number)
            except CallReverted as exc:
                reason = exc.reason
                detail = exc.message
            except ChainError:
                pass
        return TransactionReverted(
            f"transaction {receipt.transaction_hash} reverted in block "
            f"{receipt.block_number}: {detail}",
            tx_hash=receipt.transaction_hash,
            reason=reason,
        )
