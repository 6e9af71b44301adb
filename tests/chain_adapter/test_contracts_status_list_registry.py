"""StatusListRegistry on a real EVM, and its place in the hub's deployment."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams

from chain_adapter.artifacts import load_artifact
from chain_adapter.deploy import (
    ANCHOR_REGISTRY,
    CONSORTIUM,
    DID_REGISTRY,
    STATUS_LIST_REGISTRY,
    attach_all,
    deploy_all,
    deploy_status_lists,
)
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.errors import ContractNotFound
from chain_adapter.transactor import Transactor
from tests.chain_adapter.contracts_conftest_helpers import (
    block_timestamp,
    deploy,
    events,
    new_web3,
    reverts,
    transact,
)

LIST_A = hashlib.sha256(b"https://hub.example/credentials/status/a").digest()
LIST_B = hashlib.sha256(b"https://hub.example/credentials/status/b").digest()
BITS_1 = b"\0" * 16384
BITS_2 = b"\x80" + b"\0" * 16383
DIGEST_1 = hashlib.sha256(BITS_1).digest()
DIGEST_2 = hashlib.sha256(BITS_2).digest()
LIST_1 = gzip.compress(BITS_1, compresslevel=9, mtime=0)  # what the hub publishes
LIST_2 = gzip.compress(BITS_2, compresslevel=9, mtime=0)
ZERO32 = b"\0" * 32
MAX_ENCODED_LIST = 65_536
# First publication of an empty 131,072-entry list (51 bytes gzipped); catches regressions.
MAX_PUBLISH_GAS = 75_000


def account(w3: Web3, index: int) -> ChecksumAddress:
    return list(w3.eth.accounts)[index]


@pytest.fixture(scope="module")
def w3() -> Web3:
    return new_web3()


@pytest.fixture
def registry(w3: Web3) -> Contract:
    contract, _ = deploy(w3, STATUS_LIST_REGISTRY)
    return contract


def test_never_published_reads_as_zeros(registry: Contract, w3: Web3) -> None:
    assert tuple(registry.functions.latest(account(w3, 0), LIST_A).call()) == (
        ZERO32,
        0,
        0,
        0,
    )
    assert registry.functions.MAX_ENCODED_LIST().call() == MAX_ENCODED_LIST


def test_publish_records_digest_version_time_block_and_the_list(
    registry: Contract, w3: Web3
) -> None:
    publisher = account(w3, 1)
    receipt = transact(w3, registry.functions.publish(LIST_A, DIGEST_1, LIST_1), publisher)
    assert receipt["gasUsed"] <= MAX_PUBLISH_GAS
    assert events(registry, "StatusListPublished", receipt) == [
        {
            "publisher": publisher,
            "listId": LIST_A,
            "digest": DIGEST_1,
            "version": 1,
            "encodedList": LIST_1,
        }
    ]
    assert tuple(registry.functions.latest(publisher, LIST_A).call()) == (
        DIGEST_1,
        1,
        block_timestamp(w3, receipt),
        receipt["blockNumber"],
    )

    receipt = transact(w3, registry.functions.publish(LIST_A, DIGEST_2, LIST_2), publisher)
    assert tuple(registry.functions.latest(publisher, LIST_A).call()) == (
        DIGEST_2,
        2,
        block_timestamp(w3, receipt),
        receipt["blockNumber"],
    )
    # The same digest again (a retried transaction) is a new version, nothing worse.
    retried = transact(w3, registry.functions.publish(LIST_A, DIGEST_2, LIST_2), publisher)
    latest = registry.functions.latest(publisher, LIST_A).call()
    assert latest[:2] == [DIGEST_2, 3] and latest[3] == retried["blockNumber"]
    logs = registry.events.StatusListPublished().get_logs(
        from_block=0, argument_filters={"publisher": publisher, "listId": LIST_A}
    )
    assert [
        (log["args"]["version"], log["args"]["digest"], log["args"]["encodedList"]) for log in logs
    ] == [(1, DIGEST_1, LIST_1), (2, DIGEST_2, LIST_2), (3, DIGEST_2, LIST_2)]
    # The latest version's log is in the block latest() names, and only there.
    (last,) = registry.events.StatusListPublished().get_logs(
        from_block=latest[3], to_block=latest[3], argument_filters={"publisher": publisher}
    )
    assert gzip.decompress(last["args"]["encodedList"]) == BITS_2


def test_lists_are_namespaced_by_publisher(registry: Contract, w3: Web3) -> None:
    owner, intruder = account(w3, 2), account(w3, 3)
    transact(w3, registry.functions.publish(LIST_A, DIGEST_1, LIST_1), owner)
    # Another account publishing "the same list" writes only to its own namespace.
    transact(w3, registry.functions.publish(LIST_A, DIGEST_2, LIST_2), intruder)
    assert registry.functions.latest(owner, LIST_A).call()[:2] == [DIGEST_1, 1]
    assert registry.functions.latest(intruder, LIST_A).call()[:2] == [DIGEST_2, 1]
    assert registry.functions.latest(owner, LIST_B).call()[:2] == [ZERO32, 0]


def test_zero_digest_empty_and_oversized_lists_refused(registry: Contract, w3: Web3) -> None:
    sender: TxParams = {"from": account(w3, 4)}
    with reverts("zero_digest"):
        registry.functions.publish(LIST_A, ZERO32, LIST_1).transact(sender)
    with reverts("empty_list"):
        registry.functions.publish(LIST_A, DIGEST_1, b"").transact(sender)
    with reverts("list_too_large"):
        registry.functions.publish(LIST_A, DIGEST_1, b"\1" * (MAX_ENCODED_LIST + 1)).transact(
            sender
        )
    assert registry.functions.latest(account(w3, 4), LIST_A).call()[1] == 0
    # Exactly the cap is accepted (the contract never inflates it: verifiers do).
    receipt = transact(
        w3,
        registry.functions.publish(LIST_A, DIGEST_1, b"\1" * MAX_ENCODED_LIST),
        account(w3, 4),
    )
    assert receipt["gasUsed"] < 3_000_000
    assert registry.functions.latest(account(w3, 4), LIST_A).call()[1] == 1


# -- deployment ---------------------------------------------------------------------------


@pytest.fixture
def hub_chain(tmp_path: Path) -> tuple[EmbeddedChain, Transactor]:
    node: LocalAccount = Account.create()
    chain = EmbeddedChain.open(tmp_path / "chain", chain_id=1337, prefund={node.address: 10**24})
    return chain, Transactor(chain, node, receipt_timeout=30.0, poll_interval=0.01)


def test_deploy_all_includes_the_status_list_registry(
    hub_chain: tuple[EmbeddedChain, Transactor],
) -> None:
    chain, transactor = hub_chain
    deployment = deploy_all(transactor, organisation_name="Test Notary")
    assert deployment.status_lists is not None
    addresses = deployment.addresses()
    assert addresses[STATUS_LIST_REGISTRY] == deployment.status_lists.address
    assert STATUS_LIST_REGISTRY in deployment.blocks

    receipt = deployment.status_lists.transact(transactor, "publish", LIST_A, DIGEST_1, LIST_1)
    (event,) = deployment.status_lists.decode_logs(receipt, "StatusListPublished")
    assert event.args["publisher"] == transactor.address
    assert event.args["encodedList"] == LIST_1
    again = attach_all(chain, addresses)
    assert again.status_lists is not None
    digest, version, updated_at, updated_block = again.status_lists.call(
        "latest", transactor.address, LIST_A
    )
    assert (digest, version, updated_block) == (DIGEST_1, 1, receipt.block_number)
    assert updated_at == chain.get_block(receipt.block_number).timestamp
    chain.close()


def test_older_hubs_attach_without_it_and_deploy_it_later(
    hub_chain: tuple[EmbeddedChain, Transactor],
) -> None:
    chain, transactor = hub_chain
    full = deploy_all(transactor, organisation_name="Test Notary")
    older = {k: full.addresses()[k] for k in (DID_REGISTRY, ANCHOR_REGISTRY, CONSORTIUM)}
    assert attach_all(chain, older).status_lists is None
    assert STATUS_LIST_REGISTRY not in attach_all(chain, older).addresses()

    registry = deploy_status_lists(transactor)
    assert registry.address != full.addresses()[STATUS_LIST_REGISTRY]
    attached = attach_all(chain, {**older, STATUS_LIST_REGISTRY: registry.address})
    assert attached.status_lists is not None
    assert attached.status_lists.address == registry.address
    chain.close()


def test_look_alike_code_is_refused(hub_chain: tuple[EmbeddedChain, Transactor]) -> None:
    chain, transactor = hub_chain
    full = deploy_all(transactor, organisation_name="Test Notary")
    # The anchor registry answers calls too, but it is not the status list registry.
    wrong = {**full.addresses(), STATUS_LIST_REGISTRY: full.addresses()[ANCHOR_REGISTRY]}
    with pytest.raises(ContractNotFound, match="not the expected contract"):
        attach_all(chain, wrong)
    nothing = {**full.addresses(), STATUS_LIST_REGISTRY: Account.create().address}
    with pytest.raises(ContractNotFound, match="no contract code"):
        attach_all(chain, nothing)
    assert load_artifact(STATUS_LIST_REGISTRY).bytecode.endswith(
        load_artifact(STATUS_LIST_REGISTRY).deployed_bytecode
    )
    chain.close()
