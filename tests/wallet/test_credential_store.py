"""The credential store: Data Integrity documents and vc+jwt tokens, described without
verification; add, list, get by id or prefix, delete, duplicates, unknown ids, status."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials.jose.vc_jose import sign_credential_jwt
from testkit.custody_sample import NOTARY_DID, custody_credential
from testkit.wallets import TEST_PASSPHRASE, new_test_wallet
from wallet.credential_store import CredentialStore
from wallet.errors import AmbiguousCredential, CredentialRejected, UnknownCredential, WalletError
from wallet.wallet import Wallet

ISSUER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def _jwt_credential() -> tuple[dict[str, Any], str]:
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:0b7d3f5e-9c2a-4e61-8f1d-2a6c4b8e0d13",
        "type": ["VerifiableCredential", "EmployeeCredential"],
        "issuer": ISSUER,
        "validFrom": "2026-11-30T09:00:00Z",
        "credentialSubject": {"id": "did:key:z6Mkholder"},
    }
    token = sign_credential_jwt(
        credential, key=Ed25519PrivateKey.generate(), kid=ISSUER + "#key-1", alg="EdDSA"
    )
    return credential, token


def _unsigned_jwt(payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'EdDSA', 'typ': 'JWT'})}.{part(payload)}.c2ln"


def test_data_integrity_credential_is_described(wallet: Wallet) -> None:
    letter = custody_credential(3)
    stored = wallet.credentials.add(letter, source="deposit-3")
    assert stored.id == letter["id"]
    assert stored.types == ("VerifiableCredential", "DataDepositCredential")
    assert stored.issuer == NOTARY_DID
    assert stored.subject == letter["credentialSubject"]["id"]
    assert stored.issued == "2026-01-01T08:30:00Z"
    assert (stored.status, stored.source) == ("valid", "deposit-3")
    assert wallet.credentials.get(letter["id"]) == stored


def test_vc_jwt_is_described_from_its_payload(wallet: Wallet) -> None:
    credential, token = _jwt_credential()
    stored = wallet.credentials.add(token)
    assert stored.document == token
    assert stored.id == credential["id"]
    assert stored.types == ("VerifiableCredential", "EmployeeCredential")
    assert (stored.issuer, stored.subject) == (ISSUER, "did:key:z6Mkholder")
    assert stored.issued == "2026-11-30T09:00:00Z"


def test_vc_1_1_jwt_claims(wallet: Wallet) -> None:
    token = _unsigned_jwt(
        {
            "iss": "did:example:issuer",
            "sub": "did:example:holder",
            "jti": "urn:uuid:11111111-2222-3333-4444-555555555555",
            "nbf": 1700000000,
            "vc": {
                "@context": ["https://www.w3.org/2018/credentials/v1"],
                "type": ["VerifiableCredential", "UniversityDegreeCredential"],
                "credentialSubject": {"degree": "BSc"},
            },
        }
    )
    stored = wallet.credentials.add(token)
    assert stored.id == "urn:uuid:11111111-2222-3333-4444-555555555555"
    assert (stored.issuer, stored.subject) == ("did:example:issuer", "did:example:holder")
    assert stored.issued == "2023-11-14T22:13:20Z"


def test_vc_1_1_issuance_date_and_a_credential_without_id(wallet: Wallet) -> None:
    document = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": "VerifiableCredential",
        "issuer": {"id": "did:example:issuer", "name": "Example"},
        "issuanceDate": "2020-01-01T00:00:00Z",
        "credentialSubject": [{"id": "did:example:a"}, {"id": "did:example:b"}],
    }
    stored = wallet.credentials.add(document)
    assert stored.id.startswith("urn:sha256:")
    assert (stored.issuer, stored.subject, stored.issued) == (
        "did:example:issuer",
        "did:example:a",
        "2020-01-01T00:00:00Z",
    )
    with pytest.raises(CredentialRejected, match="already in the wallet"):
        wallet.credentials.add(dict(document))


@pytest.mark.parametrize(
    "document",
    [
        {"type": ["VerifiableCredential"]},
        {"type": ["Diploma"], "issuer": "did:example:1"},
        {"type": [], "issuer": "did:example:1"},
        {"type": ["VerifiableCredential"], "issuer": "did:example:1", "id": "urn:x\nnewline"},
        "not.a.jwt!",
        "only-one-part",
        42,
    ],
    ids=["no-issuer", "not-vc", "empty-type", "control-char-id", "bad-jwt", "no-dots", "int"],
)
def test_unreadable_documents_are_rejected(wallet: Wallet, document: Any) -> None:
    with pytest.raises(CredentialRejected):
        wallet.credentials.add(document)
    assert wallet.credentials.list() == []


def test_list_is_sorted_by_receipt_and_survives_reopening(wallet_path: Path) -> None:
    moments = iter(datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=m) for m in (5, 1, 3))
    with new_test_wallet(wallet_path)[0] as wallet:
        store = CredentialStore(wallet.vault, clock=lambda: next(moments))
        ids = [store.add(custody_credential(seed)).id for seed in (1, 2, 3)]
    with Wallet.open(wallet_path, TEST_PASSPHRASE) as reopened:
        listed = reopened.credentials.list()
    assert [stored.id for stored in listed] == [ids[1], ids[2], ids[0]]
    assert [stored.received_at for stored in listed] == [
        "2026-12-01T00:01:00Z",
        "2026-12-01T00:03:00Z",
        "2026-12-01T00:05:00Z",
    ]


def test_get_by_prefix_delete_and_unknown(wallet: Wallet) -> None:
    first = wallet.credentials.add(
        {**custody_credential(1), "id": "urn:uuid:aaaa1111-0000-4000-8000-000000000000"}
    )
    second = wallet.credentials.add(
        {**custody_credential(2), "id": "urn:uuid:aaaa2222-0000-4000-8000-000000000000"}
    )
    assert wallet.credentials.get("aaaa1").id == first.id
    assert wallet.credentials.get("urn:uuid:aaaa2").id == second.id
    with pytest.raises(AmbiguousCredential):
        wallet.credentials.get("aaaa")
    with pytest.raises(UnknownCredential):
        wallet.credentials.get("bbbb")
    with pytest.raises(UnknownCredential):
        wallet.credentials.get("")
    wallet.credentials.delete("aaaa1")
    assert [stored.id for stored in wallet.credentials.list()] == [second.id]
    assert wallet.credentials.get("aaaa").id == second.id
    with pytest.raises(UnknownCredential):
        wallet.credentials.delete(first.id)


def test_set_status(wallet: Wallet) -> None:
    stored = wallet.credentials.add(custody_credential(4))
    revoked = wallet.credentials.set_status(stored.id, "revoked")
    assert revoked.status == "revoked"
    assert revoked.received_at == stored.received_at
    assert wallet.credentials.get(stored.id).status == "revoked"
    with pytest.raises(WalletError, match="status must be"):
        wallet.credentials.set_status(stored.id, "expired")
    with pytest.raises(WalletError, match="status must be"):
        wallet.credentials.add(custody_credential(5), status="bogus")
