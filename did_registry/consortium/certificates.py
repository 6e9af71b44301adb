"""X.509 certificates as an applicant sends them: parsing, loading, and what the checks share.

RFC 5280 (https://www.rfc-editor.org/rfc/rfc5280) certificates and CRLs, read with
``cryptography``. :func:`parse_chain` accepts a PEM chain of CERTIFICATE blocks only
(bounded in size and length); :func:`load_certificates` and :func:`load_crl` read
the operator's trusted roots and CRLs; :func:`evidence_hash` is an application's
on-chain ``evidenceHash``. The small predicates below (CA or not, signed by,
self-signed) are the ones :mod:`did_registry.consortium.x509_checks` and
:mod:`did_registry.consortium.revocation` build on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from did_registry.errors import MalformedCertificate

MAX_CHAIN_PEM_BYTES = 64 * 1024
MAX_CHAIN_CERTIFICATES = 8  # leaf, intermediates and a copy of the root: plenty for real PKIs

_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_E = TypeVar("_E", bound=x509.ExtensionType)


def evidence_hash(path: Sequence[x509.Certificate]) -> bytes:
    """The on-chain evidenceHash: SHA-256(DER(leaf) || DER(intermediates) || DER(anchor))."""
    digest = hashlib.sha256()
    for cert in path:
        digest.update(cert.public_bytes(Encoding.DER))
    return digest.digest()


def parse_chain(chain_pem: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM chain, leaf first; only CERTIFICATE blocks are accepted."""
    if not chain_pem.strip():
        raise MalformedCertificate("the certificate chain is empty")
    if len(chain_pem) > MAX_CHAIN_PEM_BYTES:
        raise MalformedCertificate(f"the certificate chain exceeds {MAX_CHAIN_PEM_BYTES} bytes")
    labels = {m.decode() for m in _PEM_LABEL.findall(chain_pem)}
    if not labels:
        raise MalformedCertificate("no PEM block found (expected -----BEGIN CERTIFICATE-----)")
    if labels != {"CERTIFICATE"}:
        # Refused rather than skipped: the chain is stored, and a pasted private key must not be.
        others = ", ".join(sorted(labels - {"CERTIFICATE"}))
        raise MalformedCertificate(f"only CERTIFICATE blocks are accepted, found {others}")
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
        for cert in certs:
            _ = cert.extensions  # parsed lazily: a malformed extension fails here, not later
    except ValueError as exc:
        raise MalformedCertificate(f"the certificate chain is not valid PEM/DER: {exc}") from None
    if len(certs) > MAX_CHAIN_CERTIFICATES:
        raise MalformedCertificate(
            f"the chain has {len(certs)} certificates, at most "
            f"{MAX_CHAIN_CERTIFICATES} are accepted"
        )
    return certs


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    """A PEM bundle of trusted roots (e.g. the file of ``NOTARY_HUB_CHAIN_TRUSTED_CA_FILE``)."""
    return x509.load_pem_x509_certificates(pem)


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """One CRL, PEM or DER."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def describe(cert: x509.Certificate) -> str:
    return f"'{cert.subject.rfc4514_string()}'"


def extension_value(
    cert: x509.Certificate | x509.CertificateRevocationList, kind: type[_E]
) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def is_ca_cert(cert: x509.Certificate) -> bool:
    constraints = extension_value(cert, x509.BasicConstraints)
    return constraints is not None and constraints.ca


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s key verifies ``cert``'s signature (names must chain, §6.1.3 (a)(4))."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        # ValueError: names do not chain or unsupported signature; TypeError: key type.
        return False
    return True


def self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and signed_by(cert, cert)
