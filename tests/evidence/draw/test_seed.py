"""§3.2, §3.3, §4.1: the commitment, the public values' hash, the seed and category seeds."""

from __future__ import annotations

import hashlib

import pytest

from evidence.draw.seed import category_seeds, draw_seed, notary_commitment, public_hash

INPUTS = {
    "config_hash": bytes([1]) * 32,
    "candidate_root": bytes([2]) * 32,
    "count": 1000,
    "beacon_randomness": bytes([3]) * 32,
    "secret": bytes([4]) * 32,
    "public_values_hash": public_hash([]),
}


def test_the_seed_is_the_specified_hash() -> None:
    expected = hashlib.sha256(
        b"notary-hub-draw/1 seed"
        + bytes([1]) * 32
        + bytes([2]) * 32
        + (1000).to_bytes(8, "big")
        + bytes([3]) * 32
        + bytes([4]) * 32
        + hashlib.sha256(b"[]").digest()
    ).digest()
    assert draw_seed(**INPUTS) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_every_input_changes_the_seed(name: str) -> None:
    changed = dict(INPUTS)
    changed[name] = 1001 if name == "count" else bytes([9]) * 32
    assert draw_seed(**changed) != draw_seed(**INPUTS)  # type: ignore[arg-type]


def test_commitment_public_hash_and_category_seeds() -> None:
    secret = bytes(range(32))
    assert (
        notary_commitment(secret) == hashlib.sha256(b"notary-hub-draw/1 reveal" + secret).digest()
    )
    assert public_hash(["1.5", "北京"]) == hashlib.sha256('["1.5","北京"]'.encode()).digest()
    seeds = category_seeds(bytes(32), 3)
    assert (
        seeds[2] == hashlib.sha256(b"notary-hub-draw/1 category" + bytes(32) + b"\x00\x02").digest()
    )
    assert len(set(seeds)) == 3
    with pytest.raises(ValueError, match="32 bytes"):
        notary_commitment(bytes(31))
