"""What a custody letter's page shows, extracted from the credential alone (pure).

The credential's shape is :mod:`evidence.deposit.letter` (VC Data Model 2.0; RFC 3161
token, anchor receipt). :func:`letter_facts` reads the timestamp's time and authority from
the token itself (RFC 3161 §2.4.2 ``TSTInfo.genTime`` and ``tsa``, with asn1crypto), not
from the letter's summary of it. The same function runs when the page is made and when a
PDF is verified (:mod:`.verify`): the page must show what the credential says.

:class:`PageNotes` are what the page adds that is not in the credential (the notary's
name, the status as checked when the PDF was made): shown, stored, never compared.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from asn1crypto import cms, tsp

from evidence.digests import SHA256, SM3, parse_digest
from evidence.errors import EvidenceError
from evidence.letter_pdf.errors import LetterNotSignable

TIMESTAMP_TYPE = "RFC3161TimestampEvidence"
ANCHOR_TYPE = "ChainAnchorEvidence"
VALID_AT_ISSUE = "valid at issue"


@dataclass(frozen=True)
class LetterFacts:
    letter_id: str
    issuer: str
    issued: str
    depositor: str
    file_name: str
    title: str
    size: str
    media_type: str
    sha256: str
    sm3: str
    deposited: str
    tsa_time: str
    tsa_name: str
    chain_id: str
    block_number: str
    transaction: str
    deposit_id: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class PageNotes:
    notary_name: str
    status: str
    verify_url: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


def _types(value: Mapping[str, Any]) -> list[str]:
    kinds = value.get("type")
    return [kinds] if isinstance(kinds, str) else [k for k in kinds or [] if isinstance(k, str)]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _hex_digest(subject: Mapping[str, Any], member: str, algorithm: str) -> str:
    value = subject.get(member)
    if not isinstance(value, str):
        return ""
    try:
        return parse_digest(value, algorithm).value.hex()
    except EvidenceError as exc:
        raise LetterNotSignable(f"credentialSubject.{member}: {exc.message}") from None


def _evidence(letter: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    listed = letter.get("evidence")
    entries = listed if isinstance(listed, list) else [listed]
    for entry in entries:
        if isinstance(entry, Mapping) and kind in _types(entry):
            return entry
    raise LetterNotSignable(f"the letter carries no {kind}")


def token_time_and_name(token_multibase: Any) -> tuple[str, str]:
    """(genTime ISO 8601, TSA name) of a multibase base64url RFC 3161 token."""
    if not isinstance(token_multibase, str) or not token_multibase.startswith("u"):
        raise LetterNotSignable("timeStampToken must be multibase base64url")
    body = token_multibase[1:]
    try:
        der = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        signed = cms.ContentInfo.load(der)["content"]
        info = signed["encap_content_info"]["content"].parsed
        if not isinstance(info, tsp.TSTInfo):
            raise ValueError("not a TSTInfo")
        gen_time = info["gen_time"].native.isoformat().replace("+00:00", "Z")
        tsa = info["tsa"]
        name = tsa.chosen.human_friendly if tsa.native is not None else ""
        if not name:
            certs = signed["certificates"]
            name = certs[0].chosen.subject.human_friendly if len(certs) else ""
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise LetterNotSignable(f"the timestamp token does not parse: {exc}") from None
    return gen_time, name


def letter_facts(letter: Any) -> LetterFacts:
    """The facts of ``letter`` (a signed ``DataDepositCredential``) the page shows;
    :class:`LetterNotSignable` if it lacks what a page needs."""
    if not isinstance(letter, Mapping):
        raise LetterNotSignable("a custody letter is a JSON object")
    subject = letter.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise LetterNotSignable("the letter has no credentialSubject")
    stamp = _evidence(letter, TIMESTAMP_TYPE)
    anchor = _evidence(letter, ANCHOR_TYPE)
    receipt = anchor.get("anchorReceipt")
    receipt = receipt if isinstance(receipt, Mapping) else {}
    tsa_time, tsa_name = token_time_and_name(stamp.get("timeStampToken"))
    issuer = letter.get("issuer")
    issuer = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return LetterFacts(
        letter_id=_text(letter.get("id")),
        issuer=_text(issuer),
        issued=_text(letter.get("validFrom")),
        depositor=_text(subject.get("id")),
        file_name=_text(subject.get("fileName")),
        title=_text(subject.get("title")),
        size=_text(subject.get("size")),
        media_type=_text(subject.get("mediaType")),
        sha256=_hex_digest(subject, "digestMultibase", SHA256),
        sm3=_hex_digest(subject, "sm3DigestMultibase", SM3),
        deposited=_text(subject.get("receivedAt")),
        tsa_time=tsa_time,
        tsa_name=tsa_name or _text(stamp.get("tsa")),
        chain_id=_text(anchor.get("chainId", receipt.get("chainId"))),
        block_number=_text(receipt.get("blockNumber")),
        transaction=_text(receipt.get("transactionHash")),
        deposit_id=_text(subject.get("depositId")),
    )
