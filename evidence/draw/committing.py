"""The commit step: a draw's configuration, list and round on chain before the randomness exists.

Issue 14 item 4, ``docs/draw-algorithm.md`` §2-§3. From ``uploading`` with an accepted
list, once: the list must hold at least as many entries as prizes and someone in every
category, and the beacon round must be published at least the minimum lead after now
(the contract checks it again against its block). The commitment is timestamped
(RFC 3161, over :func:`commitment_digest`) first, then written to the draw registry;
only then does the draw become ``committed``. A commit that reached the chain but not
the database (a crash between) is found again on the next try: the chain's record, if it
is this draw's, is adopted instead of refused.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from evidence.draw.chain_record import DrawChainRecords
from evidence.draw.config import DrawConfig, canonical_json, parse_config
from evidence.draw.errors import DrawStateConflict
from evidence.draw.models import DrawRecord, DrawState
from evidence.draw.selection import EntryStats, check_committable
from evidence.draw.service import DrawService
from evidence.principal import Principal
from evidence.timestamping.protocol import TimestampAuthority

log = logging.getLogger(__name__)

COMMITMENT_TAG = "notary-hub-draw/1 commitment"


def commitment_document(
    draw_id: str, config_hash: bytes, candidate_root: bytes, count: int, config: Mapping[str, Any]
) -> dict[str, Any]:
    """What the commit binds, as the RFC 3161 token's imprint covers it (JCS): all of it
    is in the public export, so anyone recomputes it."""
    return {
        "type": COMMITMENT_TAG,
        "drawId": draw_id,
        "configHash": config_hash.hex(),
        "candidateRoot": candidate_root.hex(),
        "count": count,
        "beaconRound": config["beacon"]["round"],
        "notaryCommitment": config["notaryCommitment"],
    }


def commitment_digest(
    draw_id: str, config_hash: bytes, candidate_root: bytes, count: int, config: Mapping[str, Any]
) -> bytes:
    """The SHA-256 the commitment's RFC 3161 token is over."""
    document = commitment_document(draw_id, config_hash, candidate_root, count, config)
    return hashlib.sha256(canonical_json(document)).digest()


def record_digest(record: DrawRecord) -> bytes:
    assert record.candidate_root is not None and record.entry_count is not None
    return commitment_digest(
        record.id, record.config_hash, record.candidate_root, record.entry_count, record.config
    )


def check_list(config: DrawConfig, record: DrawRecord) -> None:
    """§2 at commit: no fewer entries than prizes, nobody-in-it categories refused."""
    if record.entry_count is None or record.candidate_root is None:
        raise DrawStateConflict(f"draw {record.id} has no accepted list to commit: upload one")
    sizes = tuple(record.category_counts or ())
    check_committable(config, EntryStats(record.entry_count, sizes))


class DrawCommitter:
    def __init__(
        self, service: DrawService, records: DrawChainRecords, timestamps: TimestampAuthority
    ) -> None:
        self._service = service
        self._records = records
        self._timestamps = timestamps

    def commit(self, principal: Principal, draw_id: str) -> DrawRecord:
        service = self._service
        with service.step(draw_id):
            record = service.owned(principal, draw_id)
            service.require(record, DrawState.UPLOADING)
            config = parse_config(record.config)
            check_list(config, record)
            service.check_lead(config, service.clock())
            token = self._timestamps.timestamp(record_digest(record))
            assert record.candidate_root is not None and record.entry_count is not None
            chain = self._records.commit(config, record.candidate_root, record.entry_count)
            service.move(
                draw_id,
                (DrawState.UPLOADING,),
                state=DrawState.COMMITTED,
                commitment=chain,
                timestamp_token=token.token,
                tsa=token.tsa,
                committed_at=service.clock(),
            )
        log.info("draw committed", extra={"draw": draw_id, "tx": chain.get("commitTx")})
        return service.record(draw_id)
