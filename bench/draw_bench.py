"""The verifiable public draw at scale, side by side with a simple baseline: a script.

Run from the repository root::

    .venv/bin/python bench/draw_bench.py [--entrants 10000000] [--weighted] [--processes 2]

Writes a CSV candidate list of ``--entrants`` rows (``person-00000001``...) in a
temporary directory, then runs each side in its own process (so each peak RSS is its
own) and prints the figures next to each other and the targets of issue 14:

- **notary-hub-draw/1** (``evidence.draw``): upload (streamed CSV parse, salts, leaves,
  duplicate check, ``entries.bin``, the organiser's mapping) plus commit (candidate root,
  the §2 commit checks); the draw (§4: 1,000 prizes in three tiers and a waiting list of
  1,000); full verification of the export (``verify_export``: every step, the beacon's
  BLS check stood in for by ``randomness = H(signature)``, which the beacon module does
  in about a millisecond); one entrant's check (receipt: leaf, RFC 9162 proof, lookup in
  the result), averaged over 100 receipts; peak RSS (``ru_maxrss``).
- **baseline**: the list read into memory (same CSV parser, duplicates by a ``set``), its
  SHA-256 as the commitment; a partial Fisher-Yates shuffle driven by a SHA-256 counter
  DRBG for the same number of places; verification re-reads, re-hashes and re-shuffles;
  an entrant's check must hash the whole published list and search it (no proofs).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_info

TIERS: list[dict[str, Any]] = [{"name": "first", "count": 10}, {"name": "second", "count": 90}]
TIERS += [{"name": "third", "count": 900}]
PRIZES = 1000
WAITING = 1000
SECRET = hashlib.sha256(b"bench secret").digest()
SIGNATURE = hashlib.sha256(b"bench signature").digest() + bytes(16)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_list(
    path: Path, count: int, weighted: bool, category: Callable[[int], str] | None = None
) -> None:
    """``count`` rows ``person-00000001``...; weight ``i % 10 + 1``; ``category(i)`` if given."""
    header = ["id"] + ["weight"] * weighted + ["category"] * (category is not None)

    def row(i: int) -> str:
        cells = [f"person-{i:08d}"] + [str(i % 10 + 1)] * weighted
        return ",".join(cells + ([category(i)] if category else [])) + "\n"

    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(header) + "\n")
        for start in range(0, count, 100_000):
            out.write("".join(row(i) for i in range(start, min(count, start + 100_000))))


def _config(weighted: bool) -> Any:
    from evidence.draw.config import parse_config
    from evidence.draw.seed import notary_commitment

    return parse_config(
        {
            "algorithm": "notary-hub-draw/1",
            "drawId": "bench-draw",
            "title": "Benchmark",
            "rules": "",
            "tiers": TIERS,
            "waitingList": WAITING,
            "weighted": weighted,
            "categories": [],
            "cascade": {"rule": "none"},
            "entryDeadline": "2026-12-31T00:00:00Z",
            "beacon": {
                "network": "local-test",
                "chainHash": "11" * 32,
                "publicKey": "a0" * 96,
                "genesis": 1_700_000_000,
                "period": 3,
                "round": 1000,
                "fallback": {"rule": "wait"},
            },
            "notaryCommitment": notary_commitment(SECRET).hex(),
            "publicValues": [],
        }
    )


def _beacon_randomness(_config: object, beacon: Mapping[str, Any]) -> bytes:
    randomness = hashlib.sha256(bytes.fromhex(beacon["signature"])).digest()
    assert randomness.hex() == beacon["randomness"]
    return randomness


class Clock:
    """Each step's wall time and CPU time (this process and its children, which is what
    a loaded machine does not inflate), in ``figures``."""

    def __init__(self) -> None:
        self.figures: dict[str, float] = {}

    @staticmethod
    def _cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    @contextmanager
    def step(self, name: str, repeat: int = 1) -> Iterator[None]:
        wall, cpu = time.perf_counter(), self._cpu()
        yield
        self.figures[name] = (time.perf_counter() - wall) / repeat
        self.figures[name + "_cpu"] = (self._cpu() - cpu) / repeat


def _upload(clock: Clock, work: Path, listing: Path, config: Any, processes: int) -> Any:
    from evidence.draw.candidates import open_entries
    from evidence.draw.entrants import upload_entrants
    from evidence.draw.selection import check_committable, entry_stats

    with (
        clock.step("upload"),
        listing.open("rb") as stream,
        (work / "entries.bin").open("wb") as entries,
        (work / "mapping.csv").open("wb") as mapping,
    ):
        summary = upload_entrants(
            stream, config, "csv", entries_out=entries, mapping_out=mapping, processes=processes
        )
        entries.close()
        check_committable(config, entry_stats(config, open_entries(work / "entries.bin")))
    clock.figures["rss_upload"] = peak_rss_mib()
    return summary


def _check_receipts(clock: Clock, work: Path, config: Any, summary: Any, result: Any) -> None:
    from evidence.draw.candidates import CandidateTree, open_entries
    from evidence.draw.entrants import read_mapping
    from evidence.draw.receipt import build_receipts, check_receipt, receipt_outcome
    from evidence.draw.result import by_index

    wanted = {e.index for e in result[:50]} | set(random.Random(1).sample(range(summary.count), 50))
    tree = CandidateTree(open_entries(work / "entries.bin"), summary.chunk_roots)
    with (work / "mapping.csv").open("rb") as stream:
        rows = [row for row in read_mapping(stream) if row[0] in wanted]
    receipts = list(build_receipts(config.draw_id, rows, tree))
    results = by_index(result)
    with clock.step("check", len(receipts)):
        for receipt in receipts:
            check_receipt(
                receipt,
                draw_id=config.draw_id,
                candidate_root=summary.candidate_root,
                count=summary.count,
            )
            receipt_outcome(receipt, results)


def run_ours(work: Path, listing: Path, weighted: bool, processes: int) -> dict[str, float]:
    from evidence.draw.candidates import open_entries
    from evidence.draw.export import Reveal, write_export
    from evidence.draw.result import result_root, winner_count
    from evidence.draw.seed import draw_seed, public_hash
    from evidence.draw.selection import draw
    from evidence.draw.verify import ChainRecord, verify_export

    clock, config = Clock(), _config(weighted)
    summary = _upload(clock, work, listing, config, processes)
    beacon = {"round": 1000, "randomness": hashlib.sha256(SIGNATURE).hexdigest()}
    beacon["signature"] = SIGNATURE.hex()
    seed = draw_seed(
        config_hash=config.config_hash,
        candidate_root=summary.candidate_root,
        count=summary.count,
        beacon_randomness=bytes.fromhex(str(beacon["randomness"])),
        secret=SECRET,
        public_values_hash=public_hash([]),
    )
    with clock.step("draw"):
        result = draw(config, open_entries(work / "entries.bin"), seed, processes=processes)
    export = work / "export"
    write_export(
        export,
        config=config,
        entries=work / "entries.bin",
        beacon=beacon,
        reveal=Reveal(SECRET, ()),
        result=result,
        chain={},
    )
    chain = ChainRecord(
        config.config_hash,
        summary.candidate_root,
        summary.count,
        1000,
        config.notary_commitment,
        config.beacon.round_time(1000) - 120,
        seed,
        1000,
        result_root(result),
        winner_count(result),
    )
    with clock.step("verify"):
        verify_export(
            export, chain_record=chain, verify_beacon=_beacon_randomness, processes=processes
        )
    _check_receipts(clock, work, config, summary, result)
    return {**clock.figures, "rss": peak_rss_mib(), "count": summary.count}


class CounterDrbg:
    """SHA-256 in counter mode: block k is ``H(seed ‖ u64(k))``; uniform integers by rejection."""

    def __init__(self, seed: bytes) -> None:
        self._seed, self._counter, self._pool = seed, 0, b""

    def _u64(self) -> int:
        if not self._pool:
            self._pool = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        value, self._pool = int.from_bytes(self._pool[:8], "big"), self._pool[8:]
        return value

    def below(self, bound: int) -> int:
        limit = 2**64 - 2**64 % bound
        while (value := self._u64()) >= limit:
            pass
        return value % bound


def fisher_yates(count: int, picks: int, seed: bytes) -> list[int]:
    """The first ``picks`` positions of a Fisher-Yates shuffle of ``range(count)``."""
    order, drbg = array("I", range(count)), CounterDrbg(seed)
    for i in range(min(picks, count)):
        j = i + drbg.below(count - i)
        order[i], order[j] = order[j], order[i]
    return order[:picks].tolist()


def _read_list(listing: Path) -> tuple[list[str], bytes]:
    digest = hashlib.sha256()
    with listing.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    with listing.open(encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        next(reader)
        ids = [row[0] for row in reader]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate identifiers")
    return ids, digest.digest()


def run_baseline(listing: Path) -> dict[str, float]:
    clock, picks = Clock(), PRIZES + WAITING
    with clock.step("upload"):
        ids, commitment = _read_list(listing)
    clock.figures["rss_upload"] = peak_rss_mib()
    seed = hashlib.sha256(commitment + hashlib.sha256(SIGNATURE).digest() + SECRET).digest()
    with clock.step("draw"):
        winners = fisher_yates(len(ids), picks, seed)
    del ids
    with clock.step("verify"):
        again, digest = _read_list(listing)
        assert digest == commitment and fisher_yates(len(again), picks, seed) == winners
    me = again[winners[7]]
    with clock.step("check"):
        digest = hashlib.sha256(listing.read_bytes()).digest()  # the entrant fetches the list
        rank = winners.index(again.index(me)) + 1
    assert digest == commitment and rank == 8
    return {**clock.figures, "rss": peak_rss_mib(), "count": len(again)}


def _side(args: argparse.Namespace, part: str, listing: Path, work: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--part", part, "--list", str(listing)]
    command += ["--work", str(work), "--processes", str(args.processes)]
    command += ["--weighted"] * args.weighted
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{part} failed:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return figures


def _report(args: argparse.Namespace, ours: dict[str, float], base: dict[str, float]) -> None:
    print(machine_info())
    kind = "weighted" if args.weighted else "unweighted"
    print(f"{int(ours['count']):,} entrants, {kind}, 1,000 prizes in 3 tiers + 1,000 waiting;")
    print(f"our side in {args.processes} process(es); wall time, then CPU time (all processes)")
    rows = [
        ("upload + commit (root)", "upload", 1, "s", "< 60 s"),
        ("draw", "draw", 1, "s", "< 10 s"),
        ("full verification", "verify", 1, "s", "< 30 s"),
        ("one entrant's check", "check", 1000, "ms", "< 10 ms"),
    ]
    print(f"{'':24}{'notary-hub-draw/1':>24}{'baseline (Fisher-Yates)':>28}   target")
    for label, key, scale, unit, target in rows:
        mine = f"{ours[key] * scale:.3f} ({ours[key + '_cpu'] * scale:.3f}) {unit}"
        theirs = f"{base[key] * scale:.3f} ({base[key + '_cpu'] * scale:.3f}) {unit}"
        print(f"{label:24}{mine:>24}{theirs:>28}   {target}")
    for label, key, target in [
        ("peak RSS after upload", "rss_upload", ""),
        ("peak RSS", "rss", "< 2048 MiB"),
    ]:
        print(f"{label:24}{ours[key]:>20.1f} MiB{base[key]:>24.1f} MiB   {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entrants", type=int, default=10_000_000)
    parser.add_argument("--weighted", action="store_true")
    parser.add_argument("--processes", type=int, default=2, help="for our side (2 cores)")
    parser.add_argument("--part", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--list", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "ours":
        print(json.dumps(run_ours(args.work, args.list, args.weighted, args.processes)))
        return
    if args.part == "baseline":
        print(json.dumps(run_baseline(args.list)))
        return
    with tempfile.TemporaryDirectory(prefix="draw-bench-") as tmp:
        work = Path(tmp)
        listing = work / "list.csv"
        make_list(listing, args.entrants, args.weighted)
        ours = _side(args, "ours", listing, work)
        base = _side(args, "baseline", listing, work)
    _report(args, ours, base)


if __name__ == "__main__":
    main()
