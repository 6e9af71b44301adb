"""Anchoring throughput, enqueue to receipt, on the embedded chain: a script, not a test.

Run from the repository root::

    .venv/bin/python bench/anchoring_bench.py [--items N] [--database URL]

``--database`` defaults to a SQLite file in a temporary directory; a PostgreSQL
URL (``postgresql://user@host:port/db``) is used as given: it must name an empty
database of its own, which is migrated to head and left for the caller to drop.

Timed end to end (t0 to t1), as a platform would drive it: ``enqueue_many`` in
chunks, ``Batcher.run_once`` until nothing is pending (seal: claim, hash, build
and store the tree levels; anchor: sign, send, mine and record the transaction),
then every receipt (``AnchorQueue.batch_receipts`` for each batch, each receipt
serialised with ``json.dumps(receipt.to_json())``). Then receipt verification:
the Merkle part alone, full ``verify_receipt`` against the embedded chain in
process, and against the same chain over HTTP JSON-RPC (uvicorn in a thread).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info

F = TypeVar("F", bound=Callable[..., Any])

KIND = "bench"
CHAIN_ID = 1337


class Clock:
    """Accumulated wall time per named step."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.spent[name] += time.perf_counter() - start
            self.calls[name] += 1

    def wrap(self, name: str, fn: F) -> F:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.step(name):
                return fn(*args, **kwargs)

        return timed  # type: ignore[return-value]


def database_info(engine: Any) -> str:
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            version = conn.execute(text("select sqlite_version()")).scalar()
            return f"SQLite {version} (WAL, synchronous=NORMAL) at {engine.url.database}"
        version = conn.execute(text("show server_version")).scalar()
        return f"PostgreSQL {version} at {engine.url.render_as_string(hide_password=True)}"


@contextlib.contextmanager
def http_chain(chain: Any) -> Iterator[Any]:
    """The embedded chain served over HTTP JSON-RPC by uvicorn in a thread, and a client."""
    from chain_adapter.jsonrpc_chain import JsonRpcChain
    from testkit.serving import serve_rpc

    with serve_rpc(chain, access_log=False) as url:
        client = JsonRpcChain.connect(url, expected_chain_id=CHAIN_ID, timeout=10.0)
        try:
            yield client
        finally:
            client.close()


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f} /s" if seconds > 0 else "           - /s"


