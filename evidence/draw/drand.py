"""The draw's beacon: drand rounds, verified (``docs/draw-algorithm.md`` §1, §3.1).

drand's scheme ``bls-unchained-g1-rfc9380`` (quicknet): for round ``r`` the signature is
a BLS12-381 point on G1 (48 bytes, compressed as drand/zcash compress) over
``m = H(u64(r))``, hashed to G1 per RFC 9380 with the DST
``BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_``; it verifies against the public key on
G2 (96 bytes compressed) when ``e(signature, g2) = e(H2C(m), publicKey)``. The beacon's
randomness is ``H(signature)``. Round ``r`` is published at
``genesis + (r - 1) · period``; the fallback rule (§3.1) names the rounds a draw may use.

The curve arithmetic is py_ecc's: one multi-pairing (two Miller loops, a single final
exponentiation) per verification, and each public key decompressed and subgroup-checked
once (cached).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from py_ecc.bls.hash import os2ip
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.bls.point_compression import decompress_G1, decompress_G2
from py_ecc.bls.typing import G1Compressed, G1Uncompressed, G2Compressed, G2Uncompressed
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381.optimized_curve import G2, curve_order, is_inf, multiply, neg
from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, pairing

from evidence.draw.beacon_errors import InvalidBeacon, InvalidBeaconConfig

__all__ = [
    "DST",
    "MIN_COMMIT_LEAD",
    "QUICKNET",
    "SCHEME",
    "SHA256",
    "Beacon",
    "BeaconConfig",
    "Fallback",
    "acceptable_rounds",
    "beacon_message",
    "parse_beacon",
    "round_at",
    "round_time",
    "verify_beacon",
    "verify_signature",
]

SCHEME = "bls-unchained-g1-rfc9380"
DST = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
MIN_COMMIT_LEAD = 60  # §3.1: a round is committed at least 60 s before it is published
MAX_FALLBACK_ROUNDS = 10  # §1: next-round's maxRounds is 1 to 10

_HEX = re.compile(r"(?:[0-9a-f]{2})*")  # the spec's hex: lowercase, no 0x
_NEG_G2 = neg(G2)
# py_ecc annotates the hash as an _hashlib.HASH object but calls it as a constructor.
SHA256: Any = hashlib.sha256


@dataclass(frozen=True)
class _Network:
    name: str
    chain_hash: bytes
    public_key: bytes
    genesis: int
    period: int


QUICKNET = _Network(
    name="drand-quicknet",
    chain_hash=bytes.fromhex("52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"),
    public_key=bytes.fromhex(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c"
        "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb"
        "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    ),
    genesis=1692803367,
    period=3,
)


@dataclass(frozen=True)
class Fallback:
    """§3.1: ``wait`` for the round, or use the first of ``r+1 … r+max_rounds`` that can
    be obtained (``next-round``)."""

    rule: Literal["wait", "next-round"] = "wait"
    max_rounds: int = 0  # 0 with "wait"

    def to_config(self) -> dict[str, object]:
        if self.rule == "wait":
            return {"rule": "wait"}
        return {"rule": "next-round", "maxRounds": self.max_rounds}


@dataclass(frozen=True)
class BeaconConfig:
    """A configuration's ``beacon`` member (§1)."""

    network: str
    chain_hash: bytes
    public_key: bytes
    genesis: int
    period: int
    round: int
    fallback: Fallback = Fallback()

    @classmethod
    def quicknet(cls, round: int, fallback: Fallback | None = None) -> BeaconConfig:
        """A quicknet beacon on ``round`` with quicknet's built-in values."""
        q = QUICKNET
        return cls(
            q.name, q.chain_hash, q.public_key, q.genesis, q.period, round, fallback or Fallback()
        )

    @classmethod
    def from_config(cls, beacon: Mapping[str, object]) -> BeaconConfig:
        """Parse and check ``config["beacon"]``; :class:`InvalidBeaconConfig` otherwise.

        ``drand-quicknet`` must carry quicknet's own chain hash, key, genesis and period.
        """
        if not isinstance(beacon, Mapping):
            raise InvalidBeaconConfig("beacon must be an object")
        expected = {"network", "chainHash", "publicKey", "genesis", "period", "round", "fallback"}
        if set(beacon) != expected:
            raise InvalidBeaconConfig(f"beacon members must be exactly {sorted(expected)}")
        network = beacon["network"]
        if not isinstance(network, str) or not network:
            raise InvalidBeaconConfig("beacon.network must be a non-empty string")
        cfg = cls(
            network=network,
            chain_hash=_config_hex(beacon, "chainHash", 32),
            public_key=_config_hex(beacon, "publicKey", 96),
            genesis=_config_int(beacon, "genesis", 0),
            period=_config_int(beacon, "period", 1),
            round=_config_int(beacon, "round", 1),
            fallback=_fallback(beacon["fallback"]),
        )
        if network == QUICKNET.name and (
            cfg.chain_hash,
            cfg.public_key,
            cfg.genesis,
            cfg.period,
        ) != (QUICKNET.chain_hash, QUICKNET.public_key, QUICKNET.genesis, QUICKNET.period):
            raise InvalidBeaconConfig(
                "beacon.network drand-quicknet must carry quicknet's own chainHash, "
                "publicKey, genesis and period"
            )
        try:
            _public_key_point(cfg.public_key)
        except InvalidBeacon as exc:
            raise InvalidBeaconConfig(f"beacon.publicKey: {exc.message}") from exc
        return cfg

    def to_config(self) -> dict[str, object]:
        """The ``beacon`` member as the configuration carries it."""
        return {
            "network": self.network,
            "chainHash": self.chain_hash.hex(),
            "publicKey": self.public_key.hex(),
            "genesis": self.genesis,
            "period": self.period,
            "round": self.round,
            "fallback": self.fallback.to_config(),
        }


