"""What a draw letter claims, parsed for :mod:`evidence.draw.letter_verification`.

The subject's values (``docs/draw-algorithm.md`` §3.1, §5), the chain record its
``ChainAnchorEvidence`` carries, its RFC 3161 evidence, and the values the
``DrawRegistry`` holds in the same shape (:func:`receipt_values`), to compare member
by member.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credentials.errors import MalformedCredential
from evidence.deposit.letter import ANCHOR_EVIDENCE_TYPE, TIMESTAMP_EVIDENCE_TYPE
from evidence.deposit.letter_verification import types_of
from evidence.digests import SHA256, parse_digest
from evidence.draw.committing import commitment_digest
from evidence.draw.registry import DrawRecord
from evidence.errors import EvidenceError


@dataclass(frozen=True)
class LetterClaims:
    """What a draw letter says, parsed: its subject's values and its chain receipt."""

    draw_id: str
    result_root: bytes | None  # None: an entry receipt, over the commitment alone
    receipt: Mapping[str, Any]
    stamps: list[Mapping[str, Any]]
    subject: Mapping[str, Any]


def subject_digest(subject: Mapping[str, Any], member: str) -> bytes:
    value = subject.get(member)
    if not isinstance(value, str):
        raise MalformedCredential(f"credentialSubject.{member} is missing")
    try:
        return parse_digest(value, SHA256).value
    except EvidenceError as exc:
        raise MalformedCredential(f"credentialSubject.{member}: {exc.message}") from None


def letter_claims(letter: Mapping[str, Any], context: str, *, entry: bool = False) -> LetterClaims:
    """The letter's claims; :class:`MalformedCredential` for what a draw letter must have."""
    contexts = letter.get("@context")
    if not isinstance(contexts, list) or context not in contexts:
        raise MalformedCredential(f"a draw letter's @context names {context}")
    subject = letter.get("credentialSubject")
    if not isinstance(subject, Mapping) or not isinstance(subject.get("drawId"), str):
        raise MalformedCredential("the letter has no credentialSubject.drawId")
    evidence = letter.get("evidence")
    listed = evidence if isinstance(evidence, list) else [evidence]
    entries = [e for e in listed if isinstance(e, Mapping)]
    anchors = [e for e in entries if ANCHOR_EVIDENCE_TYPE in types_of(e)]
    receipt = anchors[0].get("anchorReceipt") if len(anchors) == 1 else None
    if not isinstance(receipt, Mapping):
        raise MalformedCredential("a draw letter carries one chain record (anchorReceipt)")
    return LetterClaims(
        draw_id=subject["drawId"],
        result_root=None if entry else subject_digest(subject, "winnersDigestMultibase"),
        receipt={**receipt, "chainId": anchors[0].get("chainId")},
        stamps=[e for e in entries if TIMESTAMP_EVIDENCE_TYPE in types_of(e)],
        subject=subject,
    )


def receipt_values(record: DrawRecord, *, with_result: bool = True) -> dict[str, Any]:
    """The receipt's members as the chain holds them (:func:`evidence.draw.letters.
    chain_evidence` writes the same; ``commitment_evidence`` those without the result)."""
    c, r = record.commitment, record.result if with_result else None
    values: dict[str, Any] = {
        "commitBlock": record.committed_block,
        "configHash": c.config_hash.hex(),
        "candidateRoot": c.candidate_root.hex(),
        "count": c.count,
        "sourcesHash": c.sources_hash.hex(),
        "beaconChainHash": c.beacon_chain_hash.hex(),
        "beaconRound": c.round,
        "notaryCommitment": c.notary_commitment.hex(),
    }
    if r is not None:
        values |= {
            "resultBlock": r.published_block,
            "usedRound": r.used_round,
            "beaconRandomness": r.beacon_randomness.hex(),
            "seed": r.seed.hex(),
            "resultRoot": r.result_root.hex(),
            "winners": r.winners,
        }
    return values


def subject_of(letter: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = letter.get("credentialSubject")
    return subject if isinstance(subject, Mapping) else {}


def commitment_of(claims: LetterClaims) -> bytes:
    """The SHA-256 the commitment's token is over, from what the letter says."""
    receipt, subject = claims.receipt, claims.subject
    try:
        config_hash = bytes.fromhex(str(receipt["configHash"]))
        config = {
            "beacon": {"round": receipt["beaconRound"]},
            "notaryCommitment": receipt["notaryCommitment"],
        }
        count = subject["entrantCount"]
    except (KeyError, ValueError):
        raise MalformedCredential("the letter does not describe its commitment") from None
    candidate_root = subject_digest(subject, "entrantsDigestMultibase")
    return commitment_digest(claims.draw_id, config_hash, candidate_root, count, config)
