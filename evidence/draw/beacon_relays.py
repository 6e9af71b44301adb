"""Obtaining the draw's beacon round: from drand relays, or pasted by an operator
(``docs/draw-algorithm.md`` §3.1).

A relay is only a courier: whatever it serves is verified by :mod:`evidence.draw.drand`
(signature, round, ``randomness = H(signature)``) before it is used, so a relay that
lies, serves garbage or hangs costs a timeout and the next relay, never a wrong draw.
drand's HTTP API: ``GET {relay}/{chainhash}/public/{round}`` answers
``{"round", "randomness", "signature"}``. An air-gapped operator pastes that JSON
instead (:func:`parse_pasted_beacon`); it is verified just the same.

With the ``next-round`` fallback a round no relay can serve once its time has come gives
way to the next one of the committed window; ``wait`` never moves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from evidence.draw.beacon_errors import BeaconNotPublished, BeaconUnavailable, InvalidBeacon
from evidence.draw.drand import (
    Beacon,
    BeaconConfig,
    acceptable_rounds,
    parse_beacon,
    round_time,
    verify_beacon,
)

__all__ = [
    "MAX_BEACON_JSON",
    "VerifiedBeacon",
    "fetch_draw_beacon",
    "fetch_round",
    "parse_pasted_beacon",
]

MAX_BEACON_JSON = 16_384  # a round is ~250 bytes; anything much larger is not a beacon
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class VerifiedBeacon:
    """A round that verified against the draw's beacon configuration."""

    beacon: Beacon
    source: str  # the relay's base URL, or "pasted"

    @property
    def round(self) -> int:
        return self.beacon.round

    @property
    def randomness(self) -> bytes:
        return self.beacon.randomness

    def to_json(self) -> dict[str, object]:
        """``beacon.json`` of the export (§6): the round as a relay serves it."""
        return self.beacon.to_json()


def fetch_round(
    cfg: BeaconConfig,
    round: int,
    relays: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> VerifiedBeacon:
    """Round ``round`` of ``cfg``'s chain from the first relay whose answer verifies.

    :class:`BeaconNotPublished` before the round's time (or when every relay says it is
    too early), :class:`BeaconUnavailable` (naming each relay's failure) otherwise.
    """
    if not relays:
        raise BeaconUnavailable("no beacon relay is configured")
    due = round_time(cfg, round)
    if clock() < due:
        raise BeaconNotPublished(f"beacon round {round} is published at {due} (unix time)")
    failures: list[str] = []
    too_early = 0
    with httpx.Client(timeout=timeout, transport=transport, follow_redirects=False) as client:
        for relay in relays:
            base = relay.rstrip("/")
            try:
                url = f"{base}/{cfg.chain_hash.hex()}/public/{round}"
                body = _get_round(client, url, time.monotonic() + timeout)
                verify_beacon(cfg, body, expected_round=round)
            except _TooEarly:
                too_early += 1
                failures.append(f"{base}: round not yet published")
            except (httpx.HTTPError, _RelayFailure, InvalidBeacon) as exc:
                failures.append(f"{base}: {_describe(exc)}")
            else:
                return VerifiedBeacon(parse_beacon(body), source=base)
    if too_early == len(relays):
        raise BeaconNotPublished(f"beacon round {round}: {'; '.join(failures)}")
    raise BeaconUnavailable(f"beacon round {round} unavailable: {'; '.join(failures)}")


def fetch_draw_beacon(
    cfg: BeaconConfig,
    relays: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.time,
    transport: httpx.BaseTransport | None = None,
) -> VerifiedBeacon:
    """The round the draw uses under its fallback rule (§3.1).

    ``wait``: the committed round, or the error of fetching it. ``next-round``: the
    first round of the window that can be obtained; a later round not yet published
    raises :class:`BeaconNotPublished` (the caller waits), and a window exhausted
    raises :class:`BeaconUnavailable`.
    """
    unavailable: BeaconUnavailable | None = None
    for round in acceptable_rounds(cfg):
        try:
            return fetch_round(
                cfg, round, relays, timeout=timeout, clock=clock, transport=transport
            )
        except BeaconUnavailable as exc:
            unavailable = exc
    assert unavailable is not None  # the window holds at least the committed round
    raise unavailable


def parse_pasted_beacon(cfg: BeaconConfig, text: str | bytes) -> VerifiedBeacon:
    """A beacon JSON pasted by an operator, accepted only if it verifies and its round is
    one the fallback rule allows (the committed round with ``wait``)."""
    if len(text) > MAX_BEACON_JSON:
        raise InvalidBeacon(f"a pasted beacon is at most {MAX_BEACON_JSON} bytes")
    try:
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidBeacon(f"the pasted beacon is not JSON: {exc}") from exc
    beacon = parse_beacon(body)
    window = acceptable_rounds(cfg)
    if beacon.round not in window:
        allowed = f"{window.start}" if len(window) == 1 else f"{window.start}..{window.stop - 1}"
        raise InvalidBeacon(f"beacon is round {beacon.round}, expected round {allowed}")
    verify_beacon(cfg, body, expected_round=beacon.round)
    return VerifiedBeacon(beacon, source="pasted")


class _TooEarly(Exception):
    """drand answers 425 Too Early for a round it has not produced yet."""


class _RelayFailure(Exception):
    """A relay answer that is not a beacon JSON (status, size, content)."""


def _get_round(client: httpx.Client, url: str, deadline: float) -> dict[str, object]:
    with client.stream("GET", url, headers={"Accept": "application/json"}) as response:
        if response.status_code == 425:
            raise _TooEarly
        if response.status_code != 200:
            raise _RelayFailure(f"HTTP {response.status_code}")
        raw = bytearray()
        for chunk in response.iter_bytes():
            raw += chunk
            if time.monotonic() > deadline:  # a relay trickling bytes stays under read timeouts
                raise _RelayFailure("timed out")
            if len(raw) > MAX_BEACON_JSON:
                raise _RelayFailure(f"answer larger than {MAX_BEACON_JSON} bytes")
    try:
        body = json.loads(bytes(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _RelayFailure("answer is not JSON") from exc
    if not isinstance(body, dict):
        raise _RelayFailure("answer is not a JSON object")
    return body


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, InvalidBeacon):
        return exc.message
    return str(exc) or type(exc).__name__
