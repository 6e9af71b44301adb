"""``DrawWinnerCredential``: one to each winner whose entrant identifier is a DID.

Issue 14 item 8. The winner is who the organiser's mapping names at a winning entry; when
that identifier is a DID (W3C DID Core §3.1 syntax), the notary signs the winner a
credential: the draw, the rank, the tier, the entry's index and leaf, the result root,
and the result letter it belongs to, with the draw's record on chain as evidence. Its
terms are the hub's context ``v2`` (``DrawWinner``; ``v1`` is frozen), named after ``v1``.

They are signed in batches after the result letter, and kept as one JSON Lines blob in
the encrypted blob store (they name the winners), which the organiser downloads and
hands on (``GET /draws/{id}/winner-credentials``). Nothing else of the mapping is read.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from credentials.vc_data_model import format_date_time
from evidence.digests import SHA256, digest_multibase
from evidence.draw.draw_signing import AfterDrawSigner, v2_contexts
from evidence.draw.drawing import RESULT_FILE
from evidence.draw.entrants import read_mapping
from evidence.draw.letters import chain_evidence
from evidence.draw.lists import ChunkStream
from evidence.draw.models import DrawRecord, DrawState
from evidence.draw.registry import DrawRecord as ChainDrawRecord
from evidence.draw.result import ResultEntry, iter_result
from evidence.principal import Principal

CREDENTIAL_TYPE = "DrawWinnerCredential"
SUBJECT_TYPE = "DrawWinner"
BATCH = 200
MAX_BLOB = 16 << 30
# W3C DID Core §3.1: did:method:method-specific-id
_DID = re.compile(r"did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2}|:)*[A-Za-z0-9._-]")


def is_did(value: str) -> bool:
    return len(value) <= 256 and _DID.fullmatch(value) is not None


def winner_subject(
    record: DrawRecord, entry: ResultEntry, did: str, result_id: str
) -> dict[str, Any]:
    assert record.result_root is not None
    tiers = record.config["tiers"]
    return {
        "id": did,
        "type": SUBJECT_TYPE,
        "drawId": record.id,
        "drawTitle": record.config["title"],
        "rank": entry.rank,
        "tier": entry.tier,
        "tierName": tiers[entry.tier - 1]["name"],
        "entryIndex": entry.index,
        "entryLeaf": entry.leaf.hex(),
        "winnersDigestMultibase": digest_multibase(SHA256, record.result_root),
        "drawResult": result_id,
    }


def build_winner_letter(
    record: DrawRecord,
    entry: ResultEntry,
    did: str,
    on_chain: ChainDrawRecord,
    *,
    issuer: str,
    credential_id: str,
    result_id: str,
    context_url: str | None = None,
) -> dict[str, Any]:
    """The unsigned ``DrawWinnerCredential`` of the winner ``did`` at ``entry``."""
    contexts, related = v2_contexts(context_url)
    return {
        "@context": contexts,
        "id": credential_id,
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": format_date_time(datetime.now(UTC)),
        "credentialSubject": winner_subject(record, entry, did, result_id),
        "evidence": [chain_evidence(record, on_chain)],
        "relatedResource": related,
    }


class WinnerLetters(AfterDrawSigner):
    what = "draw winner credentials"

    def issue(self, draw_id: str) -> int | None:
        """Sign every DID winner's credential and keep them: how many (None: kept before)."""
        with self._service.step(draw_id):
            record = self._service.record(draw_id)
            self._service.require(record, DrawState.DRAWN)
            if self._service.column(draw_id, "winner_letters_sha256") is not None:
                return None
            on_chain = self._on_chain(draw_id)
            writer = self._service.blobs.writer(max_size=MAX_BLOB)
            count = 0
            try:
                winners = list(self._did_winners(record))
                for start in range(0, len(winners), BATCH):
                    signed = self._sign(record, on_chain, winners[start : start + BATCH])
                    writer.write(b"".join(json.dumps(s).encode() + b"\n" for s in signed))
                    count += len(signed)
                stored = writer.commit()
            except BaseException:
                writer.abort()
                raise
            self._service.move(draw_id, (DrawState.DRAWN,), winner_letters_sha256=stored.sha256)
            return count

    def _did_winners(self, record: DrawRecord) -> Iterator[tuple[ResultEntry, str]]:
        with (self._service.draw_dir(record.id) / RESULT_FILE).open("rb") as stream:
            winners = {e.index: e for e in iter_result(stream) if e.tier > 0}
        mapping_sha256 = bytes(self._service.column(record.id, "mapping_sha256"))
        blob = self._service.blobs.open(mapping_sha256)
        rows = read_mapping(io.BufferedReader(ChunkStream(blob), 1 << 20))
        try:
            for index, entrant_id, _salt in rows:
                entry = winners.get(index)
                if entry is not None and is_did(entrant_id):
                    yield entry, entrant_id
        finally:
            for each in (rows, blob):  # generators: closing one stops its reads
                close = getattr(each, "close", None)
                if close is not None:
                    close()

    def _sign(
        self, record: DrawRecord, on_chain: ChainDrawRecord, batch: list[tuple[ResultEntry, str]]
    ) -> list[dict[str, Any]]:
        result_id = self._letters.letter_id(record.id)
        unsigned = [
            build_winner_letter(
                record,
                entry,
                did,
                on_chain,
                issuer=self._letters.did,
                credential_id=self._letters.letter_id(f"{record.id}/winner/{entry.rank}"),
                result_id=result_id,
                context_url=self._context_url,
            )
            for entry, did in batch
        ]
        return self._letters.issue(unsigned)

    def download(self, principal: Principal, draw_id: str) -> Iterator[bytes]:
        """The kept winner credentials (JSON Lines), signing them first if not yet done."""
        self._service.owned(principal, draw_id)
        self.issue(draw_id)
        digest = self._service.column(draw_id, "winner_letters_sha256")
        return self._service.blobs.open(bytes(digest))
