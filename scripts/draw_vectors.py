"""Write ``docs/draw-vectors.json``: test vectors of ``notary-hub-draw/1`` from the hub's code.

Run from the repository root: ``.venv/bin/python scripts/draw_vectors.py``
(``--check`` compares instead of writing). The vectors pin each step of
``docs/draw-algorithm.md`` (LOG2, weighted keys, leaves, the seed, candidate roots and
proofs, whole draws with and without weights and categories under each cascade rule, a
winner's entry receipt) so
that an independent implementation (``verifier-js/``) can assert against them.
Everything is derived from fixed inputs: rerunning the script gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evidence.draw.candidates import (  # noqa: E402
    CandidateTree,
    candidate_root,
    encode_entry,
    entrant_leaf,
)
from evidence.draw.config import parse_config  # noqa: E402
from evidence.draw.keys import log2_exact, log2_fixed, weighted_key  # noqa: E402
from evidence.draw.receipt import build_receipts  # noqa: E402
from evidence.draw.result import encode_result_entry, result_root  # noqa: E402
from evidence.draw.seed import (  # noqa: E402
    category_seeds,
    draw_seed,
    notary_commitment,
    public_hash,
)
from evidence.draw.selection import draw  # noqa: E402

VECTORS = ROOT / "docs" / "draw-vectors.json"
SECRET = hashlib.sha256(b"vectors: notary secret").digest()
RANDOMNESS = hashlib.sha256(b"vectors: beacon randomness").digest()
LOG2_INPUTS = [1, 2, 3, 1000, 65535, 65536, 65537, 2**32, 2**48 - 1, 2**48 + 12345]
LOG2_INPUTS += [2**53 + 1, 12345678901234567890, 2**63, 2**64 - 1, 2**64]
KEY_INPUTS = [(0, 1), (0, 7), (2**63, 1), (2**63, 3), (2**64 - 1, 1), (123456789, 2**32 - 1)]
KEY_INPUTS += [(0xFEDCBA9876543210, 10), (1, 2)]


def _h(tag: str, i: int) -> bytes:
    return hashlib.sha256(f"vectors: {tag} {i}".encode()).digest()


def _config(draw_id: str, **members: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "algorithm": "notary-hub-draw/1",
        "drawId": draw_id,
        "title": "测试抽奖 test draw",
        "rules": "Vectors of docs/draw-algorithm.md.",
        "tiers": [{"name": "first", "count": 1}, {"name": "second", "count": 2}],
        "waitingList": 3,
        "weighted": False,
        "categories": [],
        "cascade": {"rule": "none"},
        "entryDeadline": "2026-12-31T16:00:00Z",
        "beacon": {
            "network": "local-test",
            "chainHash": _h("chain", 0).hex(),
            "publicKey": (_h("key", 0) * 3).hex(),
            "genesis": 1_700_000_000,
            "period": 3,
            "round": 4242,
            "fallback": {"rule": "next-round", "maxRounds": 3},
        },
        "notaryCommitment": notary_commitment(SECRET).hex(),
        "publicValues": [{"name": "closing price", "source": "an exchange's close"}],
    }
    document.update(members)
    return document


def _draw_vector(name: str, document: dict[str, Any], entrants: list[tuple[int, int]]) -> Any:
    config = parse_config(document)
    rows, entries = [], bytearray()
    for i, (weight, category) in enumerate(entrants):
        entrant_id, salt = f"entrant-{i:03d}", _h("salt", i)[:16]
        leaf = entrant_leaf(config.draw_id, entrant_id, salt)
        entries += encode_entry(leaf, weight, category)
        rows.append({"id": entrant_id, "salt": salt.hex(), "leaf": leaf.hex()})
    root = candidate_root(entries)
    values = ["101.25"] * len(config.public_values)
    seed = draw_seed(
        config_hash=config.config_hash,
        candidate_root=root,
        count=len(entrants),
        beacon_randomness=RANDOMNESS,
        secret=SECRET,
        public_values_hash=public_hash(values),
    )
    result = draw(config, bytes(entries), seed)
    tree = CandidateTree(bytes(entries))
    winner = result[0].index
    receipt = next(
        build_receipts(
            config.draw_id, [(winner, rows[winner]["id"], _h("salt", winner)[:16])], tree
        )
    )
    return {
        "name": name,
        "config": config.canonical.decode("utf-8"),
        "configHash": config.config_hash.hex(),
        "entrants": rows,
        "entries": bytes(entries).hex(),
        "count": len(entrants),
        "candidateRoot": root.hex(),
        "proofs": [
            {"index": i, "proof": [p.hex() for p in tree.inclusion_proof(i)]}
            for i in sorted({0, len(entrants) // 2, len(entrants) - 1})
        ],
        "beaconRandomness": RANDOMNESS.hex(),
        "secret": SECRET.hex(),
        "publicValues": values,
        "publicHash": public_hash(values).hex(),
        "seed": seed.hex(),
        "categorySeeds": [s.hex() for s in category_seeds(seed, config.category_count)],
        "result": [
            {"rank": e.rank, "index": e.index, "leaf": e.leaf.hex(), "tier": e.tier} for e in result
        ],
        "resultEntries": [encode_result_entry(e).hex() for e in result],
        "resultRoot": result_root(result).hex(),
        "receipt": receipt.to_json(),
        "receiptOutcome": {"rank": result[0].rank, "tier": result[0].tier},
    }


def _categories(rule: dict[str, Any]) -> dict[str, Any]:
    # "short" holds 2 entrants for a quota of 3: one place goes to the cascade.
    return {
        "tiers": [{"name": "first", "count": 2}, {"name": "second", "count": 4}],
        "categories": [
            {"name": "short", "quota": 3},
            {"name": "family", "quota": 2},
            {"name": "local", "quota": 1},
        ],
        "cascade": rule,
    }


def _draws() -> list[Any]:
    three = [(1, 0)] * 2 + [(1, 1)] * 9 + [(1, 2)] * 9
    return [
        _draw_vector("unweighted", _config("vectors-unweighted"), [(1, 0)] * 20),
        _draw_vector(
            "weighted",
            _config("vectors-weighted", weighted=True, waitingList=4),
            [((i * 7) % 10 + 1, 0) for i in range(30)] + [(2**32 - 1, 0)],
        ),
        _draw_vector(
            "cascade-none", _config("vectors-cascade", **_categories({"rule": "none"})), three
        ),
        _draw_vector(
            "cascade-pooled", _config("vectors-cascade", **_categories({"rule": "pooled"})), three
        ),
        _draw_vector(
            "cascade-ordered",
            _config(
                "vectors-cascade", **_categories({"rule": "ordered", "order": ["local", "family"]})
            ),
            three,
        ),
        _draw_vector(
            "weighted-categories",
            _config(
                "vectors-weighted-categories", weighted=True, **_categories({"rule": "pooled"})
            ),
            [((i * 5) % 7 + 1, c) for i, (_, c) in enumerate(three)],
        ),
    ]


def build_vectors() -> dict[str, Any]:
    """Every vector, as the JSON object written to ``docs/draw-vectors.json``."""
    leaf_salt = bytes(range(16))
    return {
        "algorithm": "notary-hub-draw/1",
        "spec": "docs/draw-algorithm.md",
        "log2Table": [{"j": j, "T": log2_exact(65536 + j)} for j in (0, 1, 2, 32768, 65535, 65536)],
        "log2": [{"y": str(y), "LOG2": str(log2_fixed(y))} for y in LOG2_INPUTS],
        "weightedKeys": [
            {"x": str(x), "w": w, "key": str(weighted_key(x, w))} for x, w in KEY_INPUTS
        ],
        "leaf": {
            "drawId": "draw-42",
            "entrantId": "张三 #7",
            "salt": leaf_salt.hex(),
            "leaf": entrant_leaf("draw-42", "张三 #7", leaf_salt).hex(),
            "entry": encode_entry(entrant_leaf("draw-42", "张三 #7", leaf_salt), 5, 2).hex(),
        },
        "commitment": {"secret": SECRET.hex(), "notaryCommitment": notary_commitment(SECRET).hex()},
        "draws": _draws(),
    }


def render() -> str:
    return json.dumps(build_vectors(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    text = render()
    if "--check" in sys.argv[1:]:
        if VECTORS.read_text(encoding="utf-8") != text:
            sys.exit(f"{VECTORS} is out of date: run scripts/draw_vectors.py")
        return
    VECTORS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
