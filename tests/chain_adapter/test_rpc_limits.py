"""Limits of the embedded chain's JSON-RPC (issue 9, item 3): gas cap, deadline, snapshots, rate.

All on a real :class:`EmbeddedChain` and the real router; hand-assembled EVM code
stands in for an attacker's. The hub-level proof (a served hub under abusive calls)
is ``tests/security/test_rpc_abuse.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from fastapi import FastAPI
from fastapi.testclient import TestClient

from chain_adapter.embedded import EmbeddedChain
from chain_adapter.errors import CallReverted
from chain_adapter.protocol import CallRequest
from chain_adapter.rpc_execution import CallLimits, ExecutionTimeout
from chain_adapter.rpc_limits import ANSWER_GRACE, CallSlots, CallTimedOut, RateLimiter
from chain_adapter.rpc_router import rpc_router
from chain_adapter.rpc_server import RpcServer
from tests.fixtures.evm_calls import EvmCalls

CHAIN_ID = 1337
SENDER = Account.from_key("0x" + "6e" * 32)
HUGE_GAS = "0xffffffffffff"

# JUMPDEST PUSH1 0 JUMP: loops for as long as it has gas (as creation code / call data).
LOOP = "0x5b600056"
# GAS PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN: answers the gas left when it starts.
GAS_LEFT = "0x5a60005260206000f3"
# JUMPDEST, CALL(gas, ADDRESS, 0, 0, 0, 0, 0), POP, JUMP 0: calls itself, forever, at
# every depth; a deadline checked only in the outermost frame would never fire.
SELF_CALLER = bytes.fromhex("5b" + "6000" * 5 + "30" + "5a" + "f1" + "50" + "6000" + "56")
# With call data: store its first word in slot 0; without: return slot 0.
STORE = bytes.fromhex("3615600c57600035600055005b60005460005260206000f3")


def _init(runtime: bytes) -> bytes:
    """Creation code returning ``runtime``: CODECOPY it after these 11 bytes, RETURN it."""
    return bytes.fromhex(f"60{len(runtime):02x}80600b6000396000f3") + runtime


def _slow_read(target: str, iterations: int) -> str:
    """Creation code that counts ``iterations`` down, then returns ``target``'s slot 0."""
    count = bytes.fromhex("62") + iterations.to_bytes(3, "big")  # PUSH3
    loop = bytes.fromhex("5b600190038060045" + "7")  # JUMPDEST 1 SWAP1 SUB DUP1 PUSH1 4 JUMPI
    call = bytes.fromhex("6020600060006000" + "73") + bytes.fromhex(target[2:])  # ... PUSH20
    tail = bytes.fromhex("5afa5060206000f3")  # GAS STATICCALL POP, RETURN(0, 32)
    return "0x" + (count + loop + call + tail).hex()


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[EmbeddedChain]:
    opened = EmbeddedChain.open(tmp_path, chain_id=CHAIN_ID, prefund={SENDER.address: 10**21})
    yield opened
    opened.close()


class Sender:
    def __init__(self, chain: EmbeddedChain) -> None:
        self.chain = chain
        self.nonce = 0

    def raw(self, *, to: str | None = None, data: bytes = b"") -> bytes:
        tx: dict[str, Any] = {
            "type": 2, "chainId": CHAIN_ID, "nonce": self.nonce, "gas": 1_000_000,
            "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 0, "value": 0, "data": data,
        }  # fmt: skip
        if to is not None:
            tx["to"] = to
        self.nonce += 1
        return bytes(SENDER.sign_transaction(tx).raw_transaction)

    def send(self, *, to: str | None = None, data: bytes = b"") -> str:
        return self.chain.send_raw_transaction(self.raw(to=to, data=data))

    def deploy(self, runtime: bytes) -> str:
        receipt = self.chain.get_receipt(self.send(data=_init(runtime)))
        assert receipt is not None and receipt.contract_address is not None
        return receipt.contract_address


def rpc(server: RpcServer, method: str, *params: Any) -> dict[str, Any]:
    answer = server.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    assert isinstance(answer, dict)
    return answer


def timed(server: RpcServer, method: str, *params: Any) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    answer = rpc(server, method, *params)
    return answer, time.monotonic() - started


# -- the gas cap ----------------------------------------------------------------------


