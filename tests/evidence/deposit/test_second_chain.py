"""A second anchor (issue 16 item 4, "Done when"): letters carry a receipt per chain.

A hub on a Hardhat node (chain 31337) anchors every batch root on a second Hardhat node
too (chain 31338), through the hub's own AnchorRegistry deployed there with
``notary-hub chain deploy-anchor``. Deposits are certified with two receipts, and
``notary-hub verify`` checks each receipt on the node given for its chain id: with both
``--rpc`` it passes; with one, the other receipt is reported unchecked; a tampered extra
receipt, a receipt moved to the other chain's id and a forged block hash are refused.
Then the second chain is stopped: under the ``wait`` policy certification waits for it;
under ``issue`` the letter comes with the primary receipt alone, and once the chain is
back ``?refresh=1`` re-issues it with both (the first letter still valid).

Hardhat brings a stopped node back as a fresh chain; the node key deploys the registry
again at the same address (the same sender and nonces), as an operator would.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from did_registry.did_key import did_key
from hub_kernel.multiformats import ED25519
from testkit.waiting import wait_until
from tests.fixtures.hardhat import HARDHAT_BIN, HardhatNode, free_port
from tests.fixtures.hub_process import HubProcess, run_cli

pytestmark = pytest.mark.hardhat

MASTER_KEY = "7a" * 32
FUNDING = 10**20
DEPOSITOR = did_key(ED25519, bytes(range(32)))
ANCHOR = "ChainAnchorEvidence"


@dataclass
class World:
    workdir: Path
    primary: HardhatNode
    second: HardhatNode
    hub: HubProcess
    node: str  # the hub's node address, funded on both chains
    letter: dict[str, Any]  # certified under the wait policy: two receipts


def anchors(letter: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in letter["evidence"] if ANCHOR in e["type"]]


def deposit(client: httpx.Client, content: bytes) -> str:
    response = client.post(
        "/evidence/deposits",
        headers={"Depositor": DEPOSITOR},
        files={"file": ("f.bin", content, "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    deposit_id: str = response.json()["id"]
    return deposit_id


def state(client: httpx.Client, deposit_id: str) -> str:
    body = client.get(f"/evidence/deposits/{deposit_id}", headers={"Depositor": DEPOSITOR})
    value: str = body.json()["state"]
    return value


def letter_of(client: httpx.Client, deposit_id: str, refresh: bool = False) -> Any:
    wait_until(lambda: state(client, deposit_id) == "certified", timeout=60, interval=0.1)
    path = f"/evidence/deposits/{deposit_id}/credential" + ("?refresh=1" if refresh else "")
    response = client.get(path, headers={"Depositor": DEPOSITOR})
    assert response.status_code == 200, response.text
    return response.json()


def deploy_anchor(world_dir: Path, env: dict[str, str], second: HardhatNode) -> dict[str, Any]:
    args = ("chain", "deploy-anchor", "--rpc", second.url, "--chain-id", str(second.chain_id))
    deployed = run_cli(*args, env=env, cwd=world_dir)
    assert deployed.returncode == 0, deployed.stderr
    entry: dict[str, Any] = json.loads(deployed.stdout)
    return entry


def bring_back(world: World) -> None:
    """The second chain back (a fresh one): funded, the registry at the same address."""
    world.second.start()
    world.second.fund(world.node, FUNDING)
    entry = deploy_anchor(world.workdir, world.hub.env, world.second)
    assert (
        entry["registry_address"]
        == json.loads(world.hub.env["NOTARY_HUB_ANCHORING_EXTRA_CHAINS"])[0]["registry_address"]
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, second_hardhat: HardhatNode) -> Iterator[World]:
    if not HARDHAT_BIN.exists():
        pytest.skip("Hardhat is not installed: run `npm ci`")
    workdir = tmp_path_factory.mktemp("second-chain")
    # A primary node of the module's own: the shared one's clock may run ahead by then.
    primary = HardhatNode(port=free_port(), log_path=workdir / "primary.log")
    primary.start()
    second = second_hardhat
    env = {
        "NOTARY_HUB_CHAIN_RPC_URL": primary.url,
        "NOTARY_HUB_CHAIN_CHAIN_ID": str(primary.chain_id),
        "NOTARY_HUB_CHAIN_POLL_INTERVAL": "0.1",
        "NOTARY_HUB_CHAIN_RETRIES": "1",
        "NOTARY_HUB_DATABASE_URL": f"sqlite:///{workdir / 'hub.sqlite3'}",
        "NOTARY_HUB_KEYS_MASTER_KEY": MASTER_KEY,
        "NOTARY_HUB_LOG_FORMAT": "json",
        "NOTARY_HUB_EVIDENCE_POLL_SECONDS": "0.1",
        "NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS": "0.2",
        "NOTARY_HUB_ANCHORING_EXTRA_CHAINS_INTERVAL_SECONDS": "0.2",
        "NOTARY_HUB_ANCHORING_EXTRA_CHAINS_POLICY": "wait",
    }
    hub = HubProcess(workdir, env)
    try:
        assert run_cli("init", env=hub.env, cwd=workdir).returncode == 0
        info = run_cli("chain", "info", "--json", env=hub.env, cwd=workdir)
        assert info.returncode == 0, info.stderr
        node = json.loads(info.stdout)["node"]
        assert run_cli("db", "upgrade", env=hub.env, cwd=workdir).returncode == 0
        primary.fund(node, FUNDING)
        second.fund(node, FUNDING)
        deployed = run_cli("chain", "deploy", env=hub.env, cwd=workdir)
        assert deployed.returncode == 0, deployed.stderr
        hub.env.update(dict(line.split("=", 1) for line in deployed.stdout.split()))
        entry = deploy_anchor(workdir, hub.env, second)
        assert entry["chain_id"] == 31338
        hub.env["NOTARY_HUB_ANCHORING_EXTRA_CHAINS"] = json.dumps([entry])
        hub.start()
        with hub.client() as client:
            letter = letter_of(client, deposit(client, b"the first deposit" * 100))
        yield World(workdir, primary, second, hub, node, letter)
    finally:
        hub.stop()
        primary.stop()


def verify(world: World, letter: Any, *rpcs: str) -> subprocess.CompletedProcess[str]:
    path = world.workdir / f"letter-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(letter))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")}
    args = ["verify", str(path), "--json"]
    for rpc in rpcs:
        args += ["--rpc", rpc]
    return run_cli(*args, env=env, cwd=world.workdir)


def test_the_letter_carries_a_receipt_per_chain(world: World) -> None:
    first, second = anchors(world.letter)
    assert (first["chainId"], second["chainId"]) == (31337, 31338)
    one, two = first["anchorReceipt"], second["anchorReceipt"]
    same = ("leaf", "leafIndex", "treeSize", "auditPath", "root", "kind")
    assert {k: one[k] for k in same} == {k: two[k] for k in same}
    assert one["transactionHash"] != two["transactionHash"]


def test_both_receipts_verify_with_both_nodes(world: World) -> None:
    result = verify(world, world.letter, world.primary.url, world.second.url)
    assert result.returncode == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert body["verified"] is True
    assert body["details"]["evidence"]["anchor[1]"].endswith("on chain 31338")
    assert "UNCHECKED_ANCHOR" not in [w["code"] for w in body["warnings"]]


def test_with_one_node_the_other_receipt_is_reported_unchecked(world: World) -> None:
    result = verify(world, world.letter, world.primary.url)
    assert result.returncode == 0, result.stdout + result.stderr
    body = json.loads(result.stdout)
    unchecked = [w for w in body["warnings"] if w["code"] == "UNCHECKED_ANCHOR"]
    assert len(unchecked) == 1 and "chain 31338" in unchecked[0]["message"]
    assert body["details"]["uncheckedAnchors"] == [31338]
    assert body["details"]["evidence"]["anchor[1]"] == "chain 31338: not checked"
    plain = run_cli(
        "verify",
        str(next(world.workdir.glob("letter-*.json"))),
        "--rpc",
        world.primary.url,
        env={k: v for k, v in os.environ.items() if not k.startswith("NOTARY_HUB_")},
        cwd=world.workdir,
    )
    assert "not checked" in plain.stdout + plain.stderr
    # Only the second chain's node: the primary receipt is the one unchecked, and the
    # notary's DID is not on that chain, so the letter cannot be valid.
    only_second = verify(world, world.letter, world.second.url)
    assert only_second.returncode == 1


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 1, result.stdout + result.stderr
    body = json.loads(result.stdout)
    return [f"{e['check']}: {e['message']}" for e in body["errors"]]


def test_a_tampered_extra_receipt_is_refused(world: World) -> None:
    letter = copy.deepcopy(world.letter)
    anchors(letter)[1]["anchorReceipt"]["blockNumber"] += 1
    found = errors(verify(world, letter, world.primary.url, world.second.url))
    assert any(e.startswith("anchor: chain 31338:") for e in found), found


def test_a_forged_block_hash_is_refused(world: World) -> None:
    letter = copy.deepcopy(world.letter)
    anchors(letter)[1]["anchorReceipt"]["blockHash"] = "0x" + "ee" * 32
    found = errors(verify(world, letter, world.primary.url, world.second.url))
    assert "anchor: chain 31338: the block hash differs from the receipt's" in found


def test_a_receipt_claiming_another_chain_is_refused(world: World) -> None:
    # The second chain's receipt claims the primary chain's id: asked there, it fails.
    letter = copy.deepcopy(world.letter)
    moved = anchors(letter)[1]
    moved["chainId"] = moved["anchorReceipt"]["chainId"] = 31337
    found = errors(verify(world, letter, world.primary.url, world.second.url))
    # Same registry address on both (the same sender and nonces), the same root anchored
    # on both: only the transaction and block tell the chains apart, and they do.
    anchor_errors = [e for e in found if e.startswith("anchor: ")]
    assert "anchor: the block hash differs from the receipt's" in anchor_errors, found
    # The evidence's chainId and its receipt's must agree.
    letter = copy.deepcopy(world.letter)
    anchors(letter)[1]["chainId"] = 31337
    found = errors(verify(world, letter, world.primary.url, world.second.url))
    assert "anchor: the evidence's chainId is not its receipt's" in found


def test_a_misconfigured_extra_chain_stops_the_start(world: World) -> None:
    """Checked at start: a node of another chain id, or no registry at the address."""
    world.hub.stop()
    try:
        entry = json.loads(world.hub.env["NOTARY_HUB_ANCHORING_EXTRA_CHAINS"])[0]
        nowhere = world.hub.env["NOTARY_HUB_CHAIN_DID_REGISTRY_ADDRESS"]  # no code on 31338
        for wrong, said in (
            ({**entry, "chain_id": 31339}, "wrong_chain_id"),
            ({**entry, "registry_address": nowhere}, "contract_not_found"),
        ):
            env = {**world.hub.env, "NOTARY_HUB_ANCHORING_EXTRA_CHAINS": json.dumps([wrong])}
            refused = run_cli("init", env=env, cwd=world.workdir)
            assert refused.returncode != 0, refused.stdout
            assert "extra chain" in refused.stderr and said in refused.stderr, refused.stderr
    finally:
        world.hub.start()


def test_wait_policy_certification_waits_for_the_second_chain(world: World) -> None:
    world.second.stop()
    with world.hub.client() as client:
        deposit_id = deposit(client, b"while the second chain is down" * 50)
        wait_until(lambda: state(client, deposit_id) == "anchored", timeout=60, interval=0.1)
        time.sleep(3)  # several certify passes: still waiting
        assert state(client, deposit_id) == "anchored"
        bring_back(world)
        letter = letter_of(client, deposit_id)
    assert [a["chainId"] for a in anchors(letter)] == [31337, 31338]
    result = verify(world, letter, world.primary.url, world.second.url)
    assert result.returncode == 0, result.stdout + result.stderr


def test_issue_policy_letters_then_refresh(world: World) -> None:
    world.hub.stop()
    world.hub.env["NOTARY_HUB_ANCHORING_EXTRA_CHAINS_POLICY"] = "issue"
    world.second.stop()
    world.hub.start()  # the second chain is down at start: the hub starts all the same
    with world.hub.client() as client:
        deposit_id = deposit(client, b"issued with what there is" * 50)
        first = letter_of(client, deposit_id)
        assert [a["chainId"] for a in anchors(first)] == [31337]
        assert letter_of(client, deposit_id, refresh=True) == first  # nothing new yet
        bring_back(world)

        def refreshed() -> Any:
            letter = letter_of(client, deposit_id, refresh=True)
            return letter if len(anchors(letter)) == 2 else None

        wait_until(refreshed, timeout=60, interval=0.3)
        renewed = letter_of(client, deposit_id)  # stored in place of the first
    assert [a["chainId"] for a in anchors(renewed)] == [31337, 31338]
    assert renewed["id"] == first["id"] and renewed["proof"] != first["proof"]
    assert anchors(renewed)[0] == anchors(first)[0]
    both = verify(world, renewed, world.primary.url, world.second.url)
    assert both.returncode == 0, both.stdout + both.stderr
    # The first letter stays valid: a new credential does not withdraw the old one.
    old = verify(world, first, world.primary.url, world.second.url)
    assert old.returncode == 0, old.stdout + old.stderr
