"""Public verification of a draw's export (``docs/draw-algorithm.md`` §6).

:func:`verify_export` re-derives everything, in the order of §6, and raises
:class:`~evidence.draw.errors.DrawVerificationFailed` naming the first step that fails:
``config``, ``entries``, ``commitment``, ``beacon``, ``reveal``, ``seed``, ``selection``,
``result``. What lives elsewhere is passed in: the chain's record of the draw (read by
the caller from the DrawRegistry contract; ``None`` skips the two steps that need it)
and the beacon's BLS verification (``verify_beacon`` returns the round's randomness or
raises).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence.draw.candidates import candidate_root
from evidence.draw.config import BeaconConfig, DrawConfig
from evidence.draw.errors import DrawError, DrawVerificationFailed
from evidence.draw.export import (
    read_beacon,
    read_config,
    read_entries,
    read_result_file,
    read_reveal,
)
from evidence.draw.result import ResultEntry, result_root, winner_count
from evidence.draw.seed import draw_seed, notary_commitment, public_hash
from evidence.draw.selection import check_committable, draw, duplicate_leaf, entry_stats

__all__ = [
    "CHAIN_RECORD_MEMBERS",
    "MIN_LEAD_SECONDS",
    "STEPS",
    "BeaconVerifier",
    "ChainRecord",
    "Verification",
    "chain_record_json",
    "verify_export",
]

STEPS = ("config", "entries", "commitment", "beacon", "reveal", "seed", "selection", "result")
MIN_LEAD_SECONDS = 60  # §3.1: round time ≥ commit block time + 60
BeaconVerifier = Callable[[BeaconConfig, Mapping[str, Any]], bytes]


@dataclass(frozen=True)
class ChainRecord:
    """The chain's record of one draw (the DrawRegistry's fields, read by the caller).

    ``commit_time`` is the commit block's timestamp. The draw-time fields are ``None``
    until the result is recorded.
    """

    config_hash: bytes
    candidate_root: bytes
    count: int
    beacon_round: int
    notary_commitment: bytes
    commit_time: int
    seed: bytes | None = None
    round_used: int | None = None
    result_root: bytes | None = None
    winners: int | None = None


CHAIN_RECORD_MEMBERS = (
    "configHash",
    "candidateRoot",
    "count",
    "round",
    "notaryCommitment",
    "commitBlockTime",
    "usedRound",
    "seed",
    "resultRoot",
    "winners",
)


def chain_record_json(record: ChainRecord) -> dict[str, Any]:
    """The chain record as §6.1 hands it to another verifier (``verifier-js --chain-record``).

    It exists once the result is on chain: a record without one raises ``ValueError``.
    """
    if record.seed is None or record.result_root is None:
        raise ValueError("the chain has no result for this draw yet: no chain record")
    return {
        "configHash": record.config_hash.hex(),
        "candidateRoot": record.candidate_root.hex(),
        "count": record.count,
        "round": record.beacon_round,
        "notaryCommitment": record.notary_commitment.hex(),
        "commitBlockTime": record.commit_time,
        "usedRound": record.round_used,
        "seed": record.seed.hex(),
        "resultRoot": record.result_root.hex(),
        "winners": record.winners,
    }


@dataclass
class Verification:
    """What a successful verification established; ``steps`` maps each step to its outcome."""

    steps: dict[str, str] = field(default_factory=dict)
    config_hash: bytes = b""
    candidate_root: bytes = b""
    count: int = 0
    round_used: int = 0
    seed: bytes = b""
    result_root: bytes = b""
    winners: int = 0


@contextmanager
def _step(report: Verification, name: str) -> Iterator[None]:
    try:
        yield
    except DrawVerificationFailed:
        raise
    except (DrawError, ValueError, OSError, KeyError, TypeError) as exc:
        message = exc.message if isinstance(exc, DrawError) else str(exc)
        raise DrawVerificationFailed(name, message) from exc
    report.steps.setdefault(name, "ok")


def _fail(step: str, message: str) -> DrawVerificationFailed:
    return DrawVerificationFailed(step, message)


def _check_commitment(config: DrawConfig, report: Verification, chain: ChainRecord) -> None:
    expected = {
        "config hash": (chain.config_hash, report.config_hash),
        "candidate root": (chain.candidate_root, report.candidate_root),
        "count": (chain.count, report.count),
        "beacon round": (chain.beacon_round, config.beacon.round),
        "notary commitment": (chain.notary_commitment, config.notary_commitment),
    }
    for name, (recorded, derived) in expected.items():
        if recorded != derived:
            raise _fail("commitment", f"the chain's {name} is not the export's")
    lead = config.beacon.round_time(config.beacon.round) - chain.commit_time
    if lead < MIN_LEAD_SECONDS:
        raise _fail("commitment", f"the beacon round was {lead} s ahead of the commit, not 60")


def _check_beacon(
    config: DrawConfig, beacon: Mapping[str, Any], chain: ChainRecord | None, verify: BeaconVerifier
) -> tuple[int, bytes]:
    round_ = beacon.get("round")
    if isinstance(round_, bool) or not isinstance(round_, int):
        raise _fail("beacon", "beacon.json has no round")
    if not config.beacon.accepts_round(round_):
        raise _fail("beacon", f"round {round_} is not allowed by the committed fallback")
    if chain is not None and chain.round_used is not None and chain.round_used != round_:
        raise _fail("beacon", f"the chain records round {chain.round_used}, not {round_}")
    randomness = verify(config.beacon, beacon)
    if len(randomness) != 32:
        raise _fail("beacon", "the beacon verifier returned no 32-byte randomness")
    return round_, randomness


def _first_difference(derived: list[ResultEntry], published: list[ResultEntry]) -> str | None:
    for mine, theirs in zip(derived, published, strict=False):
        if mine != theirs:
            return f"rank {mine.rank} is entry {mine.index} (tier {mine.tier}), not {theirs.index}"
    if len(derived) != len(published):
        return f"the result has {len(published)} entries, the draw gives {len(derived)}"
    return None


def _entries_step(config: DrawConfig, directory: Path, report: Verification, processes: int) -> Any:
    entries = read_entries(directory)
    stats = entry_stats(config, entries)
    check_committable(config, stats)
    twins = duplicate_leaf(entries)
    if twins is not None:
        raise ValueError(f"entries {twins[0]} and {twins[1]} have the same leaf")
    report.count = stats.count
    report.candidate_root = candidate_root(entries, processes=processes)
    return entries


def verify_export(
    directory: Path,
    *,
    chain_record: ChainRecord | None,
    verify_beacon: BeaconVerifier,
    processes: int = 1,
) -> Verification:
    """Re-derive the draw in ``directory``; raises :class:`DrawVerificationFailed` (step named).

    ``processes`` > 1 hashes the candidate list and scores it in that many forked
    processes (call it from a single-threaded process: a CLI, a benchmark).
    """
    report = Verification()
    with _step(report, "config"):
        config = read_config(directory)
        report.config_hash = config.config_hash
    with _step(report, "entries"):
        entries = _entries_step(config, directory, report, processes)
    with _step(report, "commitment"):
        if chain_record is None:
            report.steps["commitment"] = "skipped: no chain record"
        else:
            _check_commitment(config, report, chain_record)
    with _step(report, "beacon"):
        beacon = read_beacon(directory)
        report.round_used, randomness = _check_beacon(config, beacon, chain_record, verify_beacon)
    with _step(report, "reveal"):
        reveal = read_reveal(directory)
        if notary_commitment(reveal.secret) != config.notary_commitment:
            raise _fail("reveal", "the secret does not match notaryCommitment")
        if len(reveal.public_values) != len(config.public_values):
            raise _fail("reveal", f"{len(config.public_values)} public values were declared")
    with _step(report, "seed"):
        report.seed = draw_seed(
            config_hash=report.config_hash,
            candidate_root=report.candidate_root,
            count=report.count,
            beacon_randomness=randomness,
            secret=reveal.secret,
            public_values_hash=public_hash(reveal.public_values),
        )
        if chain_record is not None and chain_record.seed not in (None, report.seed):
            raise _fail("seed", "the chain's seed is not the one the export derives")
    with _step(report, "selection"):
        published = read_result_file(directory)
        derived = draw(config, entries, report.seed, processes=processes)
        difference = _first_difference(derived, published)
        if difference:
            raise _fail("selection", difference)
    with _step(report, "result"):
        report.result_root, report.winners = result_root(published), winner_count(published)
        if chain_record is None or chain_record.result_root is None:
            report.steps["result"] = "skipped: no result on chain"
        elif (chain_record.result_root, chain_record.winners) != (
            report.result_root,
            report.winners,
        ):
            raise _fail("result", "the result's root or winner count is not the chain's")
    return report
