"""Read-only EVM execution for ``eth_call`` and ``eth_estimateGas``: snapshots, gas cap, deadline.

Execution API specification, section "eth/execute"
(https://ethereum.github.io/execution-apis/api-documentation/). The spec sets no
bound on the work a call may ask for; public nodes add two, and so do we, after
geth (``--rpc.gascap``, ``--rpc.evmtimeout``):

* a **gas cap**: a call's ``gas`` above it is *clamped* to it, as geth's RPCGasCap
  does, so clients that send the block gas limit keep working; ``eth_estimateGas``
  searches no higher than the cap;
* a **deadline**: a wall-clock instant after which the execution is aborted with
  :class:`ExecutionTimeout`. py-evm is pure Python, so the deadline is checked in
  the interpreter itself, on every jump, call and create (:class:`DeadlineCancunVM`).
  The gas cap bounds the work, the deadline bounds the time (the two differ by
  as much as py-evm's running time of an opcode differs from its gas price). An
  execution under a deadline also hands the GIL over every millisecond, so that
  calls anyone may send run behind the hub's own work, not alongside it.

Calls never touch the chain's write lock: :class:`SnapshotCalls` runs them on
read-only SQLite connections of their own, each inside a read transaction, so a
call sees one committed state (WAL snapshot isolation, https://sqlite.org/wal.html
§"Concurrency") while blocks go on being sealed next to it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from eth import constants as evm_constants
from eth.abc import (
    BlockHeaderAPI,
    ComputationAPI,
    OpcodeAPI,
    SignedTransactionAPI,
    StateAPI,
    VirtualMachineAPI,
)
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.exceptions import (
    BlockNotFound as EvmBlockNotFound,
)
from eth.exceptions import (
    CanonicalHeadNotFound,
    HeaderNotFound,
    Revert,
    VMError,
)
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.cancun.computation import CancunComputation
from eth.vm.forks.cancun.state import CancunState
from eth.vm.opcode import Opcode
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.address import to_canonical_address
from eth_utils.exceptions import ValidationError as EthUtilsValidationError
from eth_utils.hexadecimal import decode_hex

from chain_adapter.errors import BlockNotFound, CallReverted, ChainError, ChainUnavailable
from chain_adapter.evm_records import call_reverted
from chain_adapter.kvstore import SqliteKV
from chain_adapter.protocol import BlockId, CallRequest

# py-evm's default estimator stops when the range is narrower than a transfer's gas.
ESTIMATE_TOLERANCE = 21_000
MAX_IDLE_READERS = 4


class ExecutionTimeout(ChainError):
    """An EVM execution ran past its deadline and was aborted."""

    code = "execution_timeout"
    status_code = 503


@dataclass(frozen=True, slots=True)
class CallLimits:
    """What one read-only execution may use: gas (clamped to ``gas_cap``) and wall-clock time."""

    gas_cap: int = 10_000_000
    timeout: float = 3.0

    def __post_init__(self) -> None:
        if self.gas_cap < 21_000 or self.timeout <= 0:
            raise ValueError("the call gas cap must be at least 21000 and the timeout positive")


# How often an execution under a deadline offers the GIL to other threads. py-evm is
# CPU-bound pure Python: left to the interpreter's 5 ms switch interval, a few such
# threads slow down every other request of the hub several times over.
YIELD_SECONDS = 0.001


@dataclass(slots=True)
class _Deadline:
    at: float
    next_yield: float


# The deadline of the execution running in this context (thread), if any. Not an
# attribute of the state or computation: py-evm builds those itself, deep inside.
_DEADLINE: ContextVar[_Deadline | None] = ContextVar("evm_execution_deadline", default=None)


@contextmanager
def execution_deadline(deadline: float | None) -> Iterator[None]:
    """EVM executions started in this block abort at ``deadline`` (``time.monotonic``).

    They also yield the GIL every :data:`YIELD_SECONDS`, so that an execution paid for
    by nobody runs at a lower priority than the rest of the process.
    """
    state = None if deadline is None else _Deadline(deadline, time.monotonic() + YIELD_SECONDS)
    token = _DEADLINE.set(state)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _check_deadline() -> None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return
    now = time.monotonic()
    # Not a VMError: py-evm would record it as this frame's failure and let the
    # caller frame run on; any other exception unwinds the whole execution.
    if now >= deadline.at:
        raise ExecutionTimeout("execution timeout: the call ran past its deadline")
    if now >= deadline.next_yield:
        deadline.next_yield = now + YIELD_SECONDS
        time.sleep(0)  # releases the GIL: a waiting thread runs first


class _DeadlineChecked(OpcodeAPI):
    """An opcode that checks the deadline before it runs, and after (for calls)."""

    __slots__ = ("_inner", "gas_cost", "mnemonic")

    def __init__(self, inner: OpcodeAPI) -> None:
        self._inner = inner
        self.mnemonic = inner.mnemonic
        self.gas_cost = getattr(inner, "gas_cost", 0)

    def __call__(self, computation: ComputationAPI) -> None:
        _check_deadline()
        self._inner(computation=computation)
        _check_deadline()

    @classmethod
    def as_opcode(
        cls, logic_fn: Callable[[ComputationAPI], None], mnemonic: str, gas_cost: int
    ) -> OpcodeAPI:
        return cls(Opcode.as_opcode(logic_fn, mnemonic, gas_cost))


# Every loop runs a jump and every frame starts and ends at a call or create: checking
# these bounds what runs between two checks by one frame's straight-line code (at most
# 49,152 opcodes, EIP-3860), at no cost to the other opcodes (a check on every opcode,
# in consume_gas, would slow every execution by almost half).
_CHECKED = (
    0x56,  # JUMP
    0x57,  # JUMPI
    0xF0,  # CREATE
    0xF1,  # CALL
    0xF2,  # CALLCODE
    0xF4,  # DELEGATECALL
    0xF5,  # CREATE2
    0xFA,  # STATICCALL
)


class _DeadlineComputation(CancunComputation):
    opcodes = {  # noqa: RUF012 (py-evm's own attribute, read-only by convention)
        **CancunComputation.opcodes,
        **{code: _DeadlineChecked(CancunComputation.opcodes[code]) for code in _CHECKED},
    }


class _DeadlineState(CancunState):
    computation_class = _DeadlineComputation


class DeadlineCancunVM(CancunVM):
    """Cancun whose executions honour :func:`execution_deadline` (none set: plain Cancun)."""

    _state_class = _DeadlineState


def capped_gas_search(state: StateAPI, transaction: SignedTransactionAPI) -> int:
    """py-evm's ``binary_gas_search``, searching up to ``transaction.gas`` (the cap).

    py-evm's own estimator always tries the block gas limit first; a cap must bound
    the search, or one estimate would cost a whole block's gas.
    """
    highest = min(transaction.gas, state.gas_limit)

    def fails_with(gas: int) -> VMError | None:
        snapshot = state.snapshot()
        try:
            trial = cast(SignedTransactionAPI, SpoofTransaction(transaction, gas=gas, gas_price=0))
            computation = state.apply_transaction(trial)
            return computation.error if computation.is_error else None
        finally:
            state.revert(snapshot)

    if fails_with(transaction.intrinsic_gas) is None:
        return transaction.intrinsic_gas
    error = fails_with(highest)
    if error is not None:
        raise error
    viable, out_of_gas = highest, transaction.intrinsic_gas
    while viable - out_of_gas > ESTIMATE_TOLERANCE:
        middle = (viable + out_of_gas) // 2
        if fails_with(middle) is None:
            viable = middle
        else:
            out_of_gas = middle
    return viable


def resolve_header(evm: MiningChain, block: BlockId) -> BlockHeaderAPI:
    """The header of ``block`` (number, tag or hash) on ``evm``'s canonical chain."""
    if block in ("latest", "pending", "safe", "finalized"):
        return evm.get_canonical_head()
    if block == "earliest":
        block = 0
    try:
        if isinstance(block, int):
            return evm.get_canonical_block_header_by_number(BlockNumber(block))
        return evm.get_block_header_by_hash(Hash32(decode_hex(block)))
    except (HeaderNotFound, EvmBlockNotFound, CanonicalHeadNotFound, ValueError):
        raise BlockNotFound(f"no block {block}") from None


