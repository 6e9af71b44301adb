"""The hub against a real Hardhat node, driven through the CLI as an operator would.

The ``operator`` fixture walks the documented flow once for the module:
``chain info`` (learn the node address; nothing deployed, database not yet
migrated) -> ``db upgrade`` -> ``chain deploy`` (refused while the node has no
ether) -> fund the node from a Hardhat dev account -> ``chain deploy`` (prints
the ``NOTARY_HUB_CHAIN_..._ADDRESS`` lines). The tests then serve with those
addresses, anchor, and verify receipts against Hardhat with the hub stopped.

The chain-down test stops the Hardhat node; the restarted node is a fresh chain
without the module's contracts, so it must stay the last test of this module.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from notary_hub import migrate
from notary_hub.db import create_db_engine
from testkit.waiting import wait_until
from tests.fixtures.hardhat import HardhatNode
from tests.fixtures.hub_process import HubProcess, run_cli
from tests.fixtures.operator import (
    ADDRESS_VARS,
    FUNDING,
    Operator,
    chain_env,
    deployed_operator,
)

pytestmark = pytest.mark.hardhat


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


def has_code(node: HardhatNode, address: str) -> bool:
    return len(node.rpc("eth_getCode", [address, "latest"])) > 2


@pytest.fixture(scope="module")
def operator(hardhat_node: HardhatNode, tmp_path_factory: pytest.TempPathFactory) -> Operator:
    return deployed_operator(hardhat_node, tmp_path_factory.mktemp("operator"))


def wait_for_receipts(hub: HubProcess, ids: list[int], timeout: float = 60) -> list[Any]:
    receipts: dict[int, Any] = {}
    with hub.client() as client:

        def all_anchored() -> bool:
            for item_id in ids:
                body = client.get(f"/anchoring/items/{item_id}").json()
                if body["receipt"] is not None:
                    receipts[item_id] = body["receipt"]
            return len(receipts) == len(ids)

        wait_until(
            all_anchored,
            timeout=timeout,
            interval=0.1,
            message=lambda: f"anchored {sorted(receipts)} of {ids}",
        )
    return [receipts[item_id] for item_id in ids]


def enqueue(hub: HubProcess, count: int) -> list[int]:
    with hub.client() as client:
        response = client.post(
            "/anchoring/items",
            json={"kind": "deposit", "items": ["0x" + os.urandom(32).hex() for _ in range(count)]},
        )
    assert response.status_code == 202, response.text
    ids: list[int] = response.json()["ids"]
    return ids


# -- the operator flow ------------------------------------------------------------------


def test_init_and_chain_info_before_deploy_show_the_node_to_fund(operator: Operator) -> None:
    initialised = operator.steps["init"].stdout
    assert f"created node key for {operator.node} (encrypted at rest)" in initialised
    assert f"node {operator.node}" in initialised
    result = operator.steps["info before"]
    assert result.stderr.strip() == ""  # `init` created the key; `chain info` creates nothing
    info = json.loads(result.stdout)
    assert info == {
        "chainId": 31337,
        "backend": "jsonrpc",
        "blockNumber": info["blockNumber"],
        "node": operator.node,
        "nodeBalance": 0,
        "database": "upgrade needed",
        "contracts": None,
        "member": None,
        "serviceNode": None,
        "pendingAnchorItems": None,
    }
    # The master key came from the environment: no key file was written.
    assert not (operator.workdir / ".notary-hub" / "master.key").exists()


def test_chain_deploy_needs_a_funded_node_then_prints_the_addresses(
    operator: Operator, hardhat_node: HardhatNode
) -> None:
    upgrade = operator.steps["db upgrade"]
    assert upgrade.returncode == 0, upgrade.stderr
    assert upgrade.stdout.strip() == f"database at revision {migrate.head_revision()}"

    line = one_error_line(operator.steps["deploy unfunded"])
    assert line.startswith("error: transaction_rejected: "), line
    assert "enough funds" in line

    funded = json.loads(operator.steps["info funded"].stdout)
    assert funded["nodeBalance"] == FUNDING
    assert funded["database"] == "current"
    assert funded["contracts"] is None

    deploy = operator.steps["deploy"]
    lines = deploy.stdout.strip().splitlines()
    assert [line.partition("=")[0] for line in lines] == list(ADDRESS_VARS.values())
    for line in lines:
        assert re.fullmatch(r"NOTARY_HUB_CHAIN_\w+_ADDRESS=0x[0-9a-fA-F]{40}", line), line
    for address in operator.addresses.values():
        assert has_code(hardhat_node, address), address

    deployed = json.loads(operator.steps["info deployed"].stdout)
    assert deployed["contracts"] == {
        name: operator.addresses[var] for name, var in ADDRESS_VARS.items()
    }
    assert deployed["member"] is True
    assert deployed["serviceNode"] is True
    assert 0 < deployed["nodeBalance"] < FUNDING, "deploying cost gas"
    assert deployed["pendingAnchorItems"] == 0


def test_serve_anchors_and_receipts_verify_with_the_hub_stopped(
    operator: Operator, hardhat_node: HardhatNode
) -> None:
    hub = HubProcess(operator.workdir, {})
    hub.env = operator.serve_env(NOTARY_HUB_SERVER_PORT=str(hub.port))
    offset = hub.log.stat().st_size if hub.log.exists() else 0
    hub.start()
    try:
        log = hub.log.read_text()[offset:]
        created = [line for line in log.splitlines() if line.startswith("created")]
        # Keys and API token by `init`, contracts by `chain deploy`: on this first serve only
        # the notary's DID keys (an Ed25519 assertion key, an X25519 agreement key), its
        # document-signing certificate's fingerprint (PDF letters), and the key wallet
        # sign-in requests are signed with (issue 13).
        assert [line.split(" ")[1:3] for line in created] == [
            ["notary", "ed25519"],
            ["notary", "x25519"],
            ["document-signing", "certificate"],
            ["sign-in", "request"],
            ["OAuth", "client"],  # notary-hub-cli, for `notary-hub login`
        ], created
        assert re.search(
            rf"^JSON-RPC chain 31337 at block \d+; node {operator.node}$", log, re.M
        ), log
        for name, var in ADDRESS_VARS.items():
            assert f"{name} {operator.addresses[var]}\n" in log
        assert "chain JSON-RPC at" not in log, "only the embedded chain is served on /rpc"
        ready = hub.get("/readyz")
        assert ready["chain"]["chainId"] == 31337

        ids = enqueue(hub, 3)
        receipts = wait_for_receipts(hub, ids)
    finally:
        hub.stop()
    assert hub.process is None

    for receipt in receipts:
        assert receipt["chainId"] == 31337
        assert receipt["registry"] == operator.addresses["NOTARY_HUB_CHAIN_ANCHOR_REGISTRY_ADDRESS"]
        assert receipt["treeSize"] == 3
    path = operator.workdir / "receipt.json"
    path.write_text(json.dumps(receipts[1]))

    # The hub is stopped: the verifier needs nothing but a node of the chain.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{hub.url}/healthz", timeout=2)
    verify = ("receipt", "verify", str(path), "--rpc", hardhat_node.url)
    result = run_cli(*verify, env=operator.env, cwd=operator.workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"valid: anchored in block {receipts[1]['blockNumber']} ")
    result = run_cli(*verify, "--json", env=operator.env, cwd=operator.workdir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["valid"] is True

    # Tampered: one on the inclusion proof, one that only the chain can refute.
    for tamper, expected in [
        (
            {"leaf": "0x" + "00" * 32},
            "invalid: the audit path does not lead from the leaf to the root",
        ),
        ({"blockHash": "0x" + "ee" * 32}, "invalid: the block hash differs from the receipt's"),
    ]:
        path.write_text(json.dumps({**receipts[1], **tamper}))
        result = run_cli(*verify, env=operator.env, cwd=operator.workdir)
        assert result.returncode == 1, (result.stdout, result.stderr)
        assert result.stdout == ""
        assert result.stderr.strip().splitlines() == [expected], result.stderr


# -- refusals ------------------------------------------------------------------------------


@pytest.fixture
def migrated_db(tmp_path: Path) -> Path:
    path = tmp_path / "hub.sqlite3"
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    return path


def test_configured_address_without_code_is_refused(
    hardhat_node: HardhatNode, tmp_path: Path, migrated_db: Path
) -> None:
    hardhat_node.ensure_running()
    nobody = "0x" + "de" * 20
    assert not has_code(hardhat_node, nobody)
    env = chain_env(
        hardhat_node,
        migrated_db,
        NOTARY_HUB_CHAIN_DID_REGISTRY_ADDRESS=nobody,
        NOTARY_HUB_CHAIN_ANCHOR_REGISTRY_ADDRESS=nobody,
        NOTARY_HUB_CHAIN_CONSORTIUM_ADDRESS=nobody,
    )
    result = run_cli("serve", env=env, cwd=tmp_path, timeout=60)
    line = one_error_line(result)
    assert line.startswith("error: contract_not_found: "), line
    assert nobody[2:].lower() in line.lower()
    assert "listening" not in result.stdout


def test_swapped_contract_addresses_are_refused(
    operator: Operator, hardhat_node: HardhatNode, tmp_path: Path, migrated_db: Path
) -> None:
    """Code at the address is not enough: it must be the expected contract."""
    addresses = operator.addresses
    env = chain_env(
        hardhat_node,
        migrated_db,
        NOTARY_HUB_CHAIN_DID_REGISTRY_ADDRESS=addresses["NOTARY_HUB_CHAIN_CONSORTIUM_ADDRESS"],
        NOTARY_HUB_CHAIN_ANCHOR_REGISTRY_ADDRESS=addresses[
            "NOTARY_HUB_CHAIN_ANCHOR_REGISTRY_ADDRESS"
        ],
        NOTARY_HUB_CHAIN_CONSORTIUM_ADDRESS=addresses["NOTARY_HUB_CHAIN_DID_REGISTRY_ADDRESS"],
    )
    result = run_cli("serve", env=env, cwd=tmp_path, timeout=60)
    line = one_error_line(result)
    assert line.startswith("error: contract_not_found: "), line


def test_wrong_chain_id_is_refused(
    hardhat_node: HardhatNode, tmp_path: Path, migrated_db: Path
) -> None:
    hardhat_node.ensure_running()
    env = chain_env(hardhat_node, migrated_db, NOTARY_HUB_CHAIN_CHAIN_ID="1")
    result = run_cli("serve", env=env, cwd=tmp_path, timeout=60)
    line = one_error_line(result)
    assert line == (
        f"error: wrong_chain_id: node {hardhat_node.url} serves chain id 31337, expected chain id 1"
    )


# -- chain down: keep this test LAST (the restarted Hardhat node is a fresh chain) -------


def test_chain_down_readyz_503_and_items_are_kept(
    operator: Operator, hardhat_node: HardhatNode
) -> None:
    hub = HubProcess(operator.workdir, {})
    # One retry: readiness answers within a second instead of after the full backoff.
    hub.env = operator.serve_env(NOTARY_HUB_SERVER_PORT=str(hub.port), NOTARY_HUB_CHAIN_RETRIES="1")
    hub.start()
    try:
        (before,) = enqueue(hub, 1)
        (anchored,) = wait_for_receipts(hub, [before])

        hardhat_node.stop()
        with hub.client() as client:
            ready = client.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.json()["status"] == "unavailable"
            assert set(ready.json()["reasons"]) == {"chain"}
            assert "unavailable" in ready.json()["reasons"]["chain"]

            ids = enqueue(hub, 5)
            assert len(ids) == 5 and min(ids) > before
            assert client.get("/anchoring/queue").status_code == 200

            # The batcher tries, fails on the chain, and says so; nothing is lost meanwhile.
            def anchoring_reported() -> dict[str, Any] | None:
                body: dict[str, Any] = client.get("/readyz").json()
                return body if body["anchoring"].get("lastError") else None

            body = wait_until(
                anchoring_reported, timeout=30, interval=0.2, message="no anchoring error reported"
            )
            assert body["anchoring"]["lastError"].startswith("chain_unavailable: "), body
            pending = client.get("/anchoring/queue").json()["pending"]
            states = []
            for item_id in ids:
                item = client.get(f"/anchoring/items/{item_id}").json()
                assert item["receipt"] is None
                states.append(item["state"])
            assert set(states) <= {"queued", "sealed"}, states
            assert pending == states.count("queued")
            # What was anchored before the outage is still served from the database.
            assert client.get(f"/anchoring/items/{before}").json()["receipt"] == anchored
    finally:
        hub.kill()
        hardhat_node.start()  # a fresh chain, for whatever runs next
