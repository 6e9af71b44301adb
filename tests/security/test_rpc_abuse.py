"""Issue 9, item 3: the unauthenticated ``POST /rpc`` cannot be made to hang the hub.

The attack: ``eth_call`` of an endless ``JUMPDEST`` loop as creation code, asking
for 2^48 gas, sent by anyone. Before the fix it pinned a core, held the chain's
write lock (so ``/readyz`` and anchoring stalled) and outlived SIGTERM. Here a real
hub is served by uvicorn (in process, on SQLite and PostgreSQL), with a gas cap high
enough that only the deadline can stop the loop, and then as ``notary-hub serve``
(a subprocess) that is sent SIGTERM mid-call.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from chain_adapter.contract import BoundContract
from chain_adapter.rpc_execution import CallLimits
from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from notary_hub.app import create_app
from notary_hub.hub import Hub, open_hub
from notary_hub.settings import (
    AnchoringSettings,
    ChainSettings,
    DatabaseSettings,
    EvidenceSettings,
    ServerSettings,
    Settings,
)
from testkit.serving import serve_app
from testkit.waiting import wait_until
from tests.fixtures.evm_calls import EvmCalls
from tests.fixtures.hub_process import HubProcess

TOKEN = "r" * 40
AUTH = {"authorization": f"Bearer {TOKEN}"}
DEPOSITOR = {"Depositor": did_key(ED25519, bytes(range(32)))}
CALL_TIMEOUT = 4.0
RATE_BURST = 12
RUNAWAY = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "eth_call",
    "params": [{"data": "0x5b600056", "gas": "0xffffffffffff"}, "latest"],
}
ABUSERS = 6  # more than the hub's execution slots (4): some wait for one
# seconds: "promptly", well inside the calls' 4 s deadline. Six CPU-bound EVM loops share
# the GIL with the request, so on a loaded 2-core CI machine an answer takes up to ~2 s;
# a hub that waited for a call would take the whole deadline.
PROMPT = 2.5


@dataclass
class Served:
    hub: Hub
    url: str


@pytest.fixture
def served(tmp_path: Path, db_url: str, engine: Engine) -> Iterator[Served]:
    """A hub whose /rpc lets a call have 10^9 gas, so that only the deadline stops it."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database=DatabaseSettings(url=db_url),
        server=ServerSettings(api_tokens=[SecretStr(TOKEN)]),
        anchoring=AnchoringSettings(batch_interval_seconds=0.05),
        evidence=EvidenceSettings(poll_seconds=0.05),
        chain=ChainSettings(
            rpc_call_gas_cap=1_000_000_000,
            rpc_call_timeout=CALL_TIMEOUT,
            rpc_rate_limit=1.0,
            rpc_rate_burst=RATE_BURST,
        ),
    )
    hub = open_hub(settings)
    try:
        with serve_app(create_app(hub), lifespan="auto", start_timeout=30, stop_timeout=30) as app:
            yield Served(hub, app.url)
    finally:
        hub.close()


