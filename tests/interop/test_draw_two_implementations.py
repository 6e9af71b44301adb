"""The draw's two implementations on the same exports (issue 14 items 6, 7 and 9).

The hub's ``evidence/draw/`` (Python) draws and writes the export; ``verifier-js/`` (written
from ``docs/draw-algorithm.md`` alone) re-derives it with ``verify-draw`` and must reach the
same seed, result root and winners (it compares ``result.jsonl`` line by line with its own
selection). Random small draws cover weights, categories and each cascade rule, with
quotas some categories cannot fill. Tampered exports (one entry, the reveal, a public
value, a swapped winner) must fail at the same named step in both verifiers, and the
hub's entry receipts must check out with ``check-receipt``.

The beacon rounds are signed by verifier-js's local test beacon (real BLS, its own key);
the Python side's BLS check lives in another module, so here it is given a stand-in that
checks ``randomness = H(signature)`` only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testkit.npm import NODE, REPO, npm_package

draw_export = pytest.importorskip("evidence.draw.export")

from evidence.draw.candidates import CandidateTree, candidate_root, encode_entry, entrant_leaf  # noqa: E402
from evidence.draw.config import BeaconConfig, parse_config  # noqa: E402
from evidence.draw.errors import DrawVerificationFailed  # noqa: E402
from evidence.draw.receipt import build_receipts  # noqa: E402
from evidence.draw.result import ResultEntry, result_root, winner_count  # noqa: E402
from evidence.draw.seed import draw_seed, notary_commitment, public_hash  # noqa: E402
from evidence.draw.selection import draw  # noqa: E402
from evidence.draw.verify import ChainRecord, chain_record_json, verify_export  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (npm_package("@noble/curves") and npm_package("canonicalize")),
    reason="node_modules missing: run `npm ci`",
)

VERIFY = REPO / "verifier-js" / "bin" / "verify-draw.mjs"
CHECK = REPO / "verifier-js" / "bin" / "check-receipt.mjs"
BEACON = REPO / "tests" / "interop" / "draw_beacon.mjs"
ROUND = 1000
GENESIS, PERIOD = 1_700_000_000, 3


@functools.cache
def signed_rounds(*rounds: int) -> tuple[str, dict[int, dict[str, Any]]]:
    """The test beacon's public key and its signed rounds, from verifier-js (once)."""
    run = subprocess.run(
        [NODE, str(BEACON), *map(str, rounds)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(run.stdout)
    return answer["publicKey"], {int(r): b for r, b in answer["rounds"].items()}


def local_beacon() -> tuple[str, dict[int, dict[str, Any]]]:
    return signed_rounds(*range(ROUND, ROUND + 4))


def stand_in_beacon_check(_: BeaconConfig, beacon: Mapping[str, Any]) -> bytes:
    randomness = bytes.fromhex(beacon["randomness"])
    assert hashlib.sha256(bytes.fromhex(beacon["signature"])).digest() == randomness
    return randomness


@dataclass
class Exported:
    directory: Path
    record: dict[str, Any]
    chain: ChainRecord
    result: list[ResultEntry]
    receipts: list[dict[str, Any]]


def random_document(rng: random.Random, secret: bytes, draw_id: str) -> dict[str, Any]:
    counts = [rng.randint(1, 3) for _ in range(rng.randint(1, 3))]
    tiers = [{"name": f"tier {t + 1}", "count": n} for t, n in enumerate(counts)]
    prizes = sum(counts)
    categories: list[dict[str, Any]] = []
    cascade: dict[str, Any] = {"rule": "none"}
    n_categories = rng.choice([0, 0, 2, 3, 4])
    if n_categories:
        quotas = [0] * n_categories
        for _ in range(prizes):
            # Quotas lean towards the thin categories (all but 0).
            quotas[rng.randrange(1, n_categories) if rng.random() < 0.7 else 0] += 1
        categories = [{"name": f"group {c}", "quota": q} for c, q in enumerate(quotas)]
        rule = rng.choice(["none", "pooled", "ordered"])
        cascade = {"rule": rule}
        if rule == "ordered":
            names = [c["name"] for c in categories]
            rng.shuffle(names)
            cascade["order"] = names[: rng.randint(1, n_categories)]
    fallback: dict[str, Any] = rng.choice(
        [{"rule": "wait"}, {"rule": "next-round", "maxRounds": 3}]
    )
    public_values = [{"name": "index", "source": "a published index"}] * rng.randint(0, 1)
    return {
        "algorithm": "notary-hub-draw/1",
        "drawId": draw_id,
        "title": "Two implementations",
        "rules": "Lowest keys win; 抽签 by the spec.",
        "tiers": tiers,
        "waitingList": rng.randint(0, 5),
        "weighted": rng.random() < 0.5,
        "categories": categories,
        "cascade": cascade,
        "entryDeadline": "2026-12-01T12:00:00Z",
        "beacon": {
            "network": "local-test",
            "chainHash": "22" * 32,
            "publicKey": local_beacon()[0],
            "genesis": GENESIS,
            "period": PERIOD,
            "round": ROUND,
            "fallback": fallback,
        },
        "notaryCommitment": notary_commitment(secret).hex(),
        "publicValues": public_values,
    }


def export_draw(directory: Path, seed: int, changes: Mapping[str, Any] | None = None) -> Exported:
    """A random small draw (its document with ``changes`` applied), drawn and exported by
    the Python side."""
    rng = random.Random(seed)
    secret = rng.randbytes(32)
    draw_id = f"interop-{seed}"
    config = parse_config({**random_document(rng, secret, draw_id), **(changes or {})})
    n_categories = max(1, len(config.categories))
    count = max(config.prizes, 4) + rng.randint(0, 40)
    mapping, blobs = [], []
    for i in range(count):
        entrant_id, salt = f"person-{i}", rng.randbytes(16)
        # Every category gets an entrant; after that nearly everyone is in category 0
        # and the others stay thin, so that quotas fall short and the cascade has work.
        crowded = i >= n_categories and rng.random() < 0.92
        category = 0 if crowded else (i if i < n_categories else rng.randrange(n_categories))
        weight = rng.randint(1, 20) if config.weighted else 1
        blobs.append(encode_entry(entrant_leaf(draw_id, entrant_id, salt), weight, category))
        mapping.append((i, entrant_id, salt))
    entries = b"".join(blobs)
    root = candidate_root(entries)
    used = ROUND + (rng.randint(0, 3) if config.beacon.fallback.rule == "next-round" else 0)
    beacon = local_beacon()[1][used]
    values = tuple(f"{rng.randint(0, 99999)}" for _ in config.public_values)
    the_seed = draw_seed(
        config_hash=config.config_hash,
        candidate_root=root,
        count=count,
        beacon_randomness=bytes.fromhex(beacon["randomness"]),
        secret=secret,
        public_values_hash=public_hash(values),
    )
    result = draw(config, entries, the_seed)
    commit_time = config.beacon.round_time(ROUND) - 90
    chain = ChainRecord(
        config_hash=config.config_hash,
        candidate_root=root,
        count=count,
        beacon_round=ROUND,
        notary_commitment=config.notary_commitment,
        commit_time=commit_time,
        seed=the_seed,
        round_used=used,
        result_root=result_root(result),
        winners=winner_count(result),
    )
    draw_export.write_export(
        directory,
        config=config,
        entries=entries,
        beacon=beacon,
        reveal=draw_export.Reveal(secret, values),
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
    record = chain_record_json(chain)  # §6.1, as the hub's CLI saves it
    receipts = [r.to_json() for r in build_receipts(draw_id, mapping, CandidateTree(entries))]
    return Exported(directory, record, chain, result, receipts)


def js_verify(exported: Exported) -> tuple[int, dict[str, Any]]:
    record = exported.directory.parent / f"{exported.directory.name}-record.json"
    record.write_text(json.dumps(exported.record))
    run = subprocess.run(
        [NODE, str(VERIFY), str(exported.directory), "--chain-record", str(record)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode in (0, 1), run.stderr
    answer: dict[str, Any] = json.loads(run.stdout)
    return run.returncode, answer


def python_step(exported: Exported) -> str | None:
    try:
        verify_export(
            exported.directory,
            chain_record=exported.chain,
            verify_beacon=stand_in_beacon_check,
        )
    except DrawVerificationFailed as failed:
        return failed.step
    return None


@pytest.mark.parametrize("seed", range(20))
def test_both_implementations_agree(tmp_path: Path, seed: int) -> None:
    exported = export_draw(tmp_path / "export", seed)
    code, answer = js_verify(exported)
    assert code == 0, answer
    assert answer["ok"] is True and answer["chainChecked"] is True
    assert answer["seed"] == exported.record["seed"]
    assert answer["resultRoot"] == exported.record["resultRoot"]
    assert answer["winners"] == exported.record["winners"]
    assert python_step(exported) is None


@pytest.mark.parametrize(
    "cascade",
    [{"rule": "none"}, {"rule": "pooled"}, {"rule": "ordered", "order": ["thin", "crowded"]},
     {"rule": "ordered", "order": ["thin"]}],
)  # fmt: skip
@pytest.mark.parametrize("weighted", [False, True])
def test_both_agree_when_a_quota_falls_short(
    tmp_path: Path, cascade: dict[str, Any], weighted: bool
) -> None:
    """Category "thin" holds fewer entrants than its quota of 4 (seed 5's list: 1 to 3)."""
    changes = {
        "tiers": [{"name": "first", "count": 2}, {"name": "second", "count": 4}],
        "categories": [{"name": "crowded", "quota": 2}, {"name": "thin", "quota": 4}],
        "cascade": cascade,
        "weighted": weighted,
        "waitingList": 3,
    }
    exported = export_draw(tmp_path / "export", 5, changes)
    thin = sum(1 for e in _categories(exported.directory) if e == 1)
    assert thin < 4
    filled = (
        2
        + thin
        + (
            4 - thin
            if cascade["rule"] == "pooled" or cascade.get("order") == ["thin", "crowded"]
            else 0
        )
    )
    assert exported.record["winners"] == filled
    code, answer = js_verify(exported)
    assert code == 0, answer
    assert (answer["seed"], answer["resultRoot"], answer["winners"]) == (
        exported.record["seed"],
        exported.record["resultRoot"],
        filled,
    )
    assert python_step(exported) is None


def _categories(directory: Path) -> list[int]:
    entries = (directory / "entries.bin").read_bytes()
    return [int.from_bytes(entries[38 * i + 36 : 38 * i + 38]) for i in range(len(entries) // 38)]


def test_receipts_check_out_in_javascript(tmp_path: Path) -> None:
    exported = export_draw(tmp_path / "export", 3)
    record = tmp_path / "record.json"
    record.write_text(json.dumps(exported.record))
    by_index = {r.index: r for r in exported.result}
    for receipt in exported.receipts[:12]:
        path = tmp_path / "receipt.json"
        path.write_text(json.dumps(receipt))
        run = subprocess.run(
            [NODE, str(CHECK), str(path), str(exported.directory / "result.jsonl"),
             "--chain-record", str(record)],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        answer = json.loads(run.stdout)
        mine = by_index.get(receipt["index"])
        if mine is None:
            assert answer["outcome"] == "not-selected"
        else:
            assert answer["rank"] == mine.rank
            assert answer["outcome"] == ("waiting-list" if mine.tier == 0 else "winner")
    forged = dict(exported.receipts[0], salt="00" * 16)
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    run = subprocess.run(
        [NODE, str(CHECK), str(path), str(exported.directory / "result.jsonl")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1 and json.loads(run.stdout)["ok"] is False


def _flip_entry(directory: Path) -> None:
    entries = bytearray((directory / "entries.bin").read_bytes())
    entries[38 * 2 + 5] ^= 0x01
    (directory / "entries.bin").write_bytes(bytes(entries))


def _wrong_secret(directory: Path) -> None:
    reveal = json.loads((directory / "reveal.json").read_text())
    reveal["secret"] = "ab" * 32
    (directory / "reveal.json").write_text(json.dumps(reveal))


def _changed_public_value(directory: Path) -> None:
    reveal = json.loads((directory / "reveal.json").read_text())
    reveal["publicValues"] = ["not what was published"]
    (directory / "reveal.json").write_text(json.dumps(reveal))


def _swapped_winner(directory: Path) -> None:
    lines = [json.loads(x) for x in (directory / "result.jsonl").read_text().splitlines()]
    first, last = lines[0], lines[-1]
    first["index"], last["index"] = last["index"], first["index"]
    first["leaf"], last["leaf"] = last["leaf"], first["leaf"]
    (directory / "result.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


@pytest.mark.parametrize(
    ("tamper", "step"),
    [
        (_flip_entry, "commitment"),
        (_wrong_secret, "reveal"),
        (_changed_public_value, "seed"),
        (_swapped_winner, "selection"),
    ],
)
def test_tampered_exports_fail_at_the_same_step(tmp_path: Path, tamper: Any, step: str) -> None:
    # A draw that declares a public value and has more than one result line.
    seed = next(s for s in range(100) if _has_public_value_and_lines(s))
    exported = export_draw(tmp_path / "export", seed)
    tamper(exported.directory)
    code, answer = js_verify(exported)
    assert code == 1
    assert answer["step"] == step, answer
    assert python_step(exported) == step


def _has_public_value_and_lines(seed: int) -> bool:
    rng = random.Random(seed)
    document = random_document(rng, rng.randbytes(32), f"interop-{seed}")
    return bool(document["publicValues"]) and sum(t["count"] for t in document["tiers"]) > 1
