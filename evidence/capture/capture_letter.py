"""The capture custody letter: an ``EvidenceCaptureCredential`` for a sealed capture.

Issue 15 item 6: "naming the session, the start and end times, the pre-flight digest, the
package digest and each key item's digest"; and, so that a court can check the package
with nothing but the letter, whether the session was interrupted (and why), the hash
chain's head and length (``docs/capture-hash-chain.md`` §4) and the WACZ signing key.
W3C VC Data Model 2.0 (https://www.w3.org/TR/vc-data-model-2.0/) as for the deposit's
letter (:mod:`evidence.deposit.letter`), whose evidence builders make the same
``RFC3161TimestampEvidence`` (a token over the package's SHA-256) and
``ChainAnchorEvidence`` (a receipt whose leaf is that SHA-256).

Terms: ``EvidenceCaptureCredential``, ``EvidenceCapture`` and ``captureId`` are the hub's
context v1's (frozen; a protected term cannot be redefined, JSON-LD 1.1 §4.1.11), the
other members its v2's (``credentials/jsonld/contexts/notary-hub-v2.jsonld``), named after
v1; ``digestMultibase`` is VC 2.0's (§5.3), the package's SHA-256 as for a deposit.

Why a verifier may trust the WACZ signature (WACZ Signing 0.1.0, anonymous variant,
https://specs.webrecorder.net/wacz-auth/0.1.0/): that signature names no identity, only
a public key. The letter carries that key (``waczPublicKey``, the base64 DER
SubjectPublicKeyInfo, P-384 so that ReplayWeb.page can import it) and the SHA-256 of the
``datapackage.json`` it signed (``datapackageDigestMultibase``), and the notary's VC proof
covers both. So: the consortium (or the verifier's pin) vouches for the notary's DID, the
DID's key for the letter, the letter for the WACZ key, and the WACZ key for
``datapackage.json``, which lists every file's SHA-256. The RFC 3161 token and the anchor
bound the package in time, independently of the notary.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from chain_adapter.anchoring.extra_receipts import ExtraReceipts
from chain_adapter.anchoring.receipt import AnchorReceipt
from credentials.jsonld.context_integrity import related_context
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1, NOTARY_HUB_V2
from credentials.vc_data_model import format_date_time
from evidence.capture.chain_entry import KINDS
from evidence.capture.errors import CaptureError
from evidence.deposit.letter import anchor_evidence, timestamp_evidence
from evidence.digests import SHA256, digest_multibase
from evidence.letter_issuer import LetterIssuer
from evidence.timestamping.protocol import TimestampToken

__all__ = [
    "CHAIN_PATH",
    "CREDENTIAL_TYPE",
    "SUBJECT_TYPE",
    "CaptureLetters",
    "InvalidSealedCapture",
    "KeyItem",
    "SealedCapture",
    "build_capture_letter",
    "capture_subject",
]

CREDENTIAL_TYPE = "EvidenceCaptureCredential"
SUBJECT_TYPE = "EvidenceCapture"
#: Where the hash chain sits in the package (:mod:`evidence.capture.wacz_package`).
CHAIN_PATH = "capture/chain.jsonl"
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_MAX_REASON = 500


class InvalidSealedCapture(CaptureError):
    """A sealed capture a letter cannot be issued for (a malformed member)."""

    code = "invalid_sealed_capture"
    status_code = 422


@dataclass(frozen=True)
class KeyItem:
    """A file of the package the user marked as key evidence (a screenshot, a clip, an
    original): its path in the package, its chain kind and its SHA-256."""

    path: str
    kind: str
    sha256: bytes


@dataclass(frozen=True)
class SealedCapture:
    """What a letter states of a sealed capture; every digest a raw SHA-256."""

    capture_id: str
    #: The user (a DID) the letter is issued to.
    subject: str
    started_at: datetime
    ended_at: datetime
    preflight_sha256: bytes
    #: Of the whole ``.wacz`` file.
    package_sha256: bytes
    #: Of ``datapackage.json``, the bytes the WACZ signature is over.
    datapackage_sha256: bytes
    #: ``publicKey`` of the WACZ ``signedData``: base64 DER SubjectPublicKeyInfo.
    wacz_public_key: str
    chain_head: str
    chain_length: int
    key_items: tuple[KeyItem, ...] = ()
    interrupted: bool = False
    interruption_reason: str | None = None
    target_url: str | None = None
    chain_path: str = CHAIN_PATH

    def __post_init__(self) -> None:
        digests = (self.preflight_sha256, self.package_sha256, self.datapackage_sha256)
        if any(len(d) != 32 for d in (*digests, *(i.sha256 for i in self.key_items))):
            raise InvalidSealedCapture("every digest is a 32-byte SHA-256")
        if not _HEX64.match(self.chain_head) or self.chain_length < 1:
            raise InvalidSealedCapture("the chain head is 64 hex digits of a non-empty chain")
        if self.started_at.tzinfo is None or self.ended_at < self.started_at:
            raise InvalidSealedCapture("the session ends after it starts, in UTC")
        if self.interrupted != (self.interruption_reason is not None):
            raise InvalidSealedCapture("an interrupted capture, and only one, states why")
        if self.interruption_reason is not None and len(self.interruption_reason) > _MAX_REASON:
            raise InvalidSealedCapture(f"the reason is at most {_MAX_REASON} characters")
        if any(item.kind not in KINDS for item in self.key_items):
            raise InvalidSealedCapture("a key item's kind is a chain entry kind")
        _check_key(self.wacz_public_key)


def _check_key(encoded: str) -> None:
    try:
        key = load_der_public_key(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise InvalidSealedCapture("the WACZ key is base64 DER SubjectPublicKeyInfo") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in (
        "secp256r1",
        "secp384r1",
    ):
        raise InvalidSealedCapture("the WACZ key is an ECDSA P-256 or P-384 key")


def _item(item: KeyItem) -> dict[str, str]:
    return {
        "itemPath": item.path,
        "itemKind": item.kind,
        "digestMultibase": digest_multibase(SHA256, item.sha256),
    }


def capture_subject(sealed: SealedCapture) -> dict[str, Any]:
    """The ``credentialSubject``: whose session, when, and what it sealed."""
    subject: dict[str, Any] = {
        "id": sealed.subject,
        "type": SUBJECT_TYPE,
        "captureId": sealed.capture_id,
        "captureStartedAt": format_date_time(sealed.started_at),
        "captureEndedAt": format_date_time(sealed.ended_at),
        "captureInterrupted": sealed.interrupted,
    }
    if sealed.interruption_reason is not None:
        subject["interruptionReason"] = sealed.interruption_reason
    if sealed.target_url is not None:
        subject["targetUrl"] = sealed.target_url
    subject.update(
        {
            "preflightDigestMultibase": digest_multibase(SHA256, sealed.preflight_sha256),
            "digestMultibase": digest_multibase(SHA256, sealed.package_sha256),
            "datapackageDigestMultibase": digest_multibase(SHA256, sealed.datapackage_sha256),
            "waczPublicKey": sealed.wacz_public_key,
            "hashChainPath": sealed.chain_path,
            "hashChainHead": sealed.chain_head,
            "hashChainLength": sealed.chain_length,
        }
    )
    if sealed.key_items:
        subject["keyItems"] = [_item(item) for item in sealed.key_items]
    return subject


def build_capture_letter(
    sealed: SealedCapture,
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
    """The unsigned ``EvidenceCaptureCredential`` the notary ``issuer`` (a DID) signs.

    ``token`` is over the package's SHA-256, ``receipt``'s leaf is it (and each of
    ``extra_receipts``', the same root on the extra chains, issue 16); ``context_url`` is
    where v1 is served (v2 beside it), recorded with both digests in ``relatedResource``.
    """
    leaves = {receipt.leaf, *(extra.leaf for extra in extra_receipts)}
    if token.message_imprint != sealed.package_sha256 or leaves != {sealed.package_sha256}:
        raise InvalidSealedCapture("the token and the anchor are over the package's SHA-256")
    v2_url = context_url.replace("/v1", "/v2") if context_url else None
    chain_url = (tsa_certificates or {}).get(token.tsa)
    return {
        "@context": [CREDENTIALS_V2, NOTARY_HUB_V1, NOTARY_HUB_V2],
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": format_date_time(valid_from or datetime.now(UTC)),
        "credentialSubject": capture_subject(sealed),
        "evidence": [
            timestamp_evidence(token, chain_url),
            anchor_evidence(receipt),
            *(anchor_evidence(extra) for extra in extra_receipts),
        ],
        "relatedResource": [
            *related_context(NOTARY_HUB_V1, context_url),
            *related_context(NOTARY_HUB_V2, v2_url),
        ],
    }


class CaptureLetters:
    """Signs capture letters with the notary's :class:`LetterIssuer` (service
    ``captures``: a letter signed again after a crash keeps its id)."""

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

    def issue(
        self, sealed: SealedCapture, token: TimestampToken, receipt: AnchorReceipt
    ) -> dict[str, Any]:
        """Signed, with a receipt per chain the package's root is anchored on by now."""
        unsigned = build_capture_letter(
            sealed,
            token,
            receipt,
            issuer=self._letters.did,
            credential_id=self._letters.letter_id(sealed.capture_id),
            context_url=self._context_url,
            tsa_certificates=self._tsa_certificates,
            extra_receipts=self._extra.receipts([receipt])[0] if self._extra else (),
        )
        return self._letters.issue([unsigned])[0]
