"""The per-session certificate authority of a capture's recording proxy (issue 15).

Each capture session's browser trusts this CA alone, so no other session's proxy (or any
other interceptor) can be slipped in between; the proxy signs its per-host leaf
certificates with it. mitmproxy reads it as ``mitmproxy-ca.pem`` (key then certificate) in
its ``confdir`` (https://docs.mitmproxy.org/stable/concepts-certificates/#using-a-custom-certificate-authority).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["SessionCa", "new_session_ca"]

# A session lasts minutes; a day covers clock skew and a slow capture.
VALIDITY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class SessionCa:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def spki_sha256_base64(self) -> str:
        """What Chromium's ``--ignore-certificate-errors-spki-list`` takes."""
        spki = self.certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")

    def write_mitmproxy_confdir(self, confdir: Path) -> None:
        """``mitmproxy-ca.pem`` (owner-only: it holds the key) and the public certificate."""
        key_pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = confdir / "mitmproxy-ca.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key_pem + self.certificate_pem)
        (confdir / "mitmproxy-ca-cert.pem").write_bytes(self.certificate_pem)


def new_session_ca(session: str) -> SessionCa:
    """A fresh CA named after ``session``; RSA because every TLS client takes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Notary Hub capture"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"capture session {session}"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return SessionCa(certificate, key)