@dataclass(frozen=True)
class Beacon:
    """One round as a relay serves it: ``{"round", "randomness", "signature"}``."""

    round: int
    signature: bytes
    randomness: bytes

    def to_json(self) -> dict[str, object]:
        return {
            "round": self.round,
            "randomness": self.randomness.hex(),
            "signature": self.signature.hex(),
        }


def round_time(cfg: BeaconConfig, round: int) -> int:
    """When ``round`` is published (§3.1): ``genesis + (round - 1) · period``."""
    if round < 1:
        raise ValueError("drand rounds start at 1")
    return cfg.genesis + (round - 1) * cfg.period


def round_at(cfg: BeaconConfig, unix_time: float) -> int:
    """The latest round published at ``unix_time`` (0 before genesis)."""
    if unix_time < cfg.genesis:
        return 0
    return int(unix_time - cfg.genesis) // cfg.period + 1


def acceptable_rounds(cfg: BeaconConfig) -> range:
    """The rounds a draw may use, in the order it tries them (§3.1's fallback rule)."""
    return range(cfg.round, cfg.round + cfg.fallback.max_rounds + 1)


def beacon_message(round: int) -> bytes:
    """The signed message of an unchained round: ``H(u64(round))``."""
    return hashlib.sha256(round.to_bytes(8, "big")).digest()


def parse_beacon(beacon_json: Mapping[str, object]) -> Beacon:
    """The members of a relay's JSON, checked for form only (no signature check)."""
    if not isinstance(beacon_json, Mapping):
        raise InvalidBeacon("a beacon must be a JSON object")
    round = beacon_json.get("round")
    if not isinstance(round, int) or isinstance(round, bool) or not 1 <= round < 2**64:
        raise InvalidBeacon("beacon round must be an integer from 1 to 2^64 - 1")
    signature = _beacon_hex(beacon_json, "signature", 48)
    randomness = _beacon_hex(beacon_json, "randomness", 32)
    return Beacon(round=round, signature=signature, randomness=randomness)


