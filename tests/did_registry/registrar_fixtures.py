"""Fixtures for the registrar tests: a fresh DID registry on each chain backend.

Imported by name into the test modules that use them. ``chain`` runs on the
embedded EVM and on a Hardhat node (the ``hardhat`` mark), like the chain-layer
tests; ``node`` is the hub's funded node account, ``registrar`` sends with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import DID_REGISTRY
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from did_registry.registrar.service import Registrar

BACKENDS = ["embedded", pytest.param("jsonrpc", marks=pytest.mark.hardhat)]
CHAIN_IDS = {"embedded": 1337, "jsonrpc": 31337}
FUNDING = {"embedded": 10**24, "jsonrpc": 10**19}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def node() -> LocalAccount:
    """The hub's node account (fresh, funded by ``chain``)."""
    account: LocalAccount = Account.create()
    return account


@pytest.fixture
def chain(
    backend: str, node: LocalAccount, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Chain]:
    opened: Chain
    if backend == "embedded":
        opened = EmbeddedChain.open(
            tmp_path / "chain",
            chain_id=CHAIN_IDS[backend],
            prefund={node.address: FUNDING[backend]},
        )
    else:
        fund: Callable[[str, int], None] = request.getfixturevalue("hardhat_fund")
        fund(node.address, FUNDING[backend])
        hardhat = request.getfixturevalue("hardhat_node")
        opened = JsonRpcChain.connect(
            hardhat.url, expected_chain_id=CHAIN_IDS[backend], timeout=10.0, retries=3, backoff=0.2
        )
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def transactor(chain: Chain, node: LocalAccount) -> Transactor:
    return Transactor(chain, node, receipt_timeout=30.0, poll_interval=0.02)


@pytest.fixture
def registry(chain: Chain, transactor: Transactor) -> BoundContract:
    artifact = load_artifact(DID_REGISTRY)
    receipt = transactor.deploy(artifact.bytecode)
    assert receipt.contract_address is not None
    return BoundContract.attach(
        chain, artifact.abi, receipt.contract_address, artifact.deployed_bytecode
    )


@pytest.fixture
def registrar(transactor: Transactor, registry: BoundContract) -> Registrar:
    return Registrar(transactor, registry)


@contextmanager
def nothing_sent(chain: Chain, sender: str) -> Iterator[None]:
    """Assert that the body sends no transaction: same head, same sender nonce."""
    block, count = chain.block_number(), chain.get_transaction_count(sender, "pending")
    yield
    assert chain.block_number() == block, "a block was mined: something was sent"
    assert chain.get_transaction_count(sender, "pending") == count, "a transaction was sent"
