"""The draw record on chain: a typed wrapper over ``DrawRegistry.sol``
(``docs/draw-algorithm.md`` §3.1 commit before the round, §3.2 the reveal, §5 the result).

The contract is the state machine (commit once, a round at least 60 s ahead, one result
only after the round, within the fallback window, with the committed reveal); this
module checks values' shapes before anything is sent and turns each revert reason into
its error (:mod:`evidence.draw.registry_errors`). Transactions go through the hub's
:class:`~chain_adapter.transactor.Transactor` (gas is estimated first, so a refused step
fails before it is sent and costs nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar

from chain_adapter.artifacts import load_artifact
from chain_adapter.contract import BoundContract
from chain_adapter.deploy import DRAW_REGISTRY, attach_draw_registry
from chain_adapter.errors import CallReverted, TransactionReverted
from chain_adapter.protocol import Chain, Receipt
from chain_adapter.transactor import SignedTx, Transactor
from evidence.draw.drand import MAX_FALLBACK_ROUNDS, BeaconConfig
from evidence.draw.registry_errors import DrawChainError, InvalidDrawRecord, error_for_revert

__all__ = ["DrawCommitment", "DrawRecord", "DrawRegistry", "DrawResult", "DrawState"]

_T = TypeVar("_T")
_U64 = 2**64


class DrawState(IntEnum):
    NONE = 0
    COMMITTED = 1
    PUBLISHED = 2


@dataclass(frozen=True)
class DrawCommitment:
    """What a commit puts on chain (§3.1: before the randomness exists)."""

    config_hash: bytes
    candidate_root: bytes
    count: int
    sources_hash: bytes
    beacon_chain_hash: bytes
    round: int
    notary_commitment: bytes
    fallback_max_rounds: int  # 0 for "wait"

    @classmethod
    def for_beacon(
        cls,
        beacon: BeaconConfig,
        *,
        config_hash: bytes,
        candidate_root: bytes,
        count: int,
        sources_hash: bytes,
        notary_commitment: bytes,
    ) -> DrawCommitment:
        """The commitment of a draw whose configuration names ``beacon``."""
        return cls(
            config_hash,
            candidate_root,
            count,
            sources_hash,
            beacon.chain_hash,
            beacon.round,
            notary_commitment,
            beacon.fallback.max_rounds,
        )


@dataclass(frozen=True)
class DrawResult:
    """What the result puts on chain (§5), with when it did."""

    used_round: int
    beacon_randomness: bytes
    notary_secret: bytes
    seed: bytes
    result_root: bytes
    winners: int
    published_at: int = 0  # block timestamp; 0 until read back from the chain
    published_block: int = 0


@dataclass(frozen=True)
class DrawRecord:
    """A draw's record as the registry holds it."""

    state: DrawState
    commitment: DrawCommitment
    committed_at: int  # block timestamp of the commit
    committed_block: int
    result: DrawResult | None  # None until published


class DrawRegistry:
    """Draw records in one ``DrawRegistry`` contract; writes need the owner's transactor."""

    def __init__(self, contract: BoundContract, transactor: Transactor | None = None) -> None:
        self.contract = contract
        self._transactor = transactor

    @classmethod
    def attach(
        cls, chain: Chain, address: str, transactor: Transactor | None = None
    ) -> DrawRegistry:
        """The registry at ``address``, refusing any other code there."""
        return cls(attach_draw_registry(chain, address), transactor)

    @property
    def address(self) -> str:
        return self.contract.address

    def owner(self) -> str:
        return str(self.contract.call("owner"))

    # -- beacon networks ----------------------------------------------------------------
    def network(self, chain_hash: bytes) -> tuple[int, int] | None:
        """``(genesis, period)`` of a registered beacon network, else None."""
        genesis, period = self.contract.call("network", _bytes32(chain_hash, "chain hash"))
        return None if period == 0 else (int(genesis), int(period))

    def ensure_network(self, beacon: BeaconConfig) -> Receipt | None:
        """Register ``beacon``'s network unless it already is (with the same values)."""
        if self.network(beacon.chain_hash) == (beacon.genesis, beacon.period):
            return None
        args = (
            _bytes32(beacon.chain_hash, "chain hash"),
            _u64(beacon.genesis, "genesis"),
            _u64(beacon.period, "period"),
        )
        return self._send("register the beacon network", "registerBeaconNetwork", *args)

    def round_time(self, chain_hash: bytes, round: int) -> int:
        """When the contract considers ``round`` published (genesis + (round - 1) * period)."""
        return int(
            self._read("round time", lambda: self.contract.call("roundTime", chain_hash, round))
        )

    # -- the draw -----------------------------------------------------------------------
    def commit(self, draw_key: bytes, commitment: DrawCommitment) -> Receipt:
        """Commit draw ``draw_key`` (once; its round at least 60 s after the block)."""
        return self._send("commit the draw", "commit", *_commit_args(draw_key, commitment))

    def prepare_commit(self, draw_key: bytes, commitment: DrawCommitment) -> SignedTx:
        """The signed commit, not sent (to persist before sending, for exactly-once)."""
        data = self.contract.encode("commit", *_commit_args(draw_key, commitment))
        return self._read("commit the draw", lambda: self._writer().build(self.address, data))

    def publish_result(self, draw_key: bytes, result: DrawResult) -> Receipt:
        """Publish draw ``draw_key``'s result (once, after the round, with the reveal)."""
        return self._send(
            "publish the draw's result", "publishResult", *_result_args(draw_key, result)
        )

    def prepare_publish_result(self, draw_key: bytes, result: DrawResult) -> SignedTx:
        """The signed result, not sent (to persist before sending, for exactly-once)."""
        data = self.contract.encode("publishResult", *_result_args(draw_key, result))
        return self._read(
            "publish the draw's result", lambda: self._writer().build(self.address, data)
        )

    def record(self, draw_key: bytes) -> DrawRecord | None:
        """The record of ``draw_key``, or None if it was never committed."""
        raw = self.contract.call("record", _bytes32(draw_key, "draw key"))
        return _record(tuple(raw))

    # -- internals ----------------------------------------------------------------------
    def _writer(self) -> Transactor:
        if self._transactor is None:
            raise DrawChainError("this draw registry is read-only (no transactor)")
        return self._transactor

    def _send(self, action: str, fn_name: str, *args: Any) -> Receipt:
        writer = self._writer()
        return self._read(action, lambda: self.contract.transact(writer, fn_name, *args))

    @staticmethod
    def _read(action: str, step: Callable[[], _T]) -> _T:
        try:
            return step()
        except (CallReverted, TransactionReverted) as exc:
            raise error_for_revert(exc.reason, action) from exc