@dataclass(slots=True)
class _Reader:
    conn: sqlite3.Connection
    evm: MiningChain


class SnapshotCalls:
    """``eth_call`` / ``eth_estimateGas`` on read-only connections to the chain's store."""

    def __init__(self, path: Path, chain_class: Callable[[AtomicDB], MiningChain]) -> None:
        self._uri = path.resolve().as_uri() + "?mode=ro"
        self._chain_class = chain_class
        self._idle: list[_Reader] = []
        self._lock = threading.Lock()  # guards the idle list only, never an execution
        self._closed = False

    def call(
        self,
        request: CallRequest,
        block: BlockId,
        *,
        gas_cap: int | None = None,
        deadline: float | None = None,
    ) -> bytes:
        with self._snapshot() as evm, _execution_errors(), execution_deadline(deadline):
            header = resolve_header(evm, block)
            gas = request.gas or header.gas_limit
            tx = _spoof(evm.get_vm(header), request, gas if gas_cap is None else min(gas, gas_cap))
            output: bytes = evm.get_transaction_result(tx, header)  # type: ignore[arg-type]
            return output

    def estimate_gas(
        self, request: CallRequest, *, gas_cap: int | None = None, deadline: float | None = None
    ) -> int:
        with self._snapshot() as evm, _execution_errors(), execution_deadline(deadline):
            header = evm.get_canonical_head()
            gas = header.gas_limit if gas_cap is None else min(header.gas_limit, gas_cap)
            vm = evm.get_vm(header)
            tx = _spoof(vm, request, gas)
            with vm.in_costless_state() as state:
                return capped_gas_search(state, tx)  # type: ignore[arg-type]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for reader in idle:
            reader.conn.close()

    @contextmanager
    def _snapshot(self) -> Iterator[MiningChain]:
        reader = self._take()
        broken = False
        try:
            reader.conn.execute("BEGIN")  # one read transaction: one committed state
            try:
                yield reader.evm
            finally:
                reader.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            broken = True
            raise ChainUnavailable(f"the embedded chain's store failed: {exc}") from None
        finally:
            if broken:
                reader.conn.close()
            else:
                self._give_back(reader)

    def _take(self) -> _Reader:
        with self._lock:
            if self._closed:
                raise ChainUnavailable("the embedded chain is closed")
            if self._idle:
                return self._idle.pop()
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                self._uri, uri=True, isolation_level=None, check_same_thread=False
            )
            return _Reader(conn, self._chain_class(AtomicDB(SqliteKV(conn))))
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise ChainUnavailable(f"the embedded chain's store failed: {exc}") from None

    def _give_back(self, reader: _Reader) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE_READERS:
                self._idle.append(reader)
                return
        reader.conn.close()


def _spoof(vm: VirtualMachineAPI, request: CallRequest, gas: int) -> SpoofTransaction:
    sender = (
        to_canonical_address(request.from_address)
        if request.from_address
        else evm_constants.ZERO_ADDRESS
    )
    unsigned = vm.create_unsigned_transaction(
        nonce=vm.state.get_nonce(sender),
        gas_price=0,
        gas=gas,
        # py-evm spells contract creation as an empty ``to``.
        to=to_canonical_address(request.to) if request.to else Address(b""),
        value=request.value,
        data=request.data,
    )
    return SpoofTransaction(unsigned, from_=sender)


@contextmanager
def _execution_errors() -> Iterator[None]:
    """Map py-evm's execution failures of a call or estimate to :class:`CallReverted`."""
    try:
        yield
    except Revert as exc:
        raise call_reverted(exc) from None
    except VMError as exc:
        raise CallReverted(f"execution failed: {exc!r}") from None
    except EthUtilsValidationError as exc:  # e.g. a value above the sender's balance
        raise CallReverted(f"invalid call: {exc}") from None
