"""The capture letter (``EvidenceCaptureCredential``) built for a real sealed capture: its
members, its evidence in the custody letter's exact shapes, its terms all defined by the
hub's contexts, an interrupted session stated and verifiable, malformed input refused, and
the capture terms reserved from the VC API."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credentials.issuing_policy import ReservedCredential, check_caller_credential
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1, NOTARY_HUB_V2
from credentials.jsonld.strict import check_terms
from evidence.capture.capture_letter import (
    CREDENTIAL_TYPE,
    InvalidSealedCapture,
    KeyItem,
    SealedCapture,
    build_capture_letter,
)
from evidence.capture.wacz_signing import public_key_base64
from evidence.deposit.letter import anchor_evidence, timestamp_evidence
from evidence.digests import SHA256, digest_multibase
from tests.evidence.capture.letter_support import (
    USER,
    LetterWorld,
    letter_world,
    sealed_capture,
)

__all__ = ["letter_world"]


@pytest.fixture(scope="module")
def sealed(letter_world: LetterWorld) -> SealedCapture:
    built = letter_world.package("letter.wacz")
    return sealed_capture(built.path, letter_world.wacz_key.public_key())


def test_the_letter_names_the_session_package_and_items(
    letter_world: LetterWorld, sealed: SealedCapture
) -> None:
    token = letter_world.tsa.timestamp(sealed.package_sha256, hash_algorithm="sha256")
    receipt = letter_world.anchor(sealed.package_sha256)
    letter = build_capture_letter(
        sealed, token, receipt, issuer="did:example:notary", context_url="https://hub/contexts/v1"
    )
    assert letter["@context"] == [CREDENTIALS_V2, NOTARY_HUB_V1, NOTARY_HUB_V2]
    assert letter["type"] == ["VerifiableCredential", CREDENTIAL_TYPE]
    # The custody letter's evidence, made by its own builders.
    assert letter["evidence"] == [timestamp_evidence(token), anchor_evidence(receipt)]
    related = [r["id"] for r in letter["relatedResource"]]
    assert related == [
        NOTARY_HUB_V1,
        "https://hub/contexts/v1",
        NOTARY_HUB_V2,
        "https://hub/contexts/v2",
    ]
    subject = letter["credentialSubject"]
    assert subject["id"] == USER and subject["type"] == "EvidenceCapture"
    assert subject["captureId"] == sealed.capture_id
    assert subject["captureInterrupted"] is False and "interruptionReason" not in subject
    assert subject["digestMultibase"] == digest_multibase(SHA256, sealed.package_sha256)
    assert subject["datapackageDigestMultibase"] == digest_multibase(
        SHA256, sealed.datapackage_sha256
    )
    assert subject["waczPublicKey"] == public_key_base64(letter_world.wacz_key.public_key())
    assert (subject["hashChainHead"], subject["hashChainLength"]) == (sealed.chain_head, 7)
    assert [item["itemPath"] for item in subject["keyItems"]] == [
        "screenshots/shot-0001.png",
        "originals/terms.pdf",
    ]
    assert check_terms(letter) == []  # every member is a term of the contexts named


def test_an_interrupted_capture_says_so_and_verifies(letter_world: LetterWorld) -> None:
    built = letter_world.package("interrupted.wacz")
    why = "the hub stopped during the session; sealed on restart"
    letter = letter_world.seal(built.path, interrupted=True, interruption_reason=why)
    subject = letter["credentialSubject"]
    assert subject["captureInterrupted"] is True and subject["interruptionReason"] == why
    assert letter["id"] == letter_world.issuer().letter_id(subject["captureId"])
    result = letter_world.verifier().verify(letter, built.path)
    assert result.verified, result.errors


def _other_key(kind: str) -> str:
    key: Any = (
        ec.generate_private_key(ec.SECP521R1())
        if kind == "p521"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    spki = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(spki).decode()


@pytest.mark.parametrize(
    "change",
    [
        {"package_sha256": b"short"},
        {"key_items": (KeyItem("originals/a.pdf", "original", bytes(31)),)},
        {"key_items": (KeyItem("originals/a.pdf", "bookmark", bytes(32)),)},
        {"chain_head": "G" * 64},
        {"chain_length": 0},
        {"interrupted": True},
        {"interruption_reason": "no reason to state"},
        {"interrupted": True, "interruption_reason": "x" * 501},
        {"wacz_public_key": "not base64!"},
        {"wacz_public_key": "p521"},
        {"wacz_public_key": "rsa"},
        {"ended_at": "before"},
    ],
    ids=lambda change: "-".join(change),
)
def test_a_malformed_sealed_capture_is_refused(
    sealed: SealedCapture, change: dict[str, Any]
) -> None:
    if change.get("wacz_public_key") in ("p521", "rsa"):
        change = {"wacz_public_key": _other_key(change["wacz_public_key"])}
    if change.get("ended_at") == "before":
        change = {"ended_at": sealed.started_at - timedelta(seconds=1)}
    with pytest.raises(InvalidSealedCapture):
        replace(sealed, **change)


def test_evidence_over_another_digest_is_refused(
    letter_world: LetterWorld, sealed: SealedCapture
) -> None:
    other = hashlib.sha256(b"another package").digest()
    token = letter_world.tsa.timestamp(other, hash_algorithm="sha256")
    receipt = letter_world.anchor(sealed.package_sha256)
    with pytest.raises(InvalidSealedCapture):
        build_capture_letter(sealed, token, receipt, issuer="did:example:notary")


@pytest.mark.parametrize(
    ("kind", "member"),
    [(CREDENTIAL_TYPE, "captureId"), ("VerifiableCredential", "hashChainHead")],
)
def test_the_vc_api_refuses_capture_terms(kind: str, member: str) -> None:
    credential = {
        "@context": [CREDENTIALS_V2, NOTARY_HUB_V1, NOTARY_HUB_V2],
        "type": ["VerifiableCredential", kind] if kind != "VerifiableCredential" else [kind],
        "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "credentialSubject": {"id": "did:example:1", member: "forged"},
    }
    with pytest.raises(ReservedCredential):
        check_caller_credential(credential)


def test_a_receipt_per_chain(letter_world: LetterWorld, sealed: SealedCapture) -> None:
    """Issue 16: the package's root on an extra chain is one more anchor evidence; a
    receipt of another leaf is refused."""
    token = letter_world.tsa.timestamp(sealed.package_sha256, hash_algorithm="sha256")
    receipt = letter_world.anchor(sealed.package_sha256)
    extra = replace(receipt, chain_id=4242, transaction_hash="0x" + "55" * 32)
    letter = build_capture_letter(
        sealed, token, receipt, issuer="did:example:notary", extra_receipts=[extra]
    )
    assert letter["evidence"][1:] == [anchor_evidence(receipt), anchor_evidence(extra)]
    assert check_terms(letter) == []
    other = replace(extra, leaf=bytes(32))
    with pytest.raises(InvalidSealedCapture):
        build_capture_letter(
            sealed, token, receipt, issuer="did:example:notary", extra_receipts=[other]
        )
