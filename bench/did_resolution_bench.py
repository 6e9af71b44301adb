"""did:ethr resolution throughput and latency, by path: a script, not a test (issue 3 §9).

Run from the repository root::

    .venv/bin/python bench/did_resolution_bench.py [--seconds S] [--database URL] [--no-npm]

On a fresh embedded chain, three DIDs whose identities made 1, 10 and 100
registry changes (attributes and delegates, alternating) are resolved at their
latest version, one resolution after the other, for ``--seconds`` per DID and path:

- **index**: ``EthrResolver`` over ``IndexSource`` (the ``RegistryIndexer`` has
  caught up; one indexed query per resolution, the head from the in-process
  indexer), on SQLite in a temporary directory or on ``--database`` (an empty
  database of its own, migrated to head and left for the caller to drop);
- **index, cached**: the hub's path (issue 16): the same over the per-process
  ``CachingResolver``, which reads the indexer's cursor row on every resolution
  (the indexer may be another process) and serves the result kept for that head;
  **index, cached 2ms**: the same with the cursor as read up to 2 ms ago (the hub's
  default ``DID_RESOLUTION_HEAD_MAX_AGE_MS``);
- **walk (in process)**: ``ChainWalkerSource`` on the embedded chain object;
- **walk (/rpc)**: the same walk through ``JsonRpcChain`` over the chain's JSON-RPC
  served at ``/rpc`` as the hub serves it (uvicorn in a thread);
- **npm (/rpc)**: the ``ethr-did-resolver`` npm package (``node_modules``, as pinned
  by ``package-lock.json``) against that same ``/rpc``, timed inside node.

Figures: resolutions per second of one sequential caller, and p50 / p99 latency.
"index…, Nt" adds the throughput of N concurrent callers. Before timing,
the index and both walks must give identical results for every DID.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eth_account import Account  # noqa: E402
from eth_account.signers.local import LocalAccount  # noqa: E402

from chain_adapter.artifacts import load_artifact  # noqa: E402
from chain_adapter.contract import BoundContract  # noqa: E402
from chain_adapter.deploy import DID_REGISTRY  # noqa: E402
from chain_adapter.embedded import EmbeddedChain  # noqa: E402
from chain_adapter.jsonrpc_chain import JsonRpcChain  # noqa: E402
from chain_adapter.transactor import Transactor  # noqa: E402
from did_registry.caching_resolver import CachingResolver  # noqa: E402
from did_registry.ethr.chain_walker import ChainWalkerSource  # noqa: E402
from did_registry.ethr.index_source import IndexSource  # noqa: E402
from did_registry.ethr.indexer import RegistryIndexer  # noqa: E402
from did_registry.ethr.resolver import EthrResolver  # noqa: E402
from did_registry.resolution import DidResolver  # noqa: E402
from notary_hub import migrate  # noqa: E402
from notary_hub.db import create_db_engine, session_factory  # noqa: E402
from testkit.npm import NODE, npm_available  # noqa: E402
from testkit.serving import serve_rpc  # noqa: E402

CHAIN_ID = 1337
CHANGES = (1, 10, 100)
DAY = 86_400
THREADS = 4

# Sequential resolutions of each DID for `seconds`, timed with hrtime around each call.
NPM_TIMER = r"""
import { readFileSync } from 'node:fs'
import { Resolver } from 'did-resolver'
import { getResolver } from 'ethr-did-resolver'
import { JsonRpcProvider } from 'ethers'

