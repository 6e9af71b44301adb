"""drand beacons verified (docs/draw-algorithm.md §3.1): quicknet's real round 657413 pins
the scheme and the built-in values; a local key of the same scheme plays the attacks.

A pairing check costs ~0.3 s in py_ecc: only the tests marked below run one.
"""

from __future__ import annotations

import hashlib

import pytest
from py_ecc.bls.g2_primitives import G1_to_pubkey
from py_ecc.optimized_bls12_381.optimized_curve import G1, multiply

from evidence.draw.beacon_errors import InvalidBeacon, InvalidBeaconConfig
from evidence.draw.drand import (
    QUICKNET,
    Beacon,
    BeaconConfig,
    Fallback,
    acceptable_rounds,
    round_at,
    round_time,
    verify_beacon,
)
from testkit.drand_beacon import BeaconKey, LocalBeacon

ROUND = 657413
SIGNATURE = (
    "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be"
    "41076862b98fad56e91a6b85b89cd97b"
)
RANDOMNESS = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
REAL = {"round": ROUND, "randomness": RANDOMNESS, "signature": SIGNATURE}


def quicknet_config(round: int = ROUND, fallback: object = None) -> dict[str, object]:
    return {
        "network": "drand-quicknet",
        "chainHash": QUICKNET.chain_hash.hex(),
        "publicKey": QUICKNET.public_key.hex(),
        "genesis": QUICKNET.genesis,
        "period": QUICKNET.period,
        "round": round,
        "fallback": fallback or {"rule": "wait"},
    }


def with_signature(signature: bytes, round: int = ROUND) -> dict[str, object]:
    """A beacon JSON whose randomness matches its (perhaps forged) signature."""
    return Beacon(round, signature, hashlib.sha256(signature).digest()).to_json()


# -- the real quicknet round (one pairing each) ------------------------------------------------
def test_real_quicknet_round_verifies_with_built_in_values() -> None:
    cfg = BeaconConfig.from_config(quicknet_config())
    assert cfg == BeaconConfig.quicknet(ROUND)
    assert verify_beacon(cfg, REAL, expected_round=ROUND).hex() == RANDOMNESS
    assert round_time(cfg, ROUND) == 1692803367 + (ROUND - 1) * 3
    assert round_at(cfg, round_time(cfg, ROUND)) == ROUND
    assert round_at(cfg, round_time(cfg, ROUND) - 1) == ROUND - 1


def test_a_signature_of_another_round_is_refused() -> None:
    cfg = BeaconConfig.quicknet(ROUND + 1)
    moved = {**REAL, "round": ROUND + 1}
    with pytest.raises(InvalidBeacon, match=f"signature of round {ROUND + 1} does not verify"):
        verify_beacon(cfg, moved, expected_round=ROUND + 1)


# -- a local key of the same scheme ------------------------------------------------------------
def test_local_beacon_verifies_and_another_key_does_not() -> None:
    beacon = LocalBeacon(BeaconKey.from_seed(b"a"), genesis=1_700_000_000)
    cfg = beacon.config(7)
    good = beacon.key.beacon(7).to_json()
    assert verify_beacon(cfg, good, expected_round=7) == hashlib.sha256(beacon.key.sign(7)).digest()
    other = BeaconKey.from_seed(b"b").beacon(7).to_json()
    with pytest.raises(InvalidBeacon, match="does not verify"):
        verify_beacon(cfg, other, expected_round=7)


def test_a_forged_signature_is_refused() -> None:
    cfg = LocalBeacon(BeaconKey.from_seed(b"a"), genesis=1_700_000_000).config(7)
    forged = bytes(G1_to_pubkey(multiply(G1, 123456789)))  # a valid point, not a signature
    with pytest.raises(InvalidBeacon, match="does not verify"):
        verify_beacon(cfg, with_signature(forged, 7), expected_round=7)


