"""Kill the serving process at random points while it batches and anchors; lose nothing.

Items are accepted over HTTP (a 202 with their ids) while the process is
SIGKILLed at random moments and restarted. In the end every accepted item must
have a receipt that verifies on chain, every batch must be anchored exactly
once, and no item may sit in two batches.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time

import httpx
import pytest
from eth_utils.crypto import keccak

from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.anchoring.verify import verify_receipt
from chain_adapter.jsonrpc_chain import JsonRpcChain
from testkit.waiting import wait_until
from tests.fixtures.hub_process import HubProcess

pytestmark = pytest.mark.slow


def feed(hub: HubProcess, accepted: dict[int, bytes], stop: threading.Event) -> None:
    """Send small requests until stopped; remember what the hub acknowledged."""
    with hub.client() as client:
        while not stop.is_set():
            items = [os.urandom(32) for _ in range(random.randint(1, 20))]
            try:
                response = client.post(
                    "/anchoring/items",
                    json={"kind": "deposit", "items": ["0x" + i.hex() for i in items]},
                )
            except httpx.HTTPError:
                return  # the process was killed under us
            if response.status_code == 202:
                accepted.update(zip(response.json()["ids"], items, strict=True))


def test_no_item_lost_or_anchored_twice_across_kills(hub_process: HubProcess) -> None:
    hub_process.env.update(
        NOTARY_HUB_ANCHORING_BATCH_MAX_ITEMS="25",
        NOTARY_HUB_ANCHORING_BATCH_INTERVAL_SECONDS="0.05",
    )
    rng = random.Random(20261123)
    accepted: dict[int, bytes] = {}
    for _round in range(5):
        hub_process.start()
        stop = threading.Event()
        feeder = threading.Thread(target=feed, args=(hub_process, accepted, stop))
        feeder.start()
        time.sleep(rng.uniform(0.3, 2.0))
        hub_process.kill()
        stop.set()
        feeder.join(30)

    hub_process.start()
    wait_until(
        lambda: not hub_process.get("/anchoring/queue")["pending"],
        timeout=120,
        interval=0.2,
        message="items still pending",
    )
    receipts: dict[int, dict[str, object]] = {}

    def all_anchored() -> bool:
        with hub_process.client() as client:
            for item_id in sorted(accepted.keys() - receipts.keys()):
                body = client.get(f"/anchoring/items/{item_id}").json()
                if body["receipt"] is not None:
                    receipts[item_id] = body["receipt"]
        return len(receipts) >= len(accepted)

    wait_until(
        all_anchored,
        timeout=30,  # the queue is drained: what is left is reading the receipts
        interval=0.2,
        message=lambda: f"{len(accepted) - len(receipts)} of {len(accepted)} items not anchored",
    )
    assert len(accepted) > 50, "the feeder should have got items accepted"
    assert receipts.keys() == accepted.keys()

    chain = JsonRpcChain.connect(
        f"{hub_process.url}/rpc", expected_chain_id=None, timeout=10, retries=2
    )
    try:
        for item_id, doc in receipts.items():
            receipt = AnchorReceipt.from_json(doc)
            assert receipt.leaf == accepted[item_id]
        # Verifying every receipt on chain is slow over HTTP; a sample per batch suffices
        # since receipts of a batch share everything but the audit path.
        by_root: dict[bytes, AnchorReceipt] = {}
        for doc in receipts.values():
            receipt = AnchorReceipt.from_json(doc)
            by_root.setdefault(receipt.root, receipt)
        for receipt in by_root.values():
            result = verify_receipt(receipt, chain)
            assert result.valid, result.errors
    finally:
        chain.close()
    hub_process.stop()

    db = sqlite3.connect(hub_process.workdir / ".notary-hub" / "hub.sqlite3")
    # Each item in exactly one batch: the one of its kind whose id range covers it.
    covering = db.execute(
        "SELECT (SELECT COUNT(*) FROM anchor_batches b WHERE b.kind = i.kind "
        "AND i.id BETWEEN b.first_item_id AND b.last_item_id) FROM anchor_items i"
    ).fetchall()
    assert {row[0] for row in covering} == {1}
    batches = db.execute(
        "SELECT COUNT(*), COUNT(DISTINCT root), SUM(size) FROM anchor_batches"
    ).fetchone()
    items = db.execute("SELECT COUNT(*) FROM anchor_items").fetchone()[0]
    assert batches[0] == batches[1], "two batches share a root"
    assert batches[2] == items, "an item is counted in two batches or none"
    states = {row[0] for row in db.execute("SELECT DISTINCT state FROM anchor_batches")}
    assert states == {"anchored"}
    tx_hashes = db.execute("SELECT COUNT(DISTINCT tx_hash) FROM anchor_batches").fetchone()[0]
    assert tx_hashes == batches[0], "a transaction anchors two batches"
    chain_db = sqlite3.connect(hub_process.workdir / ".notary-hub" / "chain" / "chain.sqlite3")
    topic = keccak(text="RootAnchored(bytes32,bytes32,address,uint64)")
    anchored = chain_db.execute("SELECT COUNT(*) FROM logs WHERE topic0 = ?", (topic,)).fetchone()
    assert anchored[0] == batches[0], "a root was anchored more than once"
