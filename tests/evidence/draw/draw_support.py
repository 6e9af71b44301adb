"""Shared helpers of the draw tests: configurations, synthetic entries, a literal reference.

:func:`reference_draw` is §4 of ``docs/draw-algorithm.md`` written out as plainly as
possible (every key computed exactly, every ranking fully sorted), to check the fast
selection against on random draws.
"""

from __future__ import annotations

import hashlib
import heapq
import io
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence.draw.candidates import encode_entry
from evidence.draw.config import BeaconConfig, DrawConfig, parse_config
from evidence.draw.entrants import upload_entrants
from evidence.draw.errors import InvalidBeacon
from evidence.draw.export import Reveal, write_export
from evidence.draw.keys import weighted_key
from evidence.draw.result import ResultEntry, result_root, winner_count
from evidence.draw.seed import category_seeds, draw_seed, notary_commitment, public_hash
from evidence.draw.selection import draw
from evidence.draw.verify import ChainRecord

SECRET = bytes(range(32))
TEST_PUBLIC_KEY = "a0" * 96


def config_document(**changes: Any) -> dict[str, Any]:
    """A valid configuration object with ``changes`` applied to its members."""
    document: dict[str, Any] = {
        "algorithm": "notary-hub-draw/1",
        "drawId": "draw-test-1",
        "title": "Test draw",
        "rules": "One entry per person.",
        "tiers": [{"name": "first", "count": 1}, {"name": "second", "count": 2}],
        "waitingList": 2,
        "weighted": False,
        "categories": [],
        "cascade": {"rule": "none"},
        "entryDeadline": "2026-12-31T12:00:00Z",
        "beacon": {
            "network": "local-test",
            "chainHash": "11" * 32,
            "publicKey": TEST_PUBLIC_KEY,
            "genesis": 1_700_000_000,
            "period": 3,
            "round": 1000,
            "fallback": {"rule": "wait"},
        },
        "notaryCommitment": notary_commitment(SECRET).hex(),
        "publicValues": [],
    }
    document.update(changes)
    return document


def make_config(**changes: Any) -> DrawConfig:
    return parse_config(config_document(**changes))


def random_entries(
    rng: random.Random, count: int, *, categories: int = 1, max_weight: int = 1
) -> bytes:
    """``count`` entries with random leaves, weights in ``1..max_weight``, categories."""
    return b"".join(
        encode_entry(rng.randbytes(32), rng.randint(1, max_weight), rng.randrange(categories))
        for _ in range(count)
    )