def verify_beacon(
    cfg: BeaconConfig, beacon_json: Mapping[str, object], *, expected_round: int
) -> bytes:
    """The round's randomness if ``beacon_json`` is ``expected_round`` of ``cfg``'s chain
    with a valid signature and ``randomness = H(signature)``; :class:`InvalidBeacon`
    naming the first failure otherwise."""
    beacon = parse_beacon(beacon_json)
    if beacon.round != expected_round:
        raise InvalidBeacon(f"beacon is round {beacon.round}, expected round {expected_round}")
    if hashlib.sha256(beacon.signature).digest() != beacon.randomness:
        raise InvalidBeacon("beacon randomness is not the SHA-256 of its signature")
    verify_signature(cfg.public_key, beacon.round, beacon.signature)
    return beacon.randomness


def verify_signature(public_key: bytes, round: int, signature: bytes) -> None:
    """Check ``e(signature, g2) = e(H2C(H(u64(round))), publicKey)``, or raise
    :class:`InvalidBeacon`."""
    key = _public_key_point(public_key)
    sig = _signature_point(signature)
    hashed = hash_to_G1(beacon_message(round), DST, SHA256)
    # e(sig, -g2) · e(H(m), pk) = 1, with one final exponentiation for both.
    product = pairing(_NEG_G2, sig, final_exponentiate=False) * pairing(
        key, hashed, final_exponentiate=False
    )
    if final_exponentiate(product) != FQ12.one():
        raise InvalidBeacon(f"beacon signature of round {round} does not verify")


@lru_cache(maxsize=16)
def _public_key_point(public_key: bytes) -> G2Uncompressed:
    if len(public_key) != 96:
        raise InvalidBeacon("public key must be 96 bytes (compressed G2)")
    try:
        point = decompress_G2(G2Compressed((os2ip(public_key[:48]), os2ip(public_key[48:]))))
    except ValueError as exc:
        raise InvalidBeacon(f"public key is not a G2 point: {exc}") from exc
    if is_inf(point) or not is_inf(multiply(point, curve_order)):
        raise InvalidBeacon("public key is not in the G2 subgroup (or is the identity)")
    return point


def _signature_point(signature: bytes) -> G1Uncompressed:
    try:
        point = decompress_G1(G1Compressed(os2ip(signature)))
    except ValueError as exc:
        raise InvalidBeacon(f"beacon signature is not a G1 point: {exc}") from exc
    if is_inf(point) or not is_inf(multiply(point, curve_order)):
        raise InvalidBeacon("beacon signature is not in the G1 subgroup (or is the identity)")
    return point


def _beacon_hex(obj: Mapping[str, object], name: str, size: int) -> bytes:
    value = obj.get(name)
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.fullmatch(value):
        raise InvalidBeacon(f"beacon {name} must be {size} bytes of lowercase hex")
    return bytes.fromhex(value)


def _config_hex(obj: Mapping[str, object], name: str, size: int) -> bytes:
    value = obj[name]
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.fullmatch(value):
        raise InvalidBeaconConfig(f"beacon.{name} must be {size} bytes of lowercase hex")
    return bytes.fromhex(value)


def _config_int(obj: Mapping[str, object], name: str, least: int) -> int:
    value = obj[name]
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value < 2**63:
        raise InvalidBeaconConfig(f"beacon.{name} must be an integer ≥ {least}")
    return value


def _fallback(value: object) -> Fallback:
    if value == {"rule": "wait"}:
        return Fallback("wait", 0)
    if isinstance(value, Mapping) and set(value) == {"rule", "maxRounds"}:
        max_rounds = value["maxRounds"]
        if (
            value["rule"] == "next-round"
            and isinstance(max_rounds, int)
            and not isinstance(max_rounds, bool)
            and 1 <= max_rounds <= MAX_FALLBACK_ROUNDS
        ):
            return Fallback("next-round", max_rounds)
    raise InvalidBeaconConfig(
        'beacon.fallback must be {"rule": "wait"} or {"rule": "next-round", "maxRounds": 1..10}'
    )
