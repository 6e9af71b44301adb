"""Revocation of the certificates on an applicant's path, from the CRLs the operator configures.

RFC 5280 (https://www.rfc-editor.org/rfc/rfc5280) §5 (a CRL is signed by the
certificate's issuer and current at the checking time; §5.2.5 issuingDistributionPoint
scopes it) and §6.3 in short: a configured CRL of an issuer on the path must be sound
and must not list the certificate. A CRL that names an issuer on the path must be
valid or the chain is refused (:class:`~did_registry.errors.InvalidCrl`): a bad or
stale CRL is a configuration problem, and failing open would admit a revoked
organisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from did_registry.consortium.certificates import describe, extension_value, is_ca_cert
from did_registry.errors import CertificateRevoked, InvalidCrl


def check_revocation(
    path: Sequence[x509.Certificate],
    crls: Sequence[x509.CertificateRevocationList],
    at: datetime,
) -> None:
    """§6.3 in short: a given CRL of an issuer on the path must be sound and not list the cert."""
    for index in range(len(path) - 1):
        cert, issuer = path[index], path[index + 1]
        for crl in crls:
            if crl.issuer != issuer.subject or not _crl_covers(crl, cert):
                continue
            _check_crl(crl, issuer, at)
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                raise CertificateRevoked(
                    f"{describe(cert)} (serial {cert.serial_number:#x}) was revoked at "
                    f"{entry.revocation_date_utc.isoformat()} by {describe(issuer)}"
                )


def _crl_covers(crl: x509.CertificateRevocationList, cert: x509.Certificate) -> bool:
    """Scope of a partitioned CRL (§5.2.5 issuingDistributionPoint)."""
    idp = extension_value(crl, x509.IssuingDistributionPoint)
    if idp is None:
        return True
    is_ca = is_ca_cert(cert)
    if idp.only_contains_attribute_certs:
        return False
    if idp.only_contains_user_certs:
        return not is_ca
    return is_ca or not idp.only_contains_ca_certs


def _check_crl(crl: x509.CertificateRevocationList, issuer: x509.Certificate, at: datetime) -> None:
    who = f"the CRL of {describe(issuer)}"
    key = issuer.public_key()
    # The profile check (x509_checks) has admitted only these key types onto the path.
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    if not crl.is_signature_valid(key):
        raise InvalidCrl(f"{who} is not signed by that issuer's key")
    usage = extension_value(issuer, x509.KeyUsage)
    if usage is not None and not usage.crl_sign:
        raise InvalidCrl(f"{who} is signed by a key without keyUsage cRLSign")
    for extension in crl.extensions:
        if isinstance(extension.value, x509.DeltaCRLIndicator):
            raise InvalidCrl(f"{who} is a delta CRL; configure the complete CRL")
        if isinstance(extension.value, x509.IssuingDistributionPoint) and (
            extension.value.indirect_crl or extension.value.only_some_reasons
        ):
            raise InvalidCrl(f"{who} is indirect or reason-partitioned, which is not supported")
        if extension.critical and isinstance(extension.value, x509.UnrecognizedExtension):
            raise InvalidCrl(f"{who} has an unsupported critical extension")
    if at < crl.last_update_utc:
        raise InvalidCrl(f"{who} is dated {crl.last_update_utc.isoformat()}, after {at}")
    next_update = crl.next_update_utc
    if next_update is None or at > next_update:
        when = next_update.isoformat() if next_update else "unknown"
        raise InvalidCrl(f"{who} is stale (nextUpdate {when}); configure a current CRL")
