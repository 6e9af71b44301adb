"""A local drand beacon: quicknet's scheme with its own key, served over drand's HTTP API.

The scheme is the one ``evidence.draw.drand`` verifies (``bls-unchained-g1-rfc9380``,
``docs/draw-algorithm.md`` §3.1): round ``r`` is signed as ``sk · H2C(H(u64(r)))`` on G1,
the key is ``sk · g2`` on G2, both compressed as drand compresses them, and the randomness
is ``H(signature)``. The secret comes from a seed, so a test's rounds are reproducible.
Rounds follow the wall clock from the beacon's genesis and period (1 s in tests).

Served routes, as a drand relay answers them: ``/info``, ``/{chainhash}/info``,
``/{chainhash}/public/latest`` and ``/{chainhash}/public/{round}`` (425 Too Early for a
round not yet published, 404 for an unknown chain or a withheld round).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from py_ecc.bls.g2_primitives import G1_to_pubkey, G2_to_signature
from py_ecc.bls.hash_to_curve import hash_to_G1
from py_ecc.optimized_bls12_381.optimized_curve import G2, curve_order, multiply

from evidence.draw.drand import DST, SCHEME, SHA256, Beacon, BeaconConfig, Fallback, beacon_message
from testkit.serving import serve_app

__all__ = ["BeaconKey", "LocalBeacon", "ServedBeacon", "serve_beacon"]


@dataclass(frozen=True)
class BeaconKey:
    """A BLS12-381 key of the unchained-G1 scheme (the secret derived from a seed)."""

    secret: int
    public_key: bytes  # 96 bytes, compressed G2

    @classmethod
    def from_seed(cls, seed: bytes) -> BeaconKey:
        secret = int.from_bytes(hashlib.sha256(b"testkit drand key" + seed).digest()) % curve_order
        return cls(secret=secret or 1, public_key=_public_key(secret or 1))

    def sign(self, round: int) -> bytes:
        """drand's signature of ``round``: 48 bytes, compressed G1."""
        return _sign(self.secret, round)

    def beacon(self, round: int) -> Beacon:
        signature = self.sign(round)
        return Beacon(round, signature, hashlib.sha256(signature).digest())


@lru_cache(maxsize=8)
def _public_key(secret: int) -> bytes:
    return bytes(G2_to_signature(multiply(G2, secret)))


@lru_cache(maxsize=1024)
def _sign(secret: int, round: int) -> bytes:
    # Hashing to G1 and one scalar multiplication: tens of ms, so rounds are cached.
    point = hash_to_G1(beacon_message(round), DST, SHA256)
    return bytes(G1_to_pubkey(multiply(point, secret)))


@dataclass
class LocalBeacon:
    """A beacon chain: key, genesis and period; the chain hash derived from them."""

    key: BeaconKey
    genesis: int
    period: int = 1
    network: str = "testkit-beacon"
    clock: Callable[[], float] = time.time
    withheld: set[int] = field(default_factory=set)  # rounds answered 404 (a missed round)

    @classmethod
    def started_now(cls, seed: bytes = b"local", *, period: int = 1, back: int = 0) -> LocalBeacon:
        """A beacon whose genesis is ``back`` seconds ago (round 1 at genesis)."""
        return cls(BeaconKey.from_seed(seed), genesis=int(time.time()) - back, period=period)

    @property
    def chain_hash(self) -> bytes:
        # drand hashes its chain info; any stable digest of the same facts serves here.
        info = f"{self.key.public_key.hex()}|{self.genesis}|{self.period}|{SCHEME}".encode()
        return hashlib.sha256(info).digest()

    def current_round(self) -> int:
        now = self.clock()
        return 0 if now < self.genesis else int(now - self.genesis) // self.period + 1

    def round_time(self, round: int) -> int:
        return self.genesis + (round - 1) * self.period

    def config(self, round: int, fallback: Fallback | None = None) -> BeaconConfig:
        """The configuration's ``beacon`` member naming ``round`` of this chain."""
        return BeaconConfig(
            self.network,
            self.chain_hash,
            self.key.public_key,
            self.genesis,
            self.period,
            round,
            fallback or Fallback(),
        )

    def info(self) -> dict[str, object]:
        """drand's chain info, as ``/info`` serves it."""
        return {
            "public_key": self.key.public_key.hex(),
            "period": self.period,
            "genesis_time": self.genesis,
            "hash": self.chain_hash.hex(),
            "groupHash": hashlib.sha256(b"group" + self.chain_hash).hexdigest(),
            "schemeID": SCHEME,
            "metadata": {"beaconID": self.network},
        }

    def app(self) -> FastAPI:
        """drand's HTTP API over this chain."""
        app = FastAPI()
        app.get("/info")(self.info)

        @app.get("/{chain_hash}/info")
        def chain_info(chain_hash: str) -> JSONResponse:
            if chain_hash != self.chain_hash.hex():
                return _error(404, "unknown chain hash")
            return JSONResponse(self.info())

        @app.get("/{chain_hash}/public/{round}")
        def public(chain_hash: str, round: str) -> JSONResponse:
            if chain_hash != self.chain_hash.hex():
                return _error(404, "unknown chain hash")
            current = self.current_round()
            if round == "latest":
                wanted = current
            elif round.isdigit() and int(round) >= 1:
                wanted = int(round)
            else:
                return _error(400, "bad round")
            if wanted < 1 or wanted > current:
                return _error(425, "requested future beacon")
            if wanted in self.withheld:
                return _error(404, "beacon not found")
            return JSONResponse(self.key.beacon(wanted).to_json())

        return app


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@dataclass(frozen=True)
class ServedBeacon:
    beacon: LocalBeacon
    url: str  # the relay's base URL, without a trailing slash


@contextmanager
def serve_beacon(beacon: LocalBeacon) -> Iterator[ServedBeacon]:
    """``beacon`` served over drand's HTTP API on a loopback port until the block exits."""
    with serve_app(beacon.app(), access_log=False) as served:
        yield ServedBeacon(beacon, served.url)
