"""The notary's document-signing key and certificate (what signs PDF letters).

ECDSA P-256 with SHA-256: poppler's ``pdfsig`` (NSS) and every PDF reader verify it, which
they do not for Ed25519 or secp256k1, the notary's credential and chain keys. The key lives
in the hub's :class:`~hub_kernel.keystore.KeyStore` (encrypted at rest) as
:data:`KEY_NAME`; the certificate, public, is a PEM file in the hub's data directory.

The certificate is self-signed, on purpose. A verifier trusts it because its SHA-256
fingerprint is in the notary's DID document on chain (:mod:`.publication`), as of the
signature's time; a CA above it would be a second key to guard that no verifier relies on.
It carries (RFC 5280 §4.2.1.3, §4.2.1.6, §4.2.1.12): keyUsage digitalSignature and
nonRepudiation (critical), extendedKeyUsage id-kp-documentSigning (1.3.6.1.5.5.7.3.36,
RFC 9336) and id-kp-emailProtection (NSS, and so ``pdfsig``, judges a PDF signer as an
S/MIME signer, ``certificateUsageEmailSigner``, and calls a certificate without it
unusable), and subjectAltName URI = the notary's DID, which ties it to the credentials'
issuer. It is re-issued (same key) when missing, not matching the key or the DID, or
within ``renew_before`` of its end; its new fingerprint is then published.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from evidence.letter_pdf.errors import DocumentKeyError
from hub_kernel.keystore import KeyNotFound, KeyStore, KeyStoreError

KEY_NAME = "notary-document-signing"
CERT_FILE = "document-signing.pem"
COMMON_NAME = "Notary Hub document signing"
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning, RFC 9336
PURPOSES = (DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION)
_KEY_KIND = "p256"
_LIFETIME = timedelta(days=3 * 365)
_BACKDATE = timedelta(minutes=5)  # a verifier with a slow clock still accepts a new cert


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lower-case hex: what the DID document lists."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def san_uris(cert: x509.Certificate) -> list[str]:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return names.get_values_for_type(x509.UniformResourceIdentifier)


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def issue_certificate(
    key: ec.EllipticCurvePrivateKey, did: str, organisation: str, now: datetime
) -> x509.Certificate:
    """A self-signed document-signing certificate for ``did`` (also used by tests to forge)."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, COMMON_NAME),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(PURPOSES)), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(did)]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _load_key(keystore: KeyStore) -> ec.EllipticCurvePrivateKey | None:
    try:
        secret = keystore.get(KEY_NAME)
    except KeyNotFound:
        return None
    except KeyStoreError as exc:
        raise DocumentKeyError(f"document-signing key: {exc.message}") from None
    if len(secret) != 32:
        raise DocumentKeyError(f"key {KEY_NAME!r} is not a P-256 private key")
    return ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())


def _create_key(keystore: KeyStore) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    secret = key.private_numbers().private_value.to_bytes(32, "big")
    try:
        keystore.put(KEY_NAME, secret, kind=_KEY_KIND)
    except KeyStoreError:
        # Another process of the hub created it first: use theirs.
        existing = _load_key(keystore)
        if existing is None:
            raise DocumentKeyError(f"key {KEY_NAME!r} could not be stored") from None
        return existing
    return key


def _purposes(cert: x509.Certificate) -> list[ObjectIdentifier]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return []


def _usable(
    cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, did: str, at: datetime
) -> bool:
    public = cert.public_key()
    return (
        isinstance(public, ec.EllipticCurvePublicKey)
        and _spki(public) == _spki(key.public_key())
        and san_uris(cert) == [did]
        and _purposes(cert) == list(PURPOSES)
        and cert.not_valid_after_utc > at
    )


def _read(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError:
        raise DocumentKeyError(f"{path} is not a PEM certificate") from None


def _write(path: Path, cert: x509.Certificate) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    tmp.write_bytes(cert.public_bytes(Encoding.PEM))
    os.replace(tmp, path)  # a crash leaves the old certificate or the new one


@dataclass(frozen=True)
class DocumentSigningKey:
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    @classmethod
    def load_or_create(
        cls,
        keystore: KeyStore,
        directory: Path,
        did: str,
        *,
        organisation: str = "Notary Hub",
        renew_before: timedelta = timedelta(days=30),
        now: datetime | None = None,
    ) -> DocumentSigningKey:
        now = now or datetime.now(UTC).replace(microsecond=0)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / CERT_FILE
        key = _load_key(keystore) or _create_key(keystore)
        cert = _read(path)
        if cert is None or not _usable(cert, key, did, now + renew_before):
            cert = issue_certificate(key, did, organisation, now)
            _write(path, cert)
        return cls(cert, key)
