"""The notary's document-signing key: created once, encrypted at rest, its certificate
re-issued (same key) when it no longer fits, and published on the notary's DID once."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from did_registry.resolution import ResolutionOptions
from evidence.letter_pdf.publication import (
    ensure_published,
    fingerprint_uri,
    published_fingerprints,
)
from evidence.letter_pdf.signing_keys import (
    CERT_FILE,
    DOCUMENT_SIGNING,
    KEY_NAME,
    DocumentSigningKey,
    san_uris,
)
from hub_kernel.keystore import FileKeyStore
from testkit.notary_world import NotaryWorld

DID = "did:ethr:0x539:0x5b38da6a701c568545dcfcb03fcb875f56beddc4"


def test_the_certificate_says_what_it_is_for(tmp_path: Path) -> None:
    keystore = FileKeyStore(tmp_path / "keys", os.urandom(32))
    material = DocumentSigningKey.load_or_create(keystore, tmp_path / "documents", DID)
    cert = material.certificate
    assert isinstance(material.private_key.curve, ec.SECP256R1)
    assert san_uris(cert) == [DID]
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    purposes = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert purposes == [DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]
    assert cert.subject == cert.issuer  # self-signed: trust comes from the chain
    # The private key is in the key store, encrypted; only the certificate is a file.
    assert KEY_NAME in keystore.names()
    assert (tmp_path / "documents" / CERT_FILE).read_bytes().startswith(b"-----BEGIN CERT")


def test_load_or_create_keeps_the_key_and_reissues_only_what_no_longer_fits(
    tmp_path: Path,
) -> None:
    keystore = FileKeyStore(tmp_path / "keys", os.urandom(32))
    first = DocumentSigningKey.load_or_create(keystore, tmp_path / "d", DID)
    again = DocumentSigningKey.load_or_create(keystore, tmp_path / "d", DID)
    assert again.fingerprint == first.fingerprint
    other_did = DID[:-1] + "5"
    renamed = DocumentSigningKey.load_or_create(keystore, tmp_path / "d", other_did)
    assert san_uris(renamed.certificate) == [other_did]
    assert renamed.private_key.private_numbers() == first.private_key.private_numbers()
    later = datetime.now(UTC) + timedelta(days=3 * 365)
    renewed = DocumentSigningKey.load_or_create(keystore, tmp_path / "d", other_did, now=later)
    assert renewed.certificate.not_valid_after_utc > renamed.certificate.not_valid_after_utc


def test_the_fingerprint_is_published_once_and_resolves_as_of_a_time(
    notary_world: NotaryWorld, tmp_path: Path
) -> None:
    notary = notary_world.notary
    key = DocumentSigningKey.load_or_create(notary_world.keystore, tmp_path / "d", notary.did)
    before = notary_world.registrar.head_timestamp()
    receipt = ensure_published(notary, key.fingerprint)
    assert receipt is not None
    assert ensure_published(notary, key.fingerprint) is None  # idempotent: nothing to do
    document = notary_world.resolver.resolve(notary.did).did_document
    assert key.fingerprint in published_fingerprints(document)
    services = [
        s for s in (document or {}).get("service", []) if s["type"] == "NotaryDocumentSigning"
    ]
    assert [s["serviceEndpoint"] for s in services] == [fingerprint_uri(key.fingerprint)]
    earlier = notary_world.resolver.resolve(notary.did, ResolutionOptions(version_time=before - 1))
    assert key.fingerprint not in published_fingerprints(earlier.did_document)


def test_published_fingerprints_ignores_what_is_not_a_sha256_ni_uri() -> None:
    document = {
        "service": [
            {"type": "NotaryDocumentSigning", "serviceEndpoint": "ni:///sha-256;AAAA"},
            {"type": "NotaryDocumentSigning", "serviceEndpoint": "https://example.com/cert"},
            {"type": "Other", "serviceEndpoint": fingerprint_uri("ab" * 32)},
            {"type": "NotaryDocumentSigning", "serviceEndpoint": [fingerprint_uri("cd" * 32)]},
            "not a service",
        ]
    }
    assert published_fingerprints(document) == {"cd" * 32}
    assert published_fingerprints(None) == set()
