"""Keys and certificates of the embedded timestamp authority.

RFC 3161 §2.3 (https://www.rfc-editor.org/rfc/rfc3161#section-2.3): the TSA signs with
a key reserved for time-stamping, whose certificate carries one extended key usage,
id-kp-timeStamping, marked critical. RFC 5280 §4.2.1.3 / §4.2.1.9 for key usage and
basic constraints. The hub makes a two-level PKI on first use: a TSA root CA and a TSA
signing certificate it issues (ECDSA P-256 with SHA-256 throughout, which OpenSSL's
``ts`` and rfc3161-client both verify).

The private keys live in the hub's :class:`~hub_kernel.keystore.KeyStore` (encrypted
at rest); the certificates, which are public, are PEM files in a directory. The signing
certificate is re-issued, under the same root, when it is missing, does not match its
key, or comes within ``renew_before`` of expiry; the root is never replaced silently.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from evidence.errors import TimestampError
from hub_kernel.keystore import KeyNotFound, KeyStore, KeyStoreError

__all__ = ["ROOT_KEY_NAME", "SIGNING_KEY_NAME", "TsaKeyMaterial"]

ROOT_KEY_NAME = "tsa-root-ca"
SIGNING_KEY_NAME = "tsa-signing"
_KEY_KIND = "p256"
_ROOT_FILE = "tsa-root-ca.pem"
_SIGNING_FILE = "tsa.pem"
_ROOT_LIFETIME = timedelta(days=20 * 365)
_SIGNING_LIFETIME = timedelta(days=5 * 365)
# Certificates start a little in the past so a verifier with a slow clock accepts them.
_BACKDATE = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_numbers().private_value.to_bytes(32, "big")


def _load_key(secret: bytes, name: str) -> ec.EllipticCurvePrivateKey:
    if len(secret) != 32:
        raise TimestampError(f"TSA key {name!r} is not a P-256 private key")
    try:
        return ec.derive_private_key(int.from_bytes(secret, "big"), ec.SECP256R1())
    except ValueError:
        raise TimestampError(f"TSA key {name!r} is not a P-256 private key") from None


def _spki(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _same_key(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bool:
    public = cert.public_key()
    return isinstance(public, ec.EllipticCurvePublicKey) and _spki(public) == _spki(
        key.public_key()
    )


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _issue_root(
    key: ec.EllipticCurvePrivateKey, subject: x509.Name, now: datetime
) -> x509.Certificate:
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue_signing(
    key: ec.EllipticCurvePrivateKey,
    subject: x509.Name,
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    now: datetime,
) -> x509.Certificate:
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(min(now + _SIGNING_LIFETIME, root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        # RFC 3161 §2.3: exactly one purpose, id-kp-timeStamping, and critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )


def _read_pem(path: Path) -> x509.Certificate | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise TimestampError(f"{path} is not a PEM certificate") from None


def _write_pem(path: Path, cert: x509.Certificate) -> None:
    # Temporary file then rename: a crash leaves the old certificate or the new one.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    tmp.write_bytes(cert.public_bytes(Encoding.PEM))
    os.replace(tmp, path)


def _get_key(keystore: KeyStore, name: str) -> ec.EllipticCurvePrivateKey | None:
    try:
        return _load_key(keystore.get(name), name)
    except KeyNotFound:
        return None
    except KeyStoreError as exc:
        raise TimestampError(f"TSA key {name!r}: {exc.message}") from None


def _put_key(keystore: KeyStore, name: str, key: ec.EllipticCurvePrivateKey) -> None:
    try:
        keystore.put(name, _key_bytes(key), kind=_KEY_KIND, replace=name != ROOT_KEY_NAME)
    except KeyStoreError as exc:
        # KeyExists for the root: another process created the PKI at the same moment.
        raise TimestampError(f"TSA key {name!r} could not be stored: {exc.message}") from None


def _usable_signing_cert(
    cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    root: x509.Certificate,
    not_after: datetime,
) -> bool:
    if not _same_key(cert, key) or cert.issuer != root.subject:
        return False
    try:
        cert.verify_directly_issued_by(root)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return cert.not_valid_after_utc > not_after


@dataclass(frozen=True)
class TsaKeyMaterial:
    """The TSA's signing key, its certificate and the root CA certificate that issued it."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey
    root_certificate: x509.Certificate

    @property
    def chain(self) -> tuple[bytes, ...]:
        """DER certificates, signing certificate first, then the root."""
        return (
            self.certificate.public_bytes(Encoding.DER),
            self.root_certificate.public_bytes(Encoding.DER),
        )

    @classmethod
    def load_or_create(
        cls,
        keystore: KeyStore,
        directory: Path,
        *,
        organisation: str = "Notary Hub",
        common_name: str = "Notary Hub TSA",
        renew_before: timedelta = timedelta(days=30),
        now: datetime | None = None,
    ) -> TsaKeyMaterial:
        """Load the TSA PKI, creating the root and issuing the signing certificate as needed.

        A root key without its certificate (or the reverse), or a root certificate that
        does not match its key, is :class:`TimestampError`: replacing the root would
        orphan every token issued under it, so that is left to an operator.
        """
        now = now or _now()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        root_path, signing_path = directory / _ROOT_FILE, directory / _SIGNING_FILE

        root_key = _get_key(keystore, ROOT_KEY_NAME)
        root = _read_pem(root_path)
        if root_key is None and root is None:
            root_key = _new_key()
            root = _issue_root(root_key, _name(f"{common_name} Root CA", organisation), now)
            _put_key(keystore, ROOT_KEY_NAME, root_key)
            _write_pem(root_path, root)
        elif root_key is None or root is None:
            missing = f"key {ROOT_KEY_NAME!r}" if root_key is None else f"certificate {root_path}"
            raise TimestampError(f"TSA root CA incomplete: the {missing} is missing")
        elif not _same_key(root, root_key):
            raise TimestampError(f"TSA root certificate {root_path} does not match its key")
        if root.not_valid_after_utc <= now + renew_before:
            raise TimestampError(f"TSA root CA certificate {root_path} expires; renew it")

        key = _get_key(keystore, SIGNING_KEY_NAME)
        cert = _read_pem(signing_path)
        if (
            cert is None
            or key is None
            or not _usable_signing_cert(cert, key, root, now + renew_before)
        ):
            key = _new_key()
            cert = _issue_signing(key, _name(common_name, organisation), root, root_key, now)
            _put_key(keystore, SIGNING_KEY_NAME, key)
            _write_pem(signing_path, cert)
        return cls(certificate=cert, private_key=key, root_certificate=root)