def main() -> None:
    from eth_account import Account
    from sqlalchemy import func, select

    from chain_adapter import merkle as merkle_module
    from chain_adapter.anchoring import sealing as sealing_module
    from chain_adapter.anchoring.batcher import Batcher
    from chain_adapter.anchoring.queue import AnchorQueue
    from chain_adapter.anchoring.receipt import AnchorReceipt
    from chain_adapter.anchoring.verify import verify_receipt
    from chain_adapter.deploy import deploy_all
    from chain_adapter.embedded import EmbeddedChain
    from chain_adapter.merkle import MerkleTree, leaf_hash, verify_inclusion
    from chain_adapter.models import AnchorItem
    from chain_adapter.transactor import Transactor
    from notary_hub import migrate
    from notary_hub.db import create_db_engine, session_factory

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument(
        "--database", help="SQLAlchemy URL (default: a SQLite file in a temporary directory)"
    )
    parser.add_argument("--batch-max-items", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1_000, help="items per enqueue_many call")
    parser.add_argument("--item-bytes", type=int, default=32)
    parser.add_argument(
        "--verify-merkle", type=int, default=100_000, help="receipts for the Merkle-only check"
    )
    parser.add_argument("--verify-chain", type=int, default=2_000, help="receipts, in process")
    parser.add_argument("--verify-http", type=int, default=500, help="receipts over JSON-RPC")
    args = parser.parse_args()
    n: int = args.items

    print(machine_info())
    tmp = Path(tempfile.mkdtemp(prefix="anchoring-bench-"))
    url = args.database or f"sqlite:///{tmp / 'hub.sqlite3'}"
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        existing = session.scalar(select(func.count()).select_from(AnchorItem))
    if existing:
        sys.exit(f"{url}: anchor_items already holds {existing} rows; give an empty database")
    print(database_info(engine))

    node = Account.from_key(os.urandom(32))
    chain = EmbeddedChain.open(tmp / "chain", chain_id=CHAIN_ID, prefund={node.address: 10**24})
    transactor = Transactor(chain, node, receipt_timeout=30, poll_interval=0.005)
    deployment = deploy_all(transactor, organisation_name="Bench Notary")

    clock = Clock()
    batch_ids: list[int] = []
    queue = AnchorQueue(sessions)
    batcher = Batcher(
        sessions,
        queue,
        transactor,
        deployment.anchor_registry,
        max_items=args.batch_max_items,
        interval=1.0,
        on_anchored=batch_ids.append,
    )
    # Time the steps inside run_once without changing what it does.
    batcher.seal = clock.wrap("seal", batcher.seal)  # type: ignore[method-assign]
    batcher._anchor = clock.wrap("anchor tx", batcher._anchor)  # type: ignore[method-assign]
    # Patched where the sealer looks it up: its module imported the name from merkle.
    hashed = clock.wrap("  of which hash leaves", merkle_module.hash_leaves)
    sealing_module.hash_leaves = hashed  # type: ignore[attr-defined]
    from_leaves = MerkleTree.from_leaves.__func__  # type: ignore[attr-defined]
    MerkleTree.from_leaves = classmethod(  # type: ignore[method-assign,assignment]
        clock.wrap("  of which build tree", from_leaves)
    )

    items = [os.urandom(args.item_bytes) for _ in range(n)]
    chunks = [items[i : i + args.chunk] for i in range(0, n, args.chunk)]
    rng = random.Random(9162)
    keep = set(rng.sample(range(n), min(n, max(args.verify_merkle, args.verify_chain))))
    kept: list[str] = []
    json_bytes = 0

    t0 = time.perf_counter()
    with clock.step("enqueue"):
        ids = [i for chunk in chunks for i in queue.enqueue_many(chunk, KIND)]
    passes = 0
    while True:
        passes += 1
        batcher.run_once()
        if queue.pending_count() == 0:
            break
    receipt_ids: list[int] = []
    wrong_leaves = 0
    to_json = dumps = 0.0
    clock_now = time.perf_counter
    with clock.step("receipts"):
        expected = dict(zip(ids, items, strict=True))
        position = 0
        for batch_id in batch_ids:
            for item_id, receipt in queue.batch_receipts(batch_id):
                before = clock_now()
                doc = receipt.to_json()
                middle = clock_now()
                text = json.dumps(doc)
                after = clock_now()
                to_json += middle - before
                dumps += after - middle
                json_bytes += len(text)
                receipt_ids.append(item_id)
                wrong_leaves += receipt.leaf != expected[item_id]
                if position in keep:
                    kept.append(text)
                position += 1
    t1 = time.perf_counter()
    total = t1 - t0
    clock.spent["  of which to_json"], clock.calls["  of which to_json"] = to_json, n
    clock.spent["  of which json.dumps"], clock.calls["  of which json.dumps"] = dumps, n

    # Exactly once: every accepted item has one receipt, for its own data, and nothing else does.
    assert len(receipt_ids) == n and sorted(receipt_ids) == sorted(ids), "receipts != items"
    assert wrong_leaves == 0, f"{wrong_leaves} receipts carry another item's data"

    print(
        f"\n{n:,} items of {args.item_bytes} bytes, enqueue_many x{len(chunks)} "
        f"(chunks of {args.chunk:,}), batch max {args.batch_max_items:,}: "
        f"{len(batch_ids)} batch(es), {passes} run_once pass(es)"
    )
    print(f"{'step':<28}{'seconds':>9}  {'calls':>6}  {'items/s':>15}")
    order = [
        "enqueue",
        "seal",
        "  of which hash leaves",
        "  of which build tree",
        "anchor tx",
        "receipts",
        "  of which to_json",
        "  of which json.dumps",
    ]
    for name in order:
        spent = clock.spent.get(name, 0.0)
        print(f"{name:<28}{spent:>9.3f}  {clock.calls.get(name, 0):>6}  {rate(n, spent)}")
    accounted = sum(clock.spent[name] for name in order if not name.startswith(" "))
    print(f"{'other (pending_count, ...)':<28}{total - accounted:>9.3f}")
    print(f"{'TOTAL enqueue -> receipt':<28}{total:>9.3f}  {'':>6}  {rate(n, total)}")
    print(
        f"receipts: {json_bytes / n:,.0f} bytes of JSON each on average "
        f"({json_bytes / 2**20:,.1f} MiB in all)"
    )

    # -- verification ------------------------------------------------------------------
    print("\nreceipt verification")
    docs = [json.loads(text) for text in kept[: args.verify_merkle]]
    start = time.perf_counter()
    for doc in docs:
        receipt = AnchorReceipt.from_json(doc)
        assert verify_inclusion(
            leaf_hash(receipt.leaf),
            receipt.leaf_index,
            receipt.tree_size,
            receipt.audit_path,
            receipt.root,
        )
    merkle = time.perf_counter() - start
    start = time.perf_counter()
    for text in kept[: args.verify_merkle]:
        AnchorReceipt.from_json(json.loads(text))
    parse_only = time.perf_counter() - start
    print(
        f"(a) from_json + verify_inclusion:       {rate(len(docs), merkle)}  "
        f"({len(docs):,} receipts; json.loads+from_json alone {rate(len(docs), parse_only)})"
    )

    sample = [AnchorReceipt.from_json(json.loads(text)) for text in kept[: args.verify_chain]]
    start = time.perf_counter()
    for receipt in sample:
        result = verify_receipt(receipt, chain)
        assert result.valid, result.errors
    in_process = time.perf_counter() - start
    print(
        f"(b) verify_receipt, embedded in-process: {rate(len(sample), in_process)}  "
        f"({len(sample):,} receipts)"
    )

    if args.verify_http > 0:
        over_http = sample[: args.verify_http]
        with http_chain(chain) as remote:
            start = time.perf_counter()
            for receipt in over_http:
                result = verify_receipt(receipt, remote)
                assert result.valid, result.errors
            http = time.perf_counter() - start
        print(
            f"(c) verify_receipt, JSON-RPC over HTTP:  {rate(len(over_http), http)}  "
            f"({len(over_http):,} receipts, one client thread, uvicorn on 127.0.0.1)"
        )

    chain.close()
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