def _commit_args(draw_key: bytes, c: DrawCommitment) -> tuple[Any, ...]:
    if not 0 <= c.fallback_max_rounds <= MAX_FALLBACK_ROUNDS:
        raise InvalidDrawRecord(f"the fallback window is 0 to {MAX_FALLBACK_ROUNDS} rounds")
    return (
        _bytes32(draw_key, "draw key"),
        _bytes32(c.config_hash, "config hash"),
        _bytes32(c.candidate_root, "candidate root"),
        _u64(c.count, "count"),
        _bytes32(c.sources_hash, "sources hash"),
        _bytes32(c.beacon_chain_hash, "beacon chain hash"),
        _u64(c.round, "round"),
        _bytes32(c.notary_commitment, "notary commitment"),
        c.fallback_max_rounds,
    )


def _result_args(draw_key: bytes, r: DrawResult) -> tuple[Any, ...]:
    return (
        _bytes32(draw_key, "draw key"),
        _u64(r.used_round, "used round"),
        _bytes32(r.beacon_randomness, "beacon randomness"),
        _bytes32(r.notary_secret, "notary secret"),
        _bytes32(r.seed, "seed"),
        _bytes32(r.result_root, "result root"),
        _u64(r.winners, "winners"),
    )


def _record_fields() -> list[str]:
    """The members of ``DrawRegistry.Draw`` in order, from the ABI ``record`` returns."""
    (entry,) = load_artifact(DRAW_REGISTRY).function_abi("record")
    return [str(c["name"]) for c in entry["outputs"][0]["components"]]


def _record(raw: tuple[Any, ...]) -> DrawRecord | None:
    f = dict(zip(_record_fields(), raw, strict=True))
    state = DrawState(int(f["state"]))
    if state is DrawState.NONE:
        return None
    commitment = DrawCommitment(
        config_hash=bytes(f["configHash"]),
        candidate_root=bytes(f["candidateRoot"]),
        count=int(f["count"]),
        sources_hash=bytes(f["sourcesHash"]),
        beacon_chain_hash=bytes(f["beaconChainHash"]),
        round=int(f["round"]),
        notary_commitment=bytes(f["notaryCommitment"]),
        fallback_max_rounds=int(f["fallbackMaxRounds"]),
    )
    result = None
    if state is DrawState.PUBLISHED:
        result = DrawResult(
            used_round=int(f["usedRound"]),
            beacon_randomness=bytes(f["beaconRandomness"]),
            notary_secret=bytes(f["notarySecret"]),
            seed=bytes(f["seed"]),
            result_root=bytes(f["resultRoot"]),
            winners=int(f["winners"]),
            published_at=int(f["publishedAt"]),
            published_block=int(f["publishedBlock"]),
        )
    return DrawRecord(
        state=state,
        commitment=commitment,
        committed_at=int(f["committedAt"]),
        committed_block=int(f["committedBlock"]),
        result=result,
    )


def _bytes32(value: bytes, name: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise InvalidDrawRecord(f"the {name} must be 32 bytes")
    return value


def _u64(value: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _U64:
        raise InvalidDrawRecord(f"the {name} must be an integer from 0 to 2^64 - 1")
    return value
