"""The draw's seed and its inputs (``docs/draw-algorithm.md`` §3.2, §3.3, §4.1).

seed       = H("notary-hub-draw/1 seed" ‖ configHash ‖ candidateRoot ‖ u64(count)
               ‖ beaconRandomness ‖ secret ‖ publicHash)
catSeed[c] = H("notary-hub-draw/1 category" ‖ seed ‖ u16(c))
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from evidence.draw.config import canonical_json

__all__ = [
    "SECRET_SIZE",
    "category_seeds",
    "draw_seed",
    "notary_commitment",
    "public_hash",
]

SECRET_SIZE = 32
_REVEAL_TAG = b"notary-hub-draw/1 reveal"
_SEED_TAG = b"notary-hub-draw/1 seed"
_CATEGORY_TAG = b"notary-hub-draw/1 category"


def _hash32(value: bytes, name: str) -> bytes:
    if len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes")
    return value


def notary_commitment(secret: bytes) -> bytes:
    """§3.2: ``H("notary-hub-draw/1 reveal" ‖ secret)`` for the 32-byte secret."""
    return hashlib.sha256(_REVEAL_TAG + _hash32(secret, "the secret")).digest()


def public_hash(values: Sequence[str]) -> bytes:
    """§3.3: ``H(JCS(values))``, the published strings in declaration order."""
    return hashlib.sha256(canonical_json(list(values))).digest()


def draw_seed(
    *,
    config_hash: bytes,
    candidate_root: bytes,
    count: int,
    beacon_randomness: bytes,
    secret: bytes,
    public_values_hash: bytes,
) -> bytes:
    """§4.1: the seed every score derives from."""
    parts = (
        _SEED_TAG,
        _hash32(config_hash, "configHash"),
        _hash32(candidate_root, "candidateRoot"),
        count.to_bytes(8, "big"),
        _hash32(beacon_randomness, "the beacon randomness"),
        _hash32(secret, "the secret"),
        _hash32(public_values_hash, "publicHash"),
    )
    return hashlib.sha256(b"".join(parts)).digest()


def category_seeds(seed: bytes, categories: int) -> list[bytes]:
    """``catSeed[c]`` for ``c`` in ``0 … categories - 1``."""
    base = _CATEGORY_TAG + _hash32(seed, "the seed")
    return [hashlib.sha256(base + c.to_bytes(2, "big")).digest() for c in range(categories)]
