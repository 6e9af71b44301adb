"""The unsigned custody letter: its shape, and that every term is defined by its contexts
(strict RDFC-1.0 canonicalization refuses a term that JSON-LD expansion would drop)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from chain_adapter.anchoring.receipt import AnchorReceipt
from chain_adapter.merkle import MerkleTree, hash_leaves
from credentials.jsonld.contexts import CREDENTIALS_V2, NOTARY_HUB_V1
from credentials.jsonld.rdfc import PyldCanonicalizer
from credentials.jsonld.strict import check_terms
from evidence.deposit.letter import build_custody_letter
from evidence.deposit.models import DepositRecord, DepositState
from evidence.digests import SHA256, SM3, digest_multibase, parse_digest
from evidence.timestamping import EmbeddedTimestampAuthority, TimestampToken, TsaKeyMaterial
from hub_kernel.keystore import MemoryKeyStore
from hub_kernel.multiformats import BASE64URL, multibase_encode

NOTARY = "did:ethr:0x539:0x1111111111111111111111111111111111111111"
DEPOSITOR = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
RECEIVED = datetime(2026, 11, 24, 8, 30, 15, 123456, tzinfo=UTC)


def record(content: bytes | None, **changes: object) -> DepositRecord:
    data = content if content is not None else b"kept by the platform"
    sm3 = hashes.Hash(hashes.SM3())
    sm3.update(data)
    values: dict[str, object] = {
        "id": "dep-" + os.urandom(8).hex(),
        "depositor": DEPOSITOR,
        "platform": "api-token",
        "title": "购销合同",
        "description": None,
        "tags": ("contract", "2026"),
        "media_type": "application/pdf",
        "file_name": "合同.pdf",
        "size": len(data) if content is not None else None,
        "sha256": hashlib.sha256(data).digest(),
        "sm3": sm3.finalize(),
        "content_stored": content is not None,
        "state": DepositState.ANCHORED,
        "received_at": RECEIVED,
        "timestamped_at": RECEIVED,
        "anchored_at": RECEIVED,
        "certified_at": None,
        "tsa": "embedded",
        "gen_time": RECEIVED,
        "anchor_item_id": 7,
        "attempts": 0,
        "last_error": None,
    }
    values.update(changes)
    return DepositRecord(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedTimestampAuthority:
    directory: Path = tmp_path_factory.mktemp("tsa")
    return EmbeddedTimestampAuthority(TsaKeyMaterial.load_or_create(MemoryKeyStore(), directory))


def receipt_for(leaf: bytes) -> AnchorReceipt:
    leaves = [os.urandom(32), leaf, os.urandom(32)]
    tree = MerkleTree.from_leaves(hash_leaves(leaves))
    return AnchorReceipt(
        leaf=leaf,
        leaf_index=1,
        tree_size=3,
        audit_path=tuple(tree.inclusion_proof(1)),
        root=tree.root,
        kind="deposit",
        chain_id=1337,
        registry="0x" + "22" * 20,
        transaction_hash="0x" + "33" * 32,
        block_number=12,
        block_hash="0x" + "44" * 32,
        block_timestamp=1_790_000_000,
    )


def test_the_letter_carries_the_deposit_the_token_and_the_receipt(
    tsa: EmbeddedTimestampAuthority,
) -> None:
    deposit = record(b"%PDF-1.7 contract")
    token = tsa.timestamp(deposit.sha256)
    receipt = receipt_for(deposit.sha256)
    issued = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)
    letter = build_custody_letter(deposit, token, receipt, issuer=NOTARY, valid_from=issued)

    assert letter["@context"] == [CREDENTIALS_V2, NOTARY_HUB_V1]
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", letter["id"])
    assert letter["type"] == ["VerifiableCredential", "DataDepositCredential"]
    assert letter["issuer"] == NOTARY and letter["validFrom"] == "2026-11-24T09:00:00Z"
    assert letter["credentialSubject"] == {
        "id": DEPOSITOR,
        "type": "DataDeposit",
        "depositId": deposit.id,
        "title": "购销合同",
        "fileName": "合同.pdf",
        "mediaType": "application/pdf",
        "size": len(b"%PDF-1.7 contract"),
        "digestMultibase": digest_multibase(SHA256, deposit.sha256),
        "sm3DigestMultibase": digest_multibase(SM3, deposit.sm3 or b""),
        "contentStored": True,
        "tags": ["contract", "2026"],
        "receivedAt": "2026-11-24T08:30:15Z",
    }
    subject = letter["credentialSubject"]
    assert parse_digest(subject["digestMultibase"]).value == deposit.sha256
    stamp, anchor = letter["evidence"]
    assert stamp == {
        "type": ["RFC3161TimestampEvidence"],
        "timeStampToken": multibase_encode(token.token, BASE64URL),
        "genTime": token.gen_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tsa": "embedded",
        "hashAlgorithm": "sha-256",
        "serialNumber": str(token.serial_number),
    }
    encoded = stamp["timeStampToken"][1:]
    assert base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)) == token.token
    assert anchor == {
        "type": ["ChainAnchorEvidence"],
        "chainId": 1337,
        "anchoredAt": "2026-09-21T14:13:20Z",
        "anchorReceipt": receipt.to_json(),
    }
    other = build_custody_letter(deposit, token, receipt, issuer=NOTARY)
    assert other["id"] != letter["id"]


def test_a_digest_only_deposit_says_so_and_omits_what_is_unknown(
    tsa: EmbeddedTimestampAuthority,
) -> None:
    deposit = record(None, sm3=None, tags=(), title=None, file_name=None, media_type=None)
    letter = build_custody_letter(
        deposit, tsa.timestamp(deposit.sha256), receipt_for(deposit.sha256), issuer=NOTARY
    )
    subject = letter["credentialSubject"]
    assert subject["contentStored"] is False
    assert set(subject) == {
        "id",
        "type",
        "depositId",
        "digestMultibase",
        "contentStored",
        "receivedAt",
    }


@pytest.mark.parametrize("stored", [True, False], ids=["upload", "digest-only"])
def test_every_term_is_defined_by_the_contexts(
    tsa: EmbeddedTimestampAuthority, stored: bool
) -> None:
    deposit = record(b"content" if stored else None, description="line one\nline two")
    token: TimestampToken = tsa.timestamp(deposit.sha256)
    letter = build_custody_letter(deposit, token, receipt_for(deposit.sha256), issuer=NOTARY)
    canonical = PyldCanonicalizer().canonize(letter)
    assert "<https://w3id.org/notary-hub#timeStampToken>" in canonical
    assert "<https://w3id.org/notary-hub#anchorReceipt>" in canonical
    assert "<https://w3id.org/notary-hub#depositId>" in canonical
    assert "<https://w3id.org/security#digestMultibase>" in canonical


def test_the_letter_records_the_digest_of_the_hub_context(
    tsa: EmbeddedTimestampAuthority,
) -> None:
    """VC Data Model 2.0 §5.3: relatedResource names the context as @context does, and
    where it can be fetched, with the SHA-384 of the bundled (and served) bytes."""
    deposit = record(b"content")
    served = "https://hub.example/contexts/notary-hub/v1"
    letter = build_custody_letter(
        deposit, tsa.timestamp(deposit.sha256), receipt_for(deposit.sha256),
        issuer=NOTARY, context_url=served,
    )  # fmt: skip
    source = Path(__file__).resolve().parents[3] / "credentials/jsonld/contexts"
    digest = hashlib.sha384((source / "notary-hub-v1.jsonld").read_bytes()).digest()
    sri = "sha384-" + base64.b64encode(digest).decode()
    assert letter["relatedResource"] == [
        {"id": NOTARY_HUB_V1, "digestSRI": sri, "mediaType": "application/ld+json"},
        {"id": served, "digestSRI": sri, "mediaType": "application/ld+json"},
    ]
    canonical = PyldCanonicalizer().canonize(letter)
    assert f'"{sri}"^^<https://www.w3.org/2018/credentials#sriString>' in canonical
    plain = build_custody_letter(
        deposit, tsa.timestamp(deposit.sha256), receipt_for(deposit.sha256), issuer=NOTARY
    )
    assert [r["id"] for r in plain["relatedResource"]] == [NOTARY_HUB_V1]


def test_the_embedded_tsa_evidence_names_where_its_chain_is_served(
    tsa: EmbeddedTimestampAuthority,
) -> None:
    """Issue 11 item 4: ``tsaCertificates`` (an IRI) for the embedded TSA's tokens only."""
    deposit = record(b"content")
    token: TimestampToken = tsa.timestamp(deposit.sha256)
    url = "https://hub.example/tsa/certs"
    letter = build_custody_letter(
        deposit,
        token,
        receipt_for(deposit.sha256),
        issuer=NOTARY,
        tsa_certificates={tsa.name: url},
    )
    assert letter["evidence"][0]["tsaCertificates"] == url
    canonical = PyldCanonicalizer().canonize(letter)
    assert f"<https://w3id.org/notary-hub#tsaCertificates> <{url}>" in canonical
    other = build_custody_letter(
        deposit,
        token,
        receipt_for(deposit.sha256),
        issuer=NOTARY,
        tsa_certificates={"another TSA": url},
    )
    assert "tsaCertificates" not in other["evidence"][0]


def test_a_receipt_per_chain_needs_no_new_term(tsa: EmbeddedTimestampAuthority) -> None:
    """Issue 16: the extra chains' receipts are more ``ChainAnchorEvidence`` of v1's terms,
    so the frozen context (and the letter's recorded digest of it) stays as it is."""
    deposit = record(b"anchored twice")
    token = tsa.timestamp(deposit.sha256)
    primary = receipt_for(deposit.sha256)
    extra = replace(primary, chain_id=4242, transaction_hash="0x" + "55" * 32, block_number=3)
    letter = build_custody_letter(deposit, token, primary, issuer=NOTARY, extra_receipts=[extra])
    anchors = [e for e in letter["evidence"] if "ChainAnchorEvidence" in e["type"]]
    assert [a["chainId"] for a in anchors] == [1337, 4242]
    assert anchors[1]["anchorReceipt"]["root"] == anchors[0]["anchorReceipt"]["root"]
    assert letter["@context"] == [CREDENTIALS_V2, NOTARY_HUB_V1]
    assert check_terms(letter) == []
    canonical = PyldCanonicalizer().canonize(letter)
    assert canonical.count("<https://w3id.org/notary-hub#anchorReceipt>") == 2