def test_call_gas_is_clamped_to_the_cap(chain: EmbeddedChain) -> None:
    capped = RpcServer(chain, limits=CallLimits(gas_cap=200_000, timeout=30))
    for asked in (HUGE_GAS, hex(30_000_000), None):
        request = {"data": GAS_LEFT} if asked is None else {"data": GAS_LEFT, "gas": asked}
        left = int(rpc(capped, "eth_call", request)["result"], 16)
        assert 100_000 < left < 200_000, asked  # the cap less the creation's intrinsic gas
    # Below the cap, the gas asked for is what the call gets.
    left = int(rpc(capped, "eth_call", {"data": GAS_LEFT, "gas": hex(80_000)})["result"], 16)
    assert left < 80_000
    # The default cap sits well below the block gas limit.
    default = RpcServer(chain)
    left = int(rpc(default, "eth_call", {"data": GAS_LEFT, "gas": HUGE_GAS})["result"], 16)
    assert left < CallLimits().gas_cap < chain.get_block().gas_limit

    # An endless loop under the cap runs out of gas, quickly.
    answer, took = timed(capped, "eth_call", {"data": LOOP, "gas": HUGE_GAS}, "latest")
    assert answer["error"]["code"] == -32000 and "OutOfGas" in answer["error"]["message"]
    assert took < 2
    # eth_estimateGas searches no higher than the cap: the loop needs more than any.
    answer, took = timed(capped, "eth_estimateGas", {"data": LOOP})
    assert answer["error"]["code"] == -32000 and "OutOfGas" in answer["error"]["message"]
    assert took < 2
    assert int(rpc(capped, "eth_estimateGas", {"data": GAS_LEFT})["result"], 16) < 100_000


def test_limits_are_checked() -> None:
    for bad in ({"gas_cap": 20_999}, {"timeout": 0}, {"timeout": -1.0}):
        with pytest.raises(ValueError):
            CallLimits(**bad)


# -- the deadline ---------------------------------------------------------------------


def test_a_runaway_call_is_aborted_at_its_deadline(chain: EmbeddedChain) -> None:
    self_caller = Sender(chain).deploy(SELF_CALLER)
    server = RpcServer(chain, limits=CallLimits(gas_cap=10**9, timeout=0.5))
    runaways = [
        ("eth_call", {"data": LOOP, "gas": HUGE_GAS}),
        ("eth_call", {"to": self_caller, "gas": HUGE_GAS}),
        ("eth_estimateGas", {"data": LOOP}),
        ("eth_estimateGas", {"to": self_caller}),
    ]
    for method, request in runaways:
        answer, took = timed(server, method, request)
        assert answer["error"] == {
            "code": -32000,
            "message": "execution timeout: the call ran past its deadline",
        }, method
        # Unbounded, a billion gas of py-evm runs for minutes; a loaded CI core checks the
        # deadline a little late, hence the slack above 0.5 s.
        assert 0.5 <= took < 2.0, (method, request, took)
    # A batch shares one deadline: it buys no more time than one request.
    call = {"jsonrpc": "2.0", "method": "eth_call", "params": [runaways[0][1]]}
    started = time.monotonic()
    answers = server.handle([{**call, "id": i} for i in range(3)])
    assert isinstance(answers, list)
    assert time.monotonic() - started < 1.0
    assert [a["error"]["code"] for a in answers] == [-32000] * 3
    # The chain answers as before once the call is gone.
    assert rpc(server, "eth_call", {"data": GAS_LEFT})["result"].startswith("0x")

    # At the chain: a deadline given is honoured; none given, none applies.
    loop = CallRequest(to=None, data=bytes.fromhex(LOOP[2:]), gas=10**12)
    with pytest.raises(ExecutionTimeout):
        chain.call(loop, deadline=time.monotonic() + 0.2)
    finite = CallRequest(to=None, data=bytes.fromhex(LOOP[2:]), gas=100_000)
    with pytest.raises(CallReverted, match="OutOfGas"):
        chain.call(finite)


# -- snapshots: a slow call holds nothing the writer needs ----------------------------