# -- refused before any pairing ----------------------------------------------------------------
def test_wrong_round_and_wrong_randomness_are_refused() -> None:
    cfg = BeaconConfig.quicknet(ROUND)
    with pytest.raises(InvalidBeacon, match=f"round {ROUND}, expected round {ROUND + 1}"):
        verify_beacon(cfg, REAL, expected_round=ROUND + 1)
    wrong = {**REAL, "randomness": "00" * 32}
    with pytest.raises(InvalidBeacon, match="randomness is not the SHA-256 of its signature"):
        verify_beacon(cfg, wrong, expected_round=ROUND)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"signature": SIGNATURE[:-2]}, "signature must be 48 bytes"),
        ({"signature": SIGNATURE + "00"}, "signature must be 48 bytes"),
        ({"signature": SIGNATURE.upper()}, "signature must be 48 bytes of lowercase hex"),
        ({"signature": "zz" + SIGNATURE[2:]}, "signature must be 48 bytes"),
        ({"randomness": "0x" + RANDOMNESS[2:]}, "randomness must be 32 bytes"),
        ({"randomness": None}, "randomness must be 32 bytes"),
        ({"round": str(ROUND)}, "round must be an integer"),
        ({"round": True}, "round must be an integer"),
        ({"round": 0}, "round must be an integer"),
    ],
)
def test_malformed_members_are_refused(change: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidBeacon, match=reason):
        verify_beacon(BeaconConfig.quicknet(ROUND), {**REAL, **change}, expected_round=ROUND)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (bytes([0xC0]) + bytes(47), "not in the G1 subgroup \\(or is the identity\\)"),
        (bytes(48), "not a G1 point: c_flag"),
        (bytes([0x9F]) + b"\xff" * 47, "not a G1 point: Point value should be less"),
        (bytes([0x80]) + bytes(46) + b"\x01", "not a G1 point"),  # x = 1: not on the curve
    ],
)
def test_malformed_points_are_refused(signature: bytes, reason: str) -> None:
    with pytest.raises(InvalidBeacon, match=reason):
        verify_beacon(BeaconConfig.quicknet(ROUND), with_signature(signature), expected_round=ROUND)


def test_not_a_beacon_object() -> None:
    with pytest.raises(InvalidBeacon, match="must be a JSON object"):
        verify_beacon(BeaconConfig.quicknet(ROUND), [REAL], expected_round=ROUND)  # type: ignore[arg-type]


# -- configuration and fallback ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"publicKey": LocalBeacon.started_now().key.public_key.hex()}, "quicknet's own"),
        ({"genesis": QUICKNET.genesis + 1}, "quicknet's own"),
        ({"period": 30}, "quicknet's own"),
        ({"chainHash": "00" * 32}, "quicknet's own"),
        ({"chainHash": "00" * 31}, "chainHash must be 32 bytes"),
        ({"round": 0}, "round must be an integer ≥ 1"),
        ({"period": True}, "period must be an integer"),
        ({"network": ""}, "network must be a non-empty string"),
        ({"fallback": {"rule": "next-round", "maxRounds": 11}}, "fallback must be"),
        ({"fallback": {"rule": "next-round"}}, "fallback must be"),
        ({"fallback": {"rule": "redraw"}}, "fallback must be"),
        ({"extra": 1}, "members must be exactly"),
    ],
)
def test_bad_configurations_are_refused(change: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidBeaconConfig, match=reason):
        BeaconConfig.from_config({**quicknet_config(), **change})


def test_a_test_network_states_its_own_key_and_round_trips() -> None:
    beacon = LocalBeacon.started_now(b"cfg")
    cfg = beacon.config(5, Fallback("next-round", 3))
    assert BeaconConfig.from_config(cfg.to_config()) == cfg
    assert list(acceptable_rounds(cfg)) == [5, 6, 7, 8]
    assert list(acceptable_rounds(beacon.config(5))) == [5]
    bad_key = {**cfg.to_config(), "publicKey": "80" + "00" * 95}
    with pytest.raises(InvalidBeaconConfig, match="publicKey: public key is not"):
        BeaconConfig.from_config(bad_key)
