"""Shared helpers for the contract behaviour tests.

Each test module builds its own fixtures from these: a real in-process EVM
(web3.py + eth-tester + py-evm) and the committed build artifacts, so the tests
exercise exactly the bytecode that ships.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eth_tester.exceptions import TransactionFailed
from web3 import EthereumTesterProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD
from web3.types import TxReceipt

from chain_adapter.artifacts import load_artifact


def new_web3() -> Web3:
    """A fresh chain with ten funded accounts (``w3.eth.accounts``)."""
    return Web3(EthereumTesterProvider())


def deploy(
    w3: Web3, name: str, *args: Any, sender: str | None = None
) -> tuple[Contract, TxReceipt]:
    """Deploy artifact ``name`` with constructor ``args``; returns the contract and receipt."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx_hash = factory.constructor(*args).transact({"from": sender or w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    address = receipt["contractAddress"]
    assert address is not None
    return w3.eth.contract(address=address, abi=artifact.abi), receipt


def transact(w3: Web3, fn: ContractFunction, sender: str) -> TxReceipt:
    """Send ``fn`` from ``sender``, wait for it and require success."""
    receipt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender}))
    assert receipt["status"] == 1
    return receipt


@contextmanager
def reverts(reason: str) -> Iterator[None]:
    """Expect the enclosed transaction or call to revert with reason string ``reason``."""
    with pytest.raises((TransactionFailed, ContractLogicError)) as info:
        yield
    assert re.search(rf"\b{re.escape(reason)}\b", str(info.value)), str(info.value)


def events(contract: Contract, name: str, receipt: TxReceipt) -> list[dict[str, Any]]:
    """The decoded ``args`` of every ``name`` event of ``contract`` in ``receipt``."""
    decoded = contract.events[name]().process_receipt(receipt, errors=DISCARD)
    return [dict(e["args"]) for e in decoded]


def block_timestamp(w3: Web3, receipt: TxReceipt) -> int:
    return int(w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def advance_time(w3: Web3, seconds: int) -> None:
    """Move the chain clock forward and mine a block at the new time."""
    latest = int(w3.eth.get_block("latest")["timestamp"])
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.time_travel(latest + seconds)
    tester.mine_blocks(1)


def b32(text: str) -> bytes:
    """``text`` as a left-aligned, zero-padded bytes32 (ethers' ``encodeBytes32String``)."""
    raw = text.encode()
    assert len(raw) <= 32
    return raw.ljust(32, b"\0")
