"""Errors of the draw record on chain (``DrawRegistry.sol``; ``docs/draw-algorithm.md``
§3.1, §3.2, §5): each revert reason of the contract has its class, so a refused step
reaches the caller as a clear 4xx with the draw's state unchanged."""

from __future__ import annotations

from evidence.errors import EvidenceError

__all__ = [
    "BeaconRoundNotPublished",
    "BeaconRoundOutsideWindow",
    "BeaconRoundTooSoon",
    "DrawAlreadyCommitted",
    "DrawAlreadyPublished",
    "DrawChainError",
    "DrawNotCommitted",
    "InvalidDrawRecord",
    "NotDrawRegistryOwner",
    "RevealMismatch",
    "UnknownBeaconNetwork",
    "error_for_revert",
]


class DrawChainError(EvidenceError):
    """The draw registry refused a step for a reason the hub does not know."""

    code = "draw_chain_error"
    status_code = 502


class InvalidDrawRecord(DrawChainError):
    """A value the contract refuses (a zero hash, count or round, a fallback over 10)."""

    code = "invalid_draw_record"
    status_code = 422


class NotDrawRegistryOwner(DrawChainError):
    """Only the notary's account (the registry's owner) commits and publishes."""

    code = "not_draw_registry_owner"
    status_code = 403


class DrawAlreadyCommitted(DrawChainError):
    code = "draw_already_committed"
    status_code = 409


class DrawNotCommitted(DrawChainError):
    code = "draw_not_committed"
    status_code = 409


class DrawAlreadyPublished(DrawChainError):
    """There is no re-draw: a draw has one result."""

    code = "draw_already_published"
    status_code = 409


class UnknownBeaconNetwork(DrawChainError):
    code = "unknown_beacon_network"
    status_code = 422


class BeaconRoundTooSoon(DrawChainError):
    """§3.1: the round must be published at least 60 s after the commit's block."""

    code = "beacon_round_too_soon"
    status_code = 422


class BeaconRoundNotPublished(DrawChainError):
    """A result before the used round's publication time (by the chain's clock)."""

    code = "beacon_round_not_published"
    status_code = 409


class BeaconRoundOutsideWindow(DrawChainError):
    """The used round is not within [round, round + fallback maxRounds]."""

    code = "beacon_round_outside_window"
    status_code = 422


class RevealMismatch(DrawChainError):
    """§3.2: the revealed secret does not hash to the committed notaryCommitment."""

    code = "reveal_mismatch"
    status_code = 422


_BY_REASON: dict[str, tuple[type[DrawChainError], str]] = {
    "not_owner": (NotDrawRegistryOwner, "only the notary's account may write draw records"),
    "draw_exists": (DrawAlreadyCommitted, "the draw is already committed"),
    "unknown_network": (UnknownBeaconNetwork, "the beacon network is not registered"),
    "round_too_soon": (
        BeaconRoundTooSoon,
        "the beacon round is published less than 60 s after the commit",
    ),
    "not_committed": (DrawNotCommitted, "the draw is not committed"),
    "already_published": (DrawAlreadyPublished, "the draw's result is already published"),
    "round_outside_window": (
        BeaconRoundOutsideWindow,
        "the beacon round used is outside the committed fallback window",
    ),
    "round_not_published": (
        BeaconRoundNotPublished,
        "the beacon round used is not yet published (by the chain's clock)",
    ),
    "bad_reveal": (RevealMismatch, "the revealed secret does not match the notary commitment"),
    "network_exists": (InvalidDrawRecord, "the beacon network is registered with other values"),
    "zero_hash": (InvalidDrawRecord, "a committed hash is zero"),
    "zero_count": (InvalidDrawRecord, "the candidate count is zero"),
    "zero_round": (InvalidDrawRecord, "the beacon round is zero"),
    "zero_draw_key": (InvalidDrawRecord, "the draw key is zero"),
    "zero_chain_hash": (InvalidDrawRecord, "the beacon chain hash is zero"),
    "zero_period": (InvalidDrawRecord, "the beacon period is zero"),
    "fallback_too_long": (InvalidDrawRecord, "the fallback window is longer than 10 rounds"),
}


def error_for_revert(reason: str | None, action: str) -> DrawChainError:
    """The error for the contract's revert ``reason`` while doing ``action``."""
    known = _BY_REASON.get(reason or "")
    if known is None:
        return DrawChainError(f"{action}: the draw registry refused ({reason or 'no reason'})")
    cls, text = known
    return cls(f"{action}: {text} ({reason})")