def test_a_slow_call_reads_a_snapshot_and_blocks_no_writer(
    chain: EmbeddedChain, evm_calls: EvmCalls
) -> None:
    sender = Sender(chain)
    store = sender.deploy(STORE)
    sender.send(to=store, data=(1).to_bytes(32, "big"))
    server = RpcServer(chain, limits=CallLimits(gas_cap=10**9, timeout=60))
    # Long enough that the writes below land while it runs, on any machine.
    slow = {"data": _slow_read(store, 200_000), "gas": HUGE_GAS}
    answers: list[dict[str, Any]] = []
    caller = threading.Thread(target=lambda: answers.append(rpc(server, "eth_call", slow)))
    caller.start()
    evm_calls.wait_for(1)  # the call has taken its snapshot and is counting down

    started = time.monotonic()
    sender.send(to=store, data=(2).to_bytes(32, "big"))  # executes and seals a block
    assert chain.get_balance(SENDER.address) > 0 and chain.block_number() == 3
    stored = rpc(server, "eth_call", {"to": store})["result"]  # another call, meanwhile
    took = time.monotonic() - started
    assert took < 1.0, f"the writer waited {took:.2f}s for a call"
    assert caller.is_alive(), "the slow call ended before the writes: make it slower"
    assert int(stored, 16) == 2

    caller.join(60)
    # Its snapshot predates the store of 2: it reads 1, not a state that moved under it.
    assert [int(a["result"], 16) for a in answers] == [1]


def test_calls_after_close_are_refused(chain: EmbeddedChain) -> None:
    chain.close()
    server = RpcServer(chain)
    assert "closed" in rpc(server, "eth_call", {"data": GAS_LEFT})["error"]["message"]


# -- the rate limit -------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_buckets_per_client() -> None:
    clock = Clock()
    limiter = RateLimiter(2.0, 3, max_clients=2, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]  # the burst
    assert limiter.take("a") == pytest.approx(0.5)  # one token in half a second
    assert limiter.take("b") == 0.0  # another client has a bucket of its own
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)
    clock.now += 100  # a bucket refills up to the burst, no further
    assert [limiter.take("a") for _ in range(4)][-1] == pytest.approx(0.5)
    limiter.take("c")  # a third client: the least recently seen ("b") is forgotten
    assert limiter.take("a") > 0
    with pytest.raises(ValueError):
        RateLimiter(0, 1)


def test_the_router_answers_429_with_retry_after(chain: EmbeddedChain) -> None:
    app = FastAPI()
    app.include_router(rpc_router(lambda: RpcServer(chain), rate_limiter=RateLimiter(0.5, 2)))
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
    with TestClient(app) as client:
        assert [client.post("/rpc", json=body).status_code for _ in range(2)] == [200, 200]
        refused = client.post("/rpc", json=body)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert refused.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32005, "message": "rate limit exceeded: retry in 2 s"},
    }


# -- execution slots ------------------------------------------------------------------


def test_requests_beyond_the_slots_wait_within_their_deadline(chain: EmbeddedChain) -> None:
    server = RpcServer(chain, limits=CallLimits(gas_cap=10**9, timeout=0.8))
    app = FastAPI()
    app.include_router(rpc_router(lambda: server, max_concurrent=1))
    loop = {"jsonrpc": "2.0", "id": "x", "method": "eth_call", "params": [{"data": LOOP}]}
    results: list[tuple[dict[str, Any], float]] = []

    def post(client: TestClient) -> None:
        started = time.monotonic()
        results.append((client.post("/rpc", json=loop).json(), time.monotonic() - started))

    with TestClient(app) as client:
        posts = [threading.Thread(target=post, args=(client,)) for _ in range(3)]
        for thread in posts:
            thread.start()
        for thread in posts:
            thread.join(10)
        # The slot is free again: an ordinary request is served.
        ordinary = {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId"}
        assert client.post("/rpc", json=ordinary).json()["result"] == "0x539"
    # One ran into its deadline; the others waited for the slot until theirs.
    assert len(results) == 3
    for answer, took in results:
        assert answer["id"] == "x" and answer["error"]["code"] == -32000
        assert answer["error"]["message"].startswith("execution timeout")
        assert took < 0.8 + 0.5


def test_slots_give_up_on_work_that_ignores_its_deadline() -> None:
    slots = CallSlots(1)
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(CallTimedOut):
        asyncio.run(slots.run(lambda: release.wait(30), time.monotonic() + 0.2))
    assert time.monotonic() - started < 0.2 + ANSWER_GRACE + 0.5
    release.set()  # the abandoned thread is a daemon: it could not hold up exit anyway
    assert asyncio.run(slots.run(lambda: 42, time.monotonic() + 5)) == 42
