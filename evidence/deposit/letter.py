"""The custody letter (保管函): an unsigned ``DataDepositCredential`` for a deposit.

W3C Verifiable Credentials Data Model 2.0 (https://www.w3.org/TR/vc-data-model-2.0/):
§4.3 ``@context``, §4.4 ``id`` (a ``urn:uuid:``), §4.5 ``type``, §4.7 ``issuer``,
§4.8 ``credentialSubject``, §4.9 ``validFrom``, §5.6 ``evidence``; §5.3 "Integrity of
Related Resources" for ``digestMultibase`` (a multibase multihash, see
:mod:`evidence.digests`) and ``relatedResource`` (the hub context's ``digestSRI``, see
:mod:`credentials.jsonld.context_integrity`). Every other term comes from the hub's context
``https://w3id.org/notary-hub/v1`` (``credentials/jsonld/contexts/notary-hub-v1.jsonld``):
the ``DataDeposit`` subject, ``RFC3161TimestampEvidence`` and ``ChainAnchorEvidence``.

The timestamp token is the DER ``TimeStampToken`` of RFC 3161 §2.4.2 in multibase
base64url (``u``, no padding). The anchor receipt is
:meth:`chain_adapter.anchoring.receipt.AnchorReceipt.to_json`; its ``leaf`` is the
content's SHA-256 (see :mod:`evidence.deposit.pipeline`). A token of the hub's embedded
TSA names where its certificate chain is served (``tsaCertificates``, ``GET /tsa/certs``,
PEM as ``application/pem-certificate-chain``, RFC 8555 §9.1), so that a verifier can
fetch the root it chooses to trust; letters without it verify as before. Signing and the
status entry are the issuer's business; this module only builds the document.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.receipt import AnchorReceipt
from credentials.jsonld.context_integrity import related_context
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1
from credentials.vc_data_model import format_date_time
from evidence.deposit.models import DepositRecord
from evidence.digests import SHA256, SM3, digest_multibase
from evidence.letter_issuer import LetterIssuer
from evidence.timestamping.protocol import TimestampToken
from hub_kernel.multiformats import BASE64URL, multibase_encode

CREDENTIAL_TYPE = "DataDepositCredential"
SUBJECT_TYPE = "DataDeposit"
TIMESTAMP_EVIDENCE_TYPE = "RFC3161TimestampEvidence"
ANCHOR_EVIDENCE_TYPE = "ChainAnchorEvidence"

# RFC 3161 tokens name their imprint algorithm in asn1crypto's spelling; the letter uses
# the IANA "Hash Function Textual Names" registry's, as the receipt's hashAlgorithm does.
_HASH_NAMES = {"sha256": "sha-256", "sha384": "sha-384", "sha512": "sha-512"}


def deposit_subject(record: DepositRecord) -> dict[str, Any]:
    """The ``credentialSubject``: who deposited what, and when it was received."""
    subject: dict[str, Any] = {
        "id": record.depositor,
        "type": SUBJECT_TYPE,
        "depositId": record.id,
    }
    optional = {
        "title": record.title,
        "description": record.description,
        "fileName": record.file_name,
        "mediaType": record.media_type,
        "size": record.size,
    }
    subject.update({name: value for name, value in optional.items() if value is not None})
    subject["digestMultibase"] = digest_multibase(SHA256, record.sha256)
    if record.sm3 is not None:
        subject["sm3DigestMultibase"] = digest_multibase(SM3, record.sm3)
    subject["contentStored"] = record.content_stored
    if record.tags:
        subject["tags"] = list(record.tags)
    subject["receivedAt"] = format_date_time(record.received_at)
    return subject


def timestamp_evidence(
    token: TimestampToken, certificates_url: str | None = None
) -> dict[str, Any]:
    """The ``RFC3161TimestampEvidence`` of ``token``; ``certificates_url`` serves its chain."""
    evidence = {
        "type": [TIMESTAMP_EVIDENCE_TYPE],
        "timeStampToken": multibase_encode(token.token, BASE64URL),
        "genTime": format_date_time(token.gen_time),
        "tsa": token.tsa,
        "hashAlgorithm": _HASH_NAMES.get(token.hash_algorithm, token.hash_algorithm),
        # A decimal string: serial numbers run to 160 bits, beyond JSON's safe integers.
        "serialNumber": str(token.serial_number),
    }
    if certificates_url is not None:
        evidence["tsaCertificates"] = certificates_url
    return evidence


def anchor_evidence(receipt: AnchorReceipt) -> dict[str, Any]:
    return {
        "type": [ANCHOR_EVIDENCE_TYPE],
        "chainId": receipt.chain_id,
        "anchoredAt": format_date_time(datetime.fromtimestamp(receipt.block_timestamp, UTC)),
        "anchorReceipt": receipt.to_json(),
    }


def build_custody_letter(
    record: DepositRecord,
    token: TimestampToken,
    receipt: AnchorReceipt,
    *,
    issuer: str,
    valid_from: datetime | None = None,
    credential_id: str | None = None,
    context_url: str | None = None,
    tsa_certificates: Mapping[str, str] | None = None,
    extra_receipts: Sequence[AnchorReceipt] = (),
) -> dict[str, Any]:
    """The unsigned ``DataDepositCredential`` the notary ``issuer`` (a DID) signs for ``record``.

    ``receipt`` is the primary chain's; ``extra_receipts`` the same root's on the extra
    chains (issue 16), each one more ``ChainAnchorEvidence``: a receipt per chain.

    ``relatedResource`` (VC Data Model 2.0 §5.3) records the SHA-384 of the hub's
    context under its ``@context`` URL, and under ``context_url`` (where it can be
    fetched) when given: a verifier checks the copy it loads is the one signed with.
    ``tsa_certificates`` maps a TSA's name to the URL serving its chain (the embedded one).
    """
    chain_url = (tsa_certificates or {}).get(token.tsa)
    return {
        "@context": [CREDENTIALS_V2, NOTARY_HUB_V1],
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": format_date_time(valid_from or datetime.now(UTC)),
        "credentialSubject": deposit_subject(record),
        "evidence": [
            timestamp_evidence(token, chain_url),
            anchor_evidence(receipt),
            *(anchor_evidence(extra) for extra in extra_receipts),
        ],
        "relatedResource": related_context(NOTARY_HUB_V1, context_url),
    }


class DepositLetters:
    """The certify stage's batch letter issuer for deposits (``IssueLetters``); with
    ``extra_receipts``, a letter carries the receipts on the extra chains there are."""

    def __init__(
        self,
        letters: LetterIssuer,
        tsa_certificates: Mapping[str, str] | None = None,
        *,
        context_url: str | None = None,
        extra_receipts: ExtraReceipts | None = None,
    ) -> None:
        self._letters = letters
        self._tsa_certificates = dict(tsa_certificates or {})
        self._context_url = context_url
        self._extra = extra_receipts

    def __call__(
        self, work: Sequence[tuple[DepositRecord, TimestampToken, AnchorReceipt]]
    ) -> list[dict[str, Any]]:
        primary = [receipt for _, _, receipt in work]
        extras = self._extra.receipts(primary) if self._extra else [() for _ in work]
        unsigned = [
            build_custody_letter(
                record,
                token,
                receipt,
                issuer=self._letters.did,
                credential_id=self._letters.letter_id(record.id),
                context_url=self._context_url,
                tsa_certificates=self._tsa_certificates,
                extra_receipts=more,
            )
            for (record, token, receipt), more in zip(work, extras, strict=True)
        ]
        return self._letters.issue(unsigned)
