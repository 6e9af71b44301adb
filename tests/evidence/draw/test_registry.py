"""The draw record on chain through ``evidence.draw.registry`` (docs/draw-algorithm.md §3.1,
§3.2, §5): on the embedded chain (its clock is the wall clock: every refusal, the commit
and the deployment) and once on Hardhat, whose clock moves on request (the result)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from chain_adapter.deploy import DRAW_REGISTRY, attach_all, deploy_all, deploy_draw_registry
from chain_adapter.embedded import EmbeddedChain
from chain_adapter.errors import ContractNotFound
from chain_adapter.jsonrpc_chain import JsonRpcChain
from chain_adapter.protocol import Chain
from chain_adapter.transactor import Transactor
from evidence.draw.drand import BeaconConfig, Fallback, round_at, round_time
from evidence.draw.registry import DrawCommitment, DrawRegistry, DrawResult, DrawState
from evidence.draw.registry_errors import (
    BeaconRoundNotPublished,
    BeaconRoundOutsideWindow,
    BeaconRoundTooSoon,
    DrawAlreadyCommitted,
    DrawAlreadyPublished,
    DrawChainError,
    DrawNotCommitted,
    InvalidDrawRecord,
    NotDrawRegistryOwner,
    RevealMismatch,
    UnknownBeaconNetwork,
)
from testkit.drand_beacon import BeaconKey, LocalBeacon
from tests.fixtures.hardhat import HardhatNode

SECRET = hashlib.sha256(b"notary secret").digest()
COMMITMENT = hashlib.sha256(b"notary-hub-draw/1 reveal" + SECRET).digest()
LOCAL = LocalBeacon(BeaconKey.from_seed(b"registry"), genesis=1_700_000_000, period=3)


def h(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def beacon_for(chain: Chain, lead: int, *, max_rounds: int = 2) -> BeaconConfig:
    """A test beacon (period 3) whose round is published ``lead`` seconds after the head."""
    now = chain.get_block("latest").timestamp
    fallback = Fallback("next-round", max_rounds) if max_rounds else Fallback()
    return LOCAL.config(round_at(LOCAL.config(1), now + lead) + 1, fallback)


def commitment(beacon: BeaconConfig, name: str) -> DrawCommitment:
    return DrawCommitment.for_beacon(
        beacon,
        config_hash=h(f"{name} config"),
        candidate_root=h(f"{name} root"),
        count=1000,
        sources_hash=h(f"{name} sources"),
        notary_commitment=COMMITMENT,
    )


def result(round: int, secret: bytes = SECRET) -> DrawResult:
    return DrawResult(round, h("randomness"), secret, h("seed"), h("result root"), winners=7)


STRANGER: LocalAccount = Account.create()  # funded on the embedded chain, owns nothing


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Chain, Transactor]]:
    node: LocalAccount = Account.create()
    chain = EmbeddedChain.open(
        tmp_path_factory.mktemp("draw-chain") / "chain",
        chain_id=1337,
        prefund={node.address: 10**24, STRANGER.address: 10**24},
    )
    yield chain, Transactor(chain, node, receipt_timeout=30.0, poll_interval=0.01)
    chain.close()


@pytest.fixture(scope="module")
def registry(embedded: tuple[Chain, Transactor]) -> DrawRegistry:
    _, transactor = embedded
    return DrawRegistry(deploy_draw_registry(transactor), transactor)


def test_deploy_all_includes_the_draw_registry_owned_by_the_node(
    embedded: tuple[Chain, Transactor],
) -> None:
    chain, transactor = embedded
    deployment = deploy_all(transactor, organisation_name="Test Notary")
    assert deployment.draw_registry is not None
    addresses = deployment.addresses()
    assert addresses[DRAW_REGISTRY] == deployment.draw_registry.address
    assert DRAW_REGISTRY in deployment.blocks
    registry = DrawRegistry.attach(chain, addresses[DRAW_REGISTRY])
    assert registry.owner() == transactor.address
    older = {k: v for k, v in addresses.items() if k != DRAW_REGISTRY}
    assert attach_all(chain, older).draw_registry is None
    look_alike = {**addresses, DRAW_REGISTRY: addresses["StatusListRegistry"]}
    with pytest.raises(ContractNotFound, match="not the expected contract"):
        attach_all(chain, look_alike)


def test_commit_is_recorded_once(
    embedded: tuple[Chain, Transactor], registry: DrawRegistry
) -> None:
    chain, _ = embedded
    beacon = beacon_for(chain, 120)
    assert registry.network(beacon.chain_hash) is None
    assert registry.ensure_network(beacon) is not None
    assert registry.ensure_network(beacon) is None  # already registered
    assert registry.network(beacon.chain_hash) == (beacon.genesis, beacon.period)
    assert registry.round_time(beacon.chain_hash, beacon.round) == round_time(beacon, beacon.round)

    key, committed = h("draw A"), commitment(beacon, "A")
    receipt = registry.commit(key, committed)
    record = registry.record(key)
    assert record is not None
    assert (record.state, record.commitment, record.result) == (
        DrawState.COMMITTED,
        committed,
        None,
    )
    assert record.committed_block == receipt.block_number
    assert record.committed_at == chain.get_block(receipt.block_number).timestamp
    with pytest.raises(DrawAlreadyCommitted, match=r"commit the draw: .*\(draw_exists\)"):
        registry.commit(key, commitment(beacon_for(chain, 600), "A again"))
    # The result cannot come before the round, nor outside the window.
    with pytest.raises(BeaconRoundNotPublished, match="not yet published"):
        registry.publish_result(key, result(beacon.round))
    with pytest.raises(BeaconRoundOutsideWindow):
        registry.publish_result(key, result(beacon.round + 3))
    assert registry.record(h("never committed")) is None


def test_out_of_order_and_refused_steps(
    embedded: tuple[Chain, Transactor], registry: DrawRegistry
) -> None:
    chain, _ = embedded
    beacon = beacon_for(chain, 120)
    registry.ensure_network(beacon)
    with pytest.raises(DrawNotCommitted, match="publish the draw's result"):
        registry.publish_result(h("draw B"), result(beacon.round))
    with pytest.raises(BeaconRoundTooSoon, match="less than 60 s"):
        registry.commit(h("draw B"), commitment(beacon_for(chain, 30), "B"))
    unknown = BeaconConfig.quicknet(round_at(BeaconConfig.quicknet(1), 2**40))
    with pytest.raises(UnknownBeaconNetwork):
        registry.commit(h("draw B"), commitment(unknown, "B"))
    as_stranger = DrawRegistry(registry.contract, Transactor(chain, STRANGER))
    with pytest.raises(NotDrawRegistryOwner, match="only the notary's account"):
        as_stranger.commit(h("draw B"), commitment(beacon, "B"))
    with pytest.raises(DrawChainError, match="read-only"):
        DrawRegistry(registry.contract).commit(h("draw B"), commitment(beacon, "B"))
    assert registry.record(h("draw B")) is None  # nothing refused left a trace


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"config_hash": b"\x01" * 31}, "config hash must be 32 bytes"),
        ({"count": -1}, "count must be an integer"),
        ({"round": 2**64}, "round must be an integer"),
        ({"fallback_max_rounds": 11}, "fallback window is 0 to 10"),
        ({"count": 0}, r"candidate count is zero \(zero_count\)"),
        ({"config_hash": bytes(32)}, r"hash is zero \(zero_hash\)"),
    ],
)
def test_bad_values_are_refused(
    embedded: tuple[Chain, Transactor],
    registry: DrawRegistry,
    change: dict[str, object],
    reason: str,
) -> None:
    chain, _ = embedded
    beacon = beacon_for(chain, 120)
    registry.ensure_network(beacon)
    good = commitment(beacon, "C").__dict__
    with pytest.raises(InvalidDrawRecord, match=reason):
        registry.commit(h("draw C"), DrawCommitment(**{**good, **change}))


def test_the_result_on_hardhat(
    hardhat_node: HardhatNode, hardhat_fund: Callable[[str], None]
) -> None:
    account: LocalAccount = Account.create()
    hardhat_fund(account.address)
    chain = JsonRpcChain.connect(hardhat_node.url, expected_chain_id=31337, timeout=10.0)
    try:
        transactor = Transactor(chain, account, receipt_timeout=30.0, poll_interval=0.02)
        registry = DrawRegistry(deploy_draw_registry(transactor), transactor)
        beacon = beacon_for(chain, 90, max_rounds=1)
        registry.ensure_network(beacon)
        key = h("draw on hardhat")
        registry.commit(key, commitment(beacon, "H"))
        with pytest.raises(BeaconRoundNotPublished):
            registry.publish_result(key, result(beacon.round))
        hardhat_node.rpc("evm_increaseTime", [200])
        hardhat_node.mine()
        with pytest.raises(RevealMismatch, match="does not match the notary commitment"):
            registry.publish_result(key, result(beacon.round, secret=h("guess")))
        with pytest.raises(BeaconRoundOutsideWindow):
            registry.publish_result(key, result(beacon.round + 2))
        receipt = registry.publish_result(key, result(beacon.round + 1))
        record = registry.record(key)
        assert record is not None and record.state is DrawState.PUBLISHED
        assert record.result == DrawResult(
            beacon.round + 1,
            h("randomness"),
            SECRET,
            h("seed"),
            h("result root"),
            7,
            published_at=chain.get_block(receipt.block_number).timestamp,
            published_block=receipt.block_number,
        )
        with pytest.raises(DrawAlreadyPublished, match="already published"):
            registry.publish_result(key, result(beacon.round))
    finally:
        chain.close()
