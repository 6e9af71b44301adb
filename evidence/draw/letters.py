"""The draw's result letter: an unsigned ``DrawResultCredential`` to the organiser.

Issue 14 item 8, in the style of the custody letter (:mod:`evidence.deposit.letter`):
W3C VC Data Model 2.0, issued by the notary through
:class:`~evidence.letter_issuer.LetterIssuer` (``service="draws"``), with the commitment's
RFC 3161 token and the chain's record as evidence.

Its terms are the hub's context ``https://w3id.org/notary-hub/v1``, which already defines
``DrawResultCredential`` and its ``DrawResult`` subject (``drawId``, ``entrantCount``,
``entrantsDigestMultibase``, ``seed``, ``algorithm``, ``winnersDigestMultibase``):
``v1`` is frozen (letters record its digest), so nothing is added to it. The candidate
root and the result root are RFC 9162 Merkle roots over SHA-256, written as sha2-256
multihashes in multibase; the rest of what the chain records for the draw (configuration
hash, sources hash, rounds, counts, transactions) is the ``ChainAnchorEvidence``'s
``anchorReceipt`` (a JSON literal in ``v1``), exactly as the ``DrawRegistry`` holds it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from credentials.jsonld.context_integrity import related_context
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1
from credentials.vc_data_model import format_date_time
from evidence.digests import SHA256, digest_multibase
from evidence.draw.committing import record_digest
from evidence.draw.draw_signing import AfterDrawSigner
from evidence.draw.models import DrawRecord, DrawState
from evidence.draw.registry import DrawRecord as ChainDrawRecord
from evidence.principal import Principal
from evidence.timestamping.verify import verify_token
from hub_kernel.multiformats import BASE64URL, multibase_encode

CREDENTIAL_TYPE = "DrawResultCredential"
SUBJECT_TYPE = "DrawResult"


def result_subject(record: DrawRecord) -> dict[str, Any]:
    assert record.candidate_root is not None and record.result_root is not None
    assert record.seed is not None and record.entry_count is not None
    return {
        "id": record.organiser,
        "type": SUBJECT_TYPE,
        "drawId": record.id,
        "algorithm": record.config["algorithm"],
        "entrantCount": record.entry_count,
        "entrantsDigestMultibase": digest_multibase(SHA256, record.candidate_root),
        "seed": record.seed.hex(),
        "winnersDigestMultibase": digest_multibase(SHA256, record.result_root),
    }


def timestamp_evidence(record: DrawRecord, token: bytes) -> dict[str, Any]:
    """The commitment's token (over :func:`~evidence.draw.committing.record_digest`)."""
    verified = verify_token(token, record_digest(record))
    return {
        "type": ["RFC3161TimestampEvidence"],
        "timeStampToken": multibase_encode(token, BASE64URL),
        "genTime": format_date_time(verified.gen_time),
        "tsa": record.tsa or verified.tsa_subject,
        "hashAlgorithm": "sha-256",
        "serialNumber": str(verified.serial_number),
    }


def commitment_evidence(record: DrawRecord, on_chain: ChainDrawRecord) -> dict[str, Any]:
    """The draw's commitment in the ``DrawRegistry``, as the chain holds it (§3.1)."""
    commitment = on_chain.commitment
    assert record.commitment is not None
    committed = datetime.fromtimestamp(on_chain.committed_at, UTC)
    return {
        "type": ["ChainAnchorEvidence"],
        "chainId": record.commitment["chainId"],
        "anchoredAt": format_date_time(committed),
        "anchorReceipt": {
            "contract": record.commitment["contract"],
            "drawKey": record.commitment["drawKey"],
            "commitTx": record.commitment.get("commitTx"),
            "commitBlock": on_chain.committed_block,
            "configHash": commitment.config_hash.hex(),
            "candidateRoot": commitment.candidate_root.hex(),
            "count": commitment.count,
            "sourcesHash": commitment.sources_hash.hex(),
            "beaconChainHash": commitment.beacon_chain_hash.hex(),
            "beaconRound": commitment.round,
            "notaryCommitment": commitment.notary_commitment.hex(),
        },
    }


def chain_evidence(record: DrawRecord, on_chain: ChainDrawRecord) -> dict[str, Any]:
    """The draw's record in the ``DrawRegistry``, as the chain holds it: the commitment
    and the result (anchored when the result was published)."""
    result = on_chain.result
    assert result is not None
    evidence = commitment_evidence(record, on_chain)
    evidence["anchoredAt"] = format_date_time(datetime.fromtimestamp(result.published_at, UTC))
    evidence["anchorReceipt"].update(
        resultTx=record.result_tx,
        resultBlock=result.published_block,
        usedRound=result.used_round,
        beaconRandomness=result.beacon_randomness.hex(),
        seed=result.seed.hex(),
        resultRoot=result.result_root.hex(),
        winners=result.winners,
    )
    return evidence


def build_result_letter(
    record: DrawRecord,
    token: bytes,
    on_chain: ChainDrawRecord,
    *,
    issuer: str,
    credential_id: str,
    context_url: str | None = None,
) -> dict[str, Any]:
    """The unsigned ``DrawResultCredential`` the notary ``issuer`` signs for ``record``."""
    return {
        "@context": [CREDENTIALS_V2, NOTARY_HUB_V1],
        "id": credential_id,
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": format_date_time(datetime.now(UTC)),
        "credentialSubject": result_subject(record),
        "evidence": [timestamp_evidence(record, token), chain_evidence(record, on_chain)],
        "relatedResource": related_context(NOTARY_HUB_V1, context_url),
    }


class DrawLetters(AfterDrawSigner):
    """A drawn draw's result letter, signed once and kept with the draw (its id is the
    draw's: signed again after a crash, it reuses its status entry)."""

    what = "draw result letter"

    def issue(self, draw_id: str) -> dict[str, Any]:
        """Sign and keep the result letter of a drawn draw (or return the one kept)."""
        with self._service.step(draw_id):
            record = self._service.record(draw_id)
            self._service.require(record, DrawState.DRAWN)
            kept = self._service.column(draw_id, "credential")
            if kept is not None:
                return dict(kept)
            on_chain = self._on_chain(draw_id)
            token = bytes(self._service.column(draw_id, "timestamp_token"))
            unsigned = build_result_letter(
                record,
                token,
                on_chain,
                issuer=self._letters.did,
                credential_id=self._letters.letter_id(record.id),
                context_url=self._context_url,
            )
            letter = self._letters.issue([unsigned])[0]
            self._service.move(draw_id, (DrawState.DRAWN,), credential=letter)
            return letter

    def letter(self, principal: Principal, draw_id: str) -> dict[str, Any]:
        """The organiser's result letter."""
        self._service.owned(principal, draw_id)
        return self.issue(draw_id)
