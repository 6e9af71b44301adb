"""The draw step: the beacon round, the notary's reveal, the seed, the selection, the result.

Issue 14 items 5, 6 and 8, ``docs/draw-algorithm.md`` §3-§5. From ``committed`` only,
once, and never before the committed round is published. The round comes from the
configured relays under the committed fallback rule, or pasted by an operator (verified
just the same: signature, round, ``randomness = H(signature)``). The notary's secret
comes out of the key store and must hash to ``notaryCommitment``; the declared public
values are given now. Then the seed (§4.1), the selection over the mapped
``entries.bin`` (§4), the result (§5) written to ``result.jsonl``, its root on chain
with the reveal, and only then is the draw ``drawn``. There is no re-draw: a second
request is refused, and the chain refuses a second result.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence.draw.beacon_errors import BeaconNotPublished
from evidence.draw.beacon_relays import VerifiedBeacon, fetch_draw_beacon, parse_pasted_beacon
from evidence.draw.candidates import open_entries
from evidence.draw.chain_record import DrawChainRecords, beacon_of
from evidence.draw.config import DrawConfig, parse_config
from evidence.draw.drand import round_time
from evidence.draw.errors import InvalidReveal
from evidence.draw.models import DrawRecord, DrawState
from evidence.draw.registry import DrawResult
from evidence.draw.result import ResultEntry, result_root, winner_count, write_result
from evidence.draw.seed import draw_seed, notary_commitment, public_hash
from evidence.draw.selection import draw
from evidence.draw.service import DrawService
from evidence.draw.service_errors import InvalidDrawRequest
from evidence.principal import Principal

log = logging.getLogger(__name__)

RESULT_FILE = "result.jsonl"


@dataclass(frozen=True)
class DrawRequest:
    """What the operator may bring: a pasted beacon, the declared public values."""

    beacon: Mapping[str, Any] | None = None
    public_values: tuple[str, ...] = ()

    @classmethod
    def parse(cls, body: object) -> DrawRequest:
        if body is None:
            return cls()
        if not isinstance(body, dict) or set(body) - {"beacon", "publicValues"}:
            raise InvalidDrawRequest("a draw request is {} or {'beacon', 'publicValues'}")
        beacon = body.get("beacon")
        if beacon is not None and not isinstance(beacon, dict):
            raise InvalidDrawRequest("beacon must be the round's JSON object, as relays serve it")
        values = body.get("publicValues", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidDrawRequest("publicValues must be an array of strings")
        return cls(beacon, tuple(values))


class DrawRunner:
    def __init__(
        self,
        service: DrawService,
        records: DrawChainRecords,
        *,
        relays: Sequence[str],
        relay_timeout: float = 5.0,
        on_drawn: Callable[[str], None] | None = None,
    ) -> None:
        self._service = service
        self._records = records
        self._relays = tuple(relays)
        self._timeout = relay_timeout
        self._on_drawn = on_drawn

    def run(self, principal: Principal, draw_id: str, body: object = None) -> DrawRecord:
        request = DrawRequest.parse(body)
        service = self._service
        with service.step(draw_id):
            record = service.owned(principal, draw_id)
            service.require(record, DrawState.COMMITTED)
            config = parse_config(record.config)
            secret = self._reveal(config, draw_id, request)
            beacon = self._beacon(config, request)
            self._draw(record, config, beacon, secret, request.public_values)
        service.forget_secret(draw_id)
        log.info("draw drawn", extra={"draw": draw_id, "round": beacon.round})
        if self._on_drawn is not None:  # the letters: signed aside, or when first asked for
            threading.Thread(
                target=self._on_drawn, args=(draw_id,), name=f"draw-{draw_id}", daemon=True
            ).start()
        return service.record(draw_id)

    def _reveal(self, config: DrawConfig, draw_id: str, request: DrawRequest) -> bytes:
        if len(request.public_values) != len(config.public_values):
            raise InvalidReveal(
                f"the configuration declares {len(config.public_values)} public values; "
                f"{len(request.public_values)} were given"
            )
        secret = self._service.secret(draw_id)
        if not hmac.compare_digest(notary_commitment(secret), config.notary_commitment):
            raise InvalidReveal("the notary's secret does not match notaryCommitment")
        return secret

    def _beacon(self, config: DrawConfig, request: DrawRequest) -> VerifiedBeacon:
        cfg = beacon_of(config)
        now = self._service.clock().timestamp()
        due = round_time(cfg, cfg.round)
        if now < due:
            wait = max(1, int(due - now) + 1)
            raise BeaconNotPublished(
                f"beacon round {cfg.round} is published at unix time {due}: draw after it",
                headers={"Retry-After": str(wait)},
            )
        if request.beacon is not None:
            return parse_pasted_beacon(cfg, json.dumps(request.beacon))
        return fetch_draw_beacon(
            cfg,
            self._relays,
            timeout=self._timeout,
            clock=lambda: self._service.clock().timestamp(),
        )

    def _draw(
        self,
        record: DrawRecord,
        config: DrawConfig,
        beacon: VerifiedBeacon,
        secret: bytes,
        public_values: tuple[str, ...],
    ) -> None:
        service = self._service
        assert record.candidate_root is not None and record.entry_count is not None
        seed = draw_seed(
            config_hash=record.config_hash,
            candidate_root=record.candidate_root,
            count=record.entry_count,
            beacon_randomness=beacon.randomness,
            secret=secret,
            public_values_hash=public_hash(public_values),
        )
        entries = open_entries(service.entries_path(record.id))
        result = draw(config, entries, seed)
        root, winners = result_root(result), winner_count(result)
        _write_result(service.draw_dir(record.id) / RESULT_FILE, result)
        on_chain = DrawResult(beacon.round, beacon.randomness, secret, seed, root, winners)
        tx = self._records.publish(record.id, on_chain)
        service.move(
            record.id,
            (DrawState.COMMITTED,),
            state=DrawState.DRAWN,
            beacon=beacon.to_json(),
            reveal={"secret": secret.hex(), "publicValues": list(public_values)},
            seed=seed,
            result_root=root,
            winners=winners,
            result_tx=tx,
            drawn_at=service.clock(),
        )


def _write_result(path: Path, result: list[ResultEntry]) -> None:
    """``result.jsonl``, written whole then renamed into place."""
    partial = path.with_suffix(".partial")
    with partial.open("wb") as stream:
        write_result(stream, result)
        stream.flush()
        os.fsync(stream.fileno())
    partial.replace(path)
