"""Backend fixtures: every ``chain`` test runs on the embedded EVM and on a Hardhat node.

``chain`` is parametrised over :data:`BACKENDS`; the Hardhat node is only started
when a ``jsonrpc`` case runs. ``account`` is a fresh key funded on the backend,
``transactor`` signs with it, ``probe`` is a freshly deployed ``Probe`` contract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain_adapter.artifacts import Artifact, parse_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor

BACKENDS = ["embedded", pytest.param("jsonrpc", marks=pytest.mark.hardhat)]
CHAIN_IDS = {"embedded": 1337, "jsonrpc": 31337}
PROBE_ARTIFACT = Path(__file__).resolve().parents[1] / "contracts" / "build" / "Probe.json"
FUNDING = {"embedded": 10**24, "jsonrpc": 10**19}  # Hardhat dev accounts hold 10**22 wei


@pytest.fixture(scope="session")
def probe_artifact() -> Artifact:
    return parse_artifact(PROBE_ARTIFACT.read_text(encoding="utf-8"), "Probe")


@pytest.fixture
def account() -> LocalAccount:
    """A fresh key; the ``chain`` fixture funds it."""
    acct: LocalAccount = Account.create()
    return acct


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def expected_chain_id(backend: str) -> int:
    return CHAIN_IDS[backend]


@pytest.fixture
def chain(
    backend: str, account: LocalAccount, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Chain]:
    """The backend under test, with ``account`` funded."""
    opened: Chain
    if backend == "embedded":
        opened = EmbeddedChain.open(
            tmp_path / "chain",
            chain_id=CHAIN_IDS[backend],
            prefund={account.address: FUNDING[backend]},
        )
    else:
        fund: Callable[[str, int], None] = request.getfixturevalue("hardhat_fund")
        fund(account.address, FUNDING[backend])
        node = request.getfixturevalue("hardhat_node")
        opened = JsonRpcChain.connect(
            node.url, expected_chain_id=CHAIN_IDS[backend], timeout=10.0, retries=3, backoff=0.2
        )
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def transactor(chain: Chain, account: LocalAccount) -> Transactor:
    return Transactor(chain, account, receipt_timeout=30.0, poll_interval=0.02)


@pytest.fixture
def probe(chain: Chain, transactor: Transactor, probe_artifact: Artifact) -> BoundContract:
    """A freshly deployed ``Probe`` (tests/contracts/Probe.sol)."""
    receipt = transactor.deploy(probe_artifact.bytecode)
    assert receipt.contract_address is not None
    return BoundContract.attach(
        chain, probe_artifact.abi, receipt.contract_address, probe_artifact.deployed_bytecode
    )