const input = JSON.parse(readFileSync(0, 'utf8'))
const chainId = BigInt(input.chainId)
const provider = new JsonRpcProvider(input.rpcUrl, chainId, { staticNetwork: true })
const resolver = new Resolver(getResolver({
  networks: [{ name: `0x${chainId.toString(16)}`, chainId, provider, registry: input.registry }],
}))
const out = {}
for (const did of input.dids) {
  for (let i = 0; i < 3; i++) await resolver.resolve(did)  // warm up
  const samples = []
  const end = process.hrtime.bigint() + BigInt(Math.round(input.seconds * 1e9))
  while (samples.length < input.minRuns || process.hrtime.bigint() < end) {
    const start = process.hrtime.bigint()
    const result = await resolver.resolve(did)
    samples.push(Number(process.hrtime.bigint() - start))
    if (result.didResolutionMetadata.error) throw new Error(JSON.stringify(result))
  }
  out[did] = samples
}
provider.destroy()
process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0))
"""


def b32(text: str) -> bytes:
    return text.encode().ljust(32, b"\x00")


def make_changes(registry: BoundContract, transactor: Transactor, who: str, count: int) -> None:
    """``count`` registry changes of ``who``: services, keys and delegates, all long-lived."""
    for i in range(count):
        if i % 3 == 0:
            registry.transact(
                transactor, "setAttribute", who, b32("did/svc/HubService"),
                f"https://hub.example/{i}".encode(), DAY * 365,
            )  # fmt: skip
        elif i % 3 == 1:
            key = bytes([2]) + i.to_bytes(32, "big")
            registry.transact(
                transactor, "setAttribute", who, b32("did/pub/Secp256k1/veriKey/hex"), key,
                DAY * 365,
            )  # fmt: skip
        else:
            delegate = Account.create().address
            registry.transact(transactor, "addDelegate", who, b32("sigAuth"), delegate, DAY * 365)


def timed(call: Callable[[], object], seconds: float, min_runs: int = 20) -> list[float]:
    for _ in range(3):
        call()  # warm caches (statements, connections, timestamps) before timing
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while len(samples) < min_runs or time.perf_counter() < end:
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def threaded_rate(call: Callable[[], object], seconds: float, threads: int) -> float:
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(slot: int) -> None:
        while time.perf_counter() < stop:
            call()
            counts[slot] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def summary(samples_ms: list[float]) -> tuple[int, float, float, float]:
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return len(ordered), len(ordered) / (sum(ordered) / 1e3), statistics.median(ordered), p99


def row(path: str, changes: int, samples_ms: list[float]) -> str:
    runs, rate, p50, p99 = summary(samples_ms)
    return f"{path:<22}{changes:>8}{runs:>9}{rate:>12,.0f} /s{p50:>11.3f}{p99:>11.3f}"


def npm_samples(url: str, registry: str, dids: list[str], seconds: float) -> dict[str, list[float]]:
    request = {"rpcUrl": url, "chainId": CHAIN_ID, "registry": registry, "dids": dids}
    request.update(seconds=seconds, minRuns=20)
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", NPM_TIMER],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO,  # node_modules is found from here
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the npm resolver failed:\n{done.stderr}")
    answer: dict[str, list[int]] = json.loads(done.stdout)
    return {did: [ns / 1e6 for ns in samples] for did, samples in answer.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per DID and path")
    parser.add_argument("--database", help="index database URL (default: SQLite in a temp dir)")
    parser.add_argument("--no-npm", action="store_true", help="skip the npm resolver")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="did-resolution-bench-"))
    funder: LocalAccount = Account.create()
    identities: list[LocalAccount] = [Account.create() for _ in CHANGES]
    chain = EmbeddedChain.open(
        workdir / "chain",
        chain_id=CHAIN_ID,
        prefund={a.address: 10**24 for a in [funder, *identities]},
    )
    url = args.database or f"sqlite:///{workdir / 'hub.sqlite3'}"
    engine = create_db_engine(url)
    try:
        print(
            f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}  python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}, index on {engine.dialect.name}"
        )
        setup = time.perf_counter()
        artifact = load_artifact(DID_REGISTRY)
        receipt = Transactor(chain, funder, poll_interval=0.005).deploy(artifact.bytecode)
        assert receipt.contract_address is not None
        registry = BoundContract(chain, artifact.abi, receipt.contract_address)
        dids = {}
        for count, who in zip(CHANGES, identities, strict=True):
            make_changes(registry, Transactor(chain, who, poll_interval=0.005), who.address, count)
            dids[count] = f"did:ethr:{hex(CHAIN_ID)}:{who.address}"
        migrate.upgrade(engine)
        sessions = session_factory(engine)
        indexer = RegistryIndexer(
            chain, registry.address, sessions, confirmations=0, start_block=receipt.block_number
        )
        indexed = indexer.catch_up()
        print(
            f"setup: {sum(CHANGES)} registry changes in {chain.block_number()} blocks, "
            f"{indexed} events indexed, {time.perf_counter() - setup:.1f} s\n"
        )
        index = IndexSource(sessions, CHAIN_ID, registry.address, indexer.head, chain=chain)
        shared = IndexSource(sessions, CHAIN_ID, registry.address, chain=chain)
        aged = IndexSource(sessions, CHAIN_ID, registry.address, chain=chain, head_max_age=0.002)
        paths: dict[str, DidResolver] = {
            "index": EthrResolver({CHAIN_ID: index}),
            "index, cached": CachingResolver(EthrResolver({CHAIN_ID: shared}), shared.pinned_head),
            "index, cached 2ms": CachingResolver(EthrResolver({CHAIN_ID: aged}), aged.pinned_head),
            "walk (in process)": EthrResolver(
                {CHAIN_ID: ChainWalkerSource(chain, registry.address)}
            ),
        }
        with serve_rpc(chain) as rpc_url:
            remote = JsonRpcChain.connect(rpc_url, expected_chain_id=CHAIN_ID)
            paths["walk (/rpc)"] = EthrResolver(
                {CHAIN_ID: ChainWalkerSource(remote, registry.address)}
            )
            for count, did in dids.items():
                results = {name: r.resolve(did).to_json() for name, r in paths.items()}
                if len({json.dumps(r, sort_keys=True) for r in results.values()}) != 1:
                    raise SystemExit(f"paths disagree for the DID with {count} changes")

            header = ("path", "changes", "runs", "resolutions", "p50 ms", "p99 ms")
            print("{:<22}{:>8}{:>9}{:>15}{:>11}{:>11}".format(*header))
            for name, resolver in paths.items():
                for count, did in dids.items():
                    samples = timed(functools.partial(resolver.resolve, did), args.seconds)
                    print(row(name, count, samples))
            for name in ("index", "index, cached", "index, cached 2ms"):
                for count, did in dids.items():
                    call = functools.partial(paths[name].resolve, did)
                    rate = threaded_rate(call, args.seconds, THREADS)
                    print(f"{f'{name}, {THREADS}t':<22}{count:>8}{'':>9}{rate:>12,.0f} /s")
            for count, did in dids.items():
                history = functools.partial(index.history, did.rsplit(":", 1)[1])
                samples = timed(history, args.seconds)
                print(row("index: history() only", count, samples))
            if not args.no_npm and not npm_available():
                print("npm (/rpc): skipped, node_modules missing (run `npm ci`)")
            elif not args.no_npm:
                measured = npm_samples(rpc_url, registry.address, list(dids.values()), args.seconds)
                for count, did in dids.items():
                    print(row("npm (/rpc)", count, measured[did]))
            remote.close()
        for source in (index, shared, aged):
            source.close()
    finally:
        chain.close()
        engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