def timed(send: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def test_runaway_calls_neither_hang_nor_hold_up_the_hub(
    served: Served, evm_calls: EvmCalls
) -> None:
    answers: list[tuple[httpx.Response, float]] = []

    def abuse() -> None:  # no token: /rpc is public
        answers.append(timed(lambda: httpx.post(f"{served.url}/rpc", json=RUNAWAY, timeout=60)))

    abusers = [threading.Thread(target=abuse) for _ in range(ABUSERS)]
    for thread in abusers:
        thread.start()
    evm_calls.wait_for(min(ABUSERS, ChainSettings().rpc_max_concurrent))  # the loops are running

    with httpx.Client(base_url=served.url, timeout=30) as client:
        # Counted as the hub is tried: the calls below are made while every abusive call
        # still runs or waits (counted after them, a loaded machine's slow anchoring
        # could outlast the first calls' timeout).
        still_running = sum(thread.is_alive() for thread in abusers)
        ready, ready_took = timed(lambda: client.get("/readyz"))
        deposit, deposit_took = timed(
            lambda: client.post(
                "/evidence/deposits", json={"sha256": "ab" * 32}, headers={**AUTH, **DEPOSITOR}
            )
        )
        # Anchoring seals a block: the chain's writer must not wait for the calls either.
        started = time.monotonic()
        item = "0x" + "cd" * 32
        enqueued = client.post(
            "/anchoring/items", json={"kind": "deposit", "items": [item]}, headers=AUTH
        )
        assert enqueued.status_code == 202, enqueued.text
        item_id = enqueued.json()["ids"][0]
        wait_until(
            lambda: client.get(f"/anchoring/items/{item_id}", headers=AUTH).json()["receipt"],
            timeout=CALL_TIMEOUT,
            message="anchoring waited for the calls",
        )
        anchoring_took = time.monotonic() - started

    assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
    assert deposit.status_code == 201, deposit.text
    assert ready_took < PROMPT, f"/readyz took {ready_took:.2f}s"
    assert deposit_took < PROMPT, f"the deposit took {deposit_took:.2f}s"
    assert anchoring_took < CALL_TIMEOUT - 0.5, f"anchoring took {anchoring_took:.2f}s"
    assert still_running == ABUSERS, "the abusive calls were answered before the hub was tried"

    for thread in abusers:
        thread.join(CALL_TIMEOUT + 10)
    assert len(answers) == ABUSERS
    for response, took in answers:
        assert response.status_code == 200
        assert response.json()["id"] == 1
        error = response.json()["error"]
        assert error["code"] == -32000 and error["message"].startswith("execution timeout")
        assert took < CALL_TIMEOUT + 0.5, f"a runaway call was answered after {took:.2f}s"

    # A flood past the client's bucket (these calls took RATE_BURST - ABUSERS tokens less
    # one a second) is answered 429 with Retry-After, before any work is done.
    with httpx.Client(base_url=served.url, timeout=30) as client:
        chain_id = {"jsonrpc": "2.0", "id": 2, "method": "eth_chainId"}
        statuses = [client.post("/rpc", json=chain_id) for _ in range(RATE_BURST + 5)]
    refused = [r for r in statuses if r.status_code == 429]
    assert refused and {r.status_code for r in statuses} == {200, 429}
    assert int(refused[0].headers["retry-after"]) >= 1
    assert refused[0].json()["error"]["code"] == -32005


def test_the_hubs_own_reads_fit_well_under_the_default_cap(served: Served) -> None:
    """What the hub and verifiers call over /rpc costs a small fraction of the default cap."""
    deployment = served.hub.deployment
    node = served.hub.node_account.address
    reads: list[tuple[BoundContract, str, tuple[Any, ...]]] = [
        (deployment.anchor_registry, "consortium", ()),
        (deployment.anchor_registry, "lookup", (b"\x01" * 32,)),
        (deployment.consortium, "getMembers", ()),
        (deployment.consortium, "getMember", (node,)),
        (deployment.consortium, "getMemberNodes", (node,)),
        (deployment.consortium, "getNodes", ()),
        (deployment.consortium, "getNode", (node,)),
        (deployment.consortium, "isServiceNode", (node,)),
        (deployment.consortium, "proposalCount", ()),
        (deployment.did_registry, "identityOwner", (node,)),
        (deployment.did_registry, "changed", (node,)),
        (deployment.did_registry, "nonce", (node,)),
    ]
    if deployment.status_lists is not None:
        reads.append((deployment.status_lists, "latest", (node, b"\x02" * 32)))
    batch = [
        {
            "jsonrpc": "2.0",
            "id": name,
            "method": "eth_estimateGas",
            "params": [{"to": contract.address, "data": "0x" + contract.encode(name, *args).hex()}],
        }
        for contract, name, args in reads
    ]
    answers = httpx.post(f"{served.url}/rpc", json=batch, timeout=30).json()
    assert len(answers) == len(reads)
    for answer in answers:
        assert "result" in answer, answer
        assert int(answer["result"], 16) < CallLimits().gas_cap // 20, answer["id"]


def test_sigterm_during_a_runaway_call_exits_promptly(hub_process: HubProcess) -> None:
    """``notary-hub serve`` stops within the call's deadline, not after the loop's gas."""
    hub_process.env["NOTARY_HUB_CHAIN_RPC_CALL_GAS_CAP"] = "1000000000"  # hours of looping
    hub_process.start()
    timeout = CallLimits().timeout  # the default deadline
    outcome: list[int | str] = []

    def abuse() -> None:
        try:
            response = httpx.post(f"{hub_process.url}/rpc", json=RUNAWAY, timeout=60)
            outcome.append(response.json()["error"]["code"])
        except httpx.HTTPError as exc:  # the server closing the connection is fine too
            outcome.append(type(exc).__name__)

    abuser = threading.Thread(target=abuse)
    abuser.start()
    time.sleep(0.5)
    assert abuser.is_alive(), "the runaway call should still be running"
    process = hub_process.process
    assert process is not None
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    try:
        returncode = process.wait(timeout + 10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the hub outlived SIGTERM by {timeout + 10}s with a call running")
    took = time.monotonic() - started
    abuser.join(10)
    log = hub_process.log.read_text()
    # A clean shutdown; uvicorn re-raises the signal it caught once it is done.
    assert returncode in (0, -signal.SIGTERM), log[-3000:]
    assert "Application shutdown complete" in log, log[-3000:]
    assert took < timeout + 5, f"SIGTERM took {took:.2f}s"
    assert outcome and outcome[0] in (-32000, "RemoteProtocolError", "ReadError"), outcome


def test_the_limits_are_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CALL_GAS_CAP": "2000000",
        "CALL_TIMEOUT": "1.5",
        "RATE_LIMIT": "5",
        "RATE_BURST": "7",
        "MAX_CONCURRENT": "2",
    }.items():
        monkeypatch.setenv(f"NOTARY_HUB_CHAIN_RPC_{name}", value)
    chain = Settings().chain
    assert (chain.rpc_call_gas_cap, chain.rpc_call_timeout) == (2_000_000, 1.5)
    assert (chain.rpc_rate_limit, chain.rpc_rate_burst, chain.rpc_max_concurrent) == (5, 7, 2)
    monkeypatch.setenv("NOTARY_HUB_CHAIN_RPC_CALL_GAS_CAP", "1")
    with pytest.raises(ValueError, match="rpc_call_gas_cap"):
        Settings()