def reference_draw(config: DrawConfig, entries: bytes, seed: bytes) -> list[ResultEntry]:
    """§4.1-§4.4 and §5, literally."""
    seeds = category_seeds(seed, config.category_count)
    ranked: list[list[tuple[int, bytes, int]]] = [[] for _ in seeds]
    for i in range(len(entries) // 38):
        entry = entries[38 * i : 38 * i + 38]
        leaf, w, c = entry[:32], int.from_bytes(entry[32:36]), int.from_bytes(entry[36:])
        score = hashlib.sha256(seeds[c] + leaf).digest()
        if config.weighted:
            key = weighted_key(int.from_bytes(score[:8]), w)
        else:
            key = int.from_bytes(score)
        ranked[c].append((key, leaf, i))
    for ranking in ranked:
        ranking.sort()
    remaining = [list(r) for r in ranked]
    winners = []
    for c, quota in enumerate(config.quotas):
        winners += remaining[c][:quota]
        del remaining[c][:quota]
    shortfall = config.prizes - len(winners)
    if config.cascade.rule == "pooled":
        pool = sorted(item for r in remaining for item in r)[:shortfall]
        winners += pool
        remaining = [[x for x in r if x not in pool] for r in remaining]
    elif config.cascade.rule == "ordered":
        for c in config.cascade.order:
            more = remaining[c][: config.prizes - len(winners)]
            winners += more
            del remaining[c][: len(more)]
    winners.sort()
    tiers = [t for t, tier in enumerate(config.tiers, start=1) for _ in range(tier.count)]
    waiting = list(heapq.merge(*remaining))[: config.waiting_list]
    result = [ResultEntry(r, i, leaf, tiers[r - 1]) for r, (_, leaf, i) in enumerate(winners, 1)]
    base = len(winners)
    result += [ResultEntry(base + k, i, leaf, 0) for k, (_, leaf, i) in enumerate(waiting, 1)]
    return result


def fake_beacon(round_: int, tag: bytes = b"beacon") -> dict[str, Any]:
    """A beacon JSON shaped as relays serve it; its "signature" is random bytes, not BLS."""
    signature = hashlib.sha256(tag + round_.to_bytes(8, "big")).digest() + bytes(16)
    return {
        "round": round_,
        "randomness": hashlib.sha256(signature).hexdigest(),
        "signature": signature.hex(),
    }


def fake_verify_beacon(beacon_config: BeaconConfig, beacon: Mapping[str, Any]) -> bytes:
    """Stands in for the BLS check (another module's): randomness must be H(signature)."""
    signature = bytes.fromhex(beacon["signature"])
    randomness = bytes.fromhex(beacon["randomness"])
    if hashlib.sha256(signature).digest() != randomness:
        raise InvalidBeacon("randomness is not H(signature)")
    return randomness


@dataclass
class BuiltDraw:
    directory: Path
    config: DrawConfig
    entries: bytes
    mapping: bytes
    result: list[ResultEntry]
    chain: ChainRecord
    seed: bytes


def build_draw(
    directory: Path,
    csv_text: str,
    *,
    public_values: tuple[str, ...] = (),
    salt_seed: int = 7,
    **changes: Any,
) -> BuiltDraw:
    """Upload ``csv_text``, draw with :func:`fake_beacon`, and write the export."""
    config = make_config(**changes)
    entries_out, mapping_out = io.BytesIO(), io.BytesIO()
    summary = upload_entrants(
        io.BytesIO(csv_text.encode()),
        config,
        "csv",
        entries_out=entries_out,
        mapping_out=mapping_out,
        salt_source=random.Random(salt_seed).randbytes,
    )
    beacon = fake_beacon(config.beacon.round)
    seed = draw_seed(
        config_hash=config.config_hash,
        candidate_root=summary.candidate_root,
        count=summary.count,
        beacon_randomness=bytes.fromhex(beacon["randomness"]),
        secret=SECRET,
        public_values_hash=public_hash(public_values),
    )
    entries = entries_out.getvalue()
    result = draw(config, entries, seed)
    chain = ChainRecord(
        config_hash=config.config_hash,
        candidate_root=summary.candidate_root,
        count=summary.count,
        beacon_round=config.beacon.round,
        notary_commitment=config.notary_commitment,
        commit_time=config.beacon.round_time(config.beacon.round) - 120,
        seed=seed,
        round_used=config.beacon.round,
        result_root=result_root(result),
        winners=winner_count(result),
    )
    write_export(
        directory,
        config=config,
        entries=entries,
        beacon=beacon,
        reveal=Reveal(SECRET, public_values),
        result=result,
        chain={
            "chainId": 31337,
            "contract": "0x" + "00" * 20,
            "drawKey": "0x" + "11" * 32,
            "commitTx": "0x" + "22" * 32,
            "resultTx": "0x" + "33" * 32,
            "timestampToken": "",
        },
    )
    return BuiltDraw(directory, config, entries, mapping_out.getvalue(), result, chain, seed)


def csv_list(count: int, *, weights: bool = False, categories: tuple[str, ...] = ()) -> str:
    """A CSV candidate list of ``count`` rows ``person-0``…, cycling weights and categories."""
    header = ["id"] + ["weight"] * weights + ["category"] * bool(categories)
    rows = [",".join(header)]
    for i in range(count):
        row = [f"person-{i}"] + [str(i % 5 + 1)] * weights
        rows.append(",".join(row + ([categories[i % len(categories)]] if categories else [])))
    return "\n".join(rows) + "\n"
