"""DrawRegistry on a real EVM (eth-tester, with time travel): the draw record as a state
machine that refuses every out-of-order step (docs/draw-algorithm.md §3.1, §3.2, §5)."""

from __future__ import annotations

import hashlib

import pytest
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams

from tests.chain_adapter.contracts_conftest_helpers import (
    advance_time,
    block_timestamp,
    deploy,
    events,
    new_web3,
    reverts,
    transact,
)

DRAW = hashlib.sha256(b"draw-1").digest()
CHAIN = hashlib.sha256(b"beacon chain").digest()
SECRET = hashlib.sha256(b"secret").digest()
COMMITMENT = hashlib.sha256(b"notary-hub-draw/1 reveal" + SECRET).digest()
CONFIG, ROOT, SOURCES = (hashlib.sha256(x).digest() for x in (b"config", b"root", b"sources"))
RANDOMNESS, SEED, RESULT = (hashlib.sha256(x).digest() for x in (b"rand", b"seed", b"result"))
PERIOD = 3


@pytest.fixture(scope="module")
def w3() -> Web3:
    return new_web3()


@pytest.fixture
def owner(w3: Web3) -> ChecksumAddress:
    return list(w3.eth.accounts)[1]


@pytest.fixture
def registry(w3: Web3, owner: ChecksumAddress) -> Contract:
    contract, _ = deploy(w3, "DrawRegistry", owner)
    genesis = int(w3.eth.get_block("latest")["timestamp"]) - 1000
    transact(w3, contract.functions.registerBeaconNetwork(CHAIN, genesis, PERIOD), owner)
    return contract


def tx(sender: ChecksumAddress) -> TxParams:
    return {"from": sender}


def stranger(w3: Web3) -> ChecksumAddress:
    return list(w3.eth.accounts)[2]


def round_after(w3: Web3, registry: Contract, seconds: int) -> int:
    """The first round published at least ``seconds`` after the latest block."""
    genesis, period = registry.functions.network(CHAIN).call()
    now = int(w3.eth.get_block("latest")["timestamp"])
    return int((now + seconds - genesis + period - 1) // period + 1)


def commit_args(round: int, *, draw: bytes = DRAW, max_rounds: int = 2) -> tuple[object, ...]:
    return (draw, CONFIG, ROOT, 1000, SOURCES, CHAIN, round, COMMITMENT, max_rounds)


def result_args(round: int, *, secret: bytes = SECRET) -> tuple[object, ...]:
    return (DRAW, round, RANDOMNESS, secret, SEED, RESULT, 3)


def test_commit_then_publish_records_everything(
    w3: Web3, registry: Contract, owner: ChecksumAddress
) -> None:
    round = round_after(w3, registry, 90)
    receipt = transact(w3, registry.functions.commit(*commit_args(round)), owner)
    (event,) = events(registry, "DrawCommitted", receipt)
    assert (event["drawKey"], event["round"], event["fallbackMaxRounds"]) == (DRAW, round, 2)
    record = registry.functions.record(DRAW).call()
    assert record[:9] == (CONFIG, ROOT, SOURCES, CHAIN, COMMITMENT, 1000, round, 2, 1)
    assert record[9] == block_timestamp(w3, receipt)

    advance_time(w3, 100)
    receipt = transact(w3, registry.functions.publishResult(*result_args(round + 1)), owner)
    (event,) = events(registry, "DrawResultPublished", receipt)
    assert (event["usedRound"], event["notarySecret"], event["winners"]) == (round + 1, SECRET, 3)
    record = registry.functions.record(DRAW).call()
    assert record[8] == 2  # Published
    assert record[11:13] == (round + 1, 3)
    assert record[15:] == (RANDOMNESS, SECRET, SEED, RESULT)
    with reverts("already_published"):
        registry.functions.publishResult(*result_args(round)).transact(tx(owner))
    with reverts("draw_exists"):
        registry.functions.commit(*commit_args(round + 100)).transact(tx(owner))


def test_out_of_order_and_refused_steps(
    w3: Web3, registry: Contract, owner: ChecksumAddress
) -> None:
    round = round_after(w3, registry, 61)
    with reverts("not_committed"):
        registry.functions.publishResult(*result_args(round)).transact(tx(owner))
    with reverts("round_too_soon"):
        too_soon = round_after(w3, registry, 40)
        registry.functions.commit(*commit_args(too_soon)).transact(tx(owner))
    with reverts("not_owner"):
        registry.functions.commit(*commit_args(round)).transact(tx(stranger(w3)))
    with reverts("unknown_network"):
        args = list(commit_args(round))
        args[5] = b"\x01" * 32
        registry.functions.commit(*args).transact(tx(owner))
    with reverts("fallback_too_long"):
        registry.functions.commit(*commit_args(round, max_rounds=11)).transact(tx(owner))
    transact(w3, registry.functions.commit(*commit_args(round)), owner)
    with reverts("draw_exists"):
        registry.functions.commit(*commit_args(round + 100)).transact(tx(owner))
    with reverts("round_not_published"):
        registry.functions.publishResult(*result_args(round)).transact(tx(owner))
    advance_time(w3, 120)
    with reverts("round_outside_window"):
        registry.functions.publishResult(*result_args(round + 3)).transact(tx(owner))
    with reverts("round_outside_window"):
        registry.functions.publishResult(*result_args(round - 1)).transact(tx(owner))
    with reverts("bad_reveal"):
        bad = result_args(round, secret=b"\x00" * 32)
        registry.functions.publishResult(*bad).transact(tx(owner))
    with reverts("not_owner"):
        registry.functions.publishResult(*result_args(round)).transact(tx(stranger(w3)))
    transact(w3, registry.functions.publishResult(*result_args(round)), owner)


def test_networks_are_registered_once_by_the_owner(
    w3: Web3, registry: Contract, owner: ChecksumAddress
) -> None:
    genesis, period = registry.functions.network(CHAIN).call()
    transact(w3, registry.functions.registerBeaconNetwork(CHAIN, genesis, period), owner)
    with reverts("network_exists"):
        registry.functions.registerBeaconNetwork(CHAIN, genesis + 1, period).transact(tx(owner))
    with reverts("not_owner"):
        registry.functions.registerBeaconNetwork(b"\x02" * 32, 1, 3).transact(tx(stranger(w3)))
    with reverts("zero_period"):
        registry.functions.registerBeaconNetwork(b"\x02" * 32, 1, 0).transact(tx(owner))
    assert registry.functions.roundTime(CHAIN, 5).call() == genesis + 4 * period
    assert tuple(registry.functions.network(b"\x02" * 32).call()) == (0, 0)
    assert registry.functions.owner().call() == owner
    assert registry.functions.record(b"\x03" * 32).call()[8] == 0  # None
