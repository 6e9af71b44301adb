"""Organisation certificate checks against a CA hierarchy made here with ``cryptography``.

root -> issuing CA (pathLen 0) -> organisation leaf, and one variant per way a
chain can be wrong. A good chain (and two bad ones) are also run through
``openssl verify`` as an independent verifier.

The helpers at the top (:func:`make_pki`, :func:`issue`, :func:`make_crl`) are
imported by the consortium tests.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from did_registry import errors
from did_registry.consortium.certificates import (
    MAX_CHAIN_CERTIFICATES,
    evidence_hash,
    load_certificates,
    load_crl,
)
from did_registry.consortium.x509_checks import check_organisation_certificate

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

# -- a CA hierarchy ----------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(Encoding.PEM)


def key_usage(
    *,
    digital_signature: bool = False,
    key_encipherment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


CA_USAGE = key_usage(key_cert_sign=True, crl_sign=True)
LEAF_USAGE = key_usage(digital_signature=True)
_DEFAULT = object()


def issue(
    common_name: str,
    issuer: Issued | None,
    *,
    org: str | None = "Acme Notaries",
    ca: bool = False,
    path_length: int | None = None,
    basic_constraints: bool = True,
    usage: x509.KeyUsage | object | None = _DEFAULT,
    eku: list[x509.ObjectIdentifier] | None = None,
    not_before: datetime = NOW - DAY,
    not_after: datetime = NOW + 365 * DAY,
    key: PrivateKey | None = None,
    signer: PrivateKey | None = None,
    extra: list[x509.ExtensionType] | None = None,
) -> Issued:
    """A certificate for ``common_name`` issued by ``issuer`` (None: self-signed).

    ``signer`` overrides the signing key (a broken signature keeps the issuer's name).
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if org is not None:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    subject = x509.Name(attributes)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if basic_constraints:
        builder = builder.add_extension(x509.BasicConstraints(ca, path_length), critical=True)
    if usage is _DEFAULT:
        usage = CA_USAGE if ca else LEAF_USAGE
    if isinstance(usage, x509.KeyUsage):
        builder = builder.add_extension(usage, critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    for extension in extra or []:
        builder = builder.add_extension(extension, critical=True)
    signing_key = signer or (issuer.key if issuer else key)
    algorithm = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return Issued(builder.sign(signing_key, algorithm), key)


@dataclass(frozen=True)
class Pki:
    root: Issued
    inter: Issued
    leaf: Issued

    @property
    def roots(self) -> list[x509.Certificate]:
        return [self.root.cert]

    def chain(self, *certs: Issued) -> bytes:
        """PEM of ``certs``; by default leaf + issuing CA."""
        return b"".join(c.pem for c in (certs or (self.leaf, self.inter)))

    def leaf_for(self, common_name: str, org: str, **kwargs: object) -> Issued:
        return issue(common_name, self.inter, org=org, **kwargs)  # type: ignore[arg-type]


def make_pki(org: str = "Acme Notaries", root_name: str = "Test Root CA") -> Pki:
    root = issue(root_name, None, org="Test Trust Services", ca=True)
    inter = issue("Test Issuing CA", root, org="Test Trust Services", ca=True, path_length=0)
    return Pki(root, inter, issue("node.acme.example", inter, org=org))


def make_crl(
    issuer: Issued,
    revoked: list[x509.Certificate] = [],  # noqa: B006 - read only
    *,
    signer: PrivateKey | None = None,
    last_update: datetime = NOW - DAY,
    next_update: datetime = NOW + 7 * DAY,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(last_update)
        .next_update(next_update)
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(NOW - DAY)
            .build()
        )
    return builder.sign(signer or issuer.key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def check(pki: Pki, chain: bytes, **kwargs: object) -> object:
    return check_organisation_certificate(chain, pki.roots, at=NOW, **kwargs)  # type: ignore[arg-type]


# -- a good chain ------------------------------------------------------------------------


def test_good_chain(pki: Pki) -> None:
    checked = check_organisation_certificate(pki.chain(), pki.roots, at=NOW)
    assert checked.organisation == "Acme Notaries"
    assert checked.common_name == "node.acme.example"
    leaf_der = pki.leaf.cert.public_bytes(Encoding.DER)
    assert checked.fingerprint_sha256 == hashlib.sha256(leaf_der).hexdigest()
    assert checked.path == (pki.leaf.cert, pki.inter.cert, pki.root.cert)
    # The evidence hash is SHA-256 over the DER path, leaf first, anchor last...
    ders = [c.cert.public_bytes(Encoding.DER) for c in (pki.leaf, pki.inter, pki.root)]
    assert checked.evidence_hash == hashlib.sha256(b"".join(ders)).digest()
    # ... and the stored path PEM is enough to recompute it.
    assert evidence_hash(load_certificates(checked.path_pem.encode())) == checked.evidence_hash
    assert checked.not_after == min(c.not_valid_after_utc for c in checked.path)


def test_presented_root_and_order_do_not_matter(pki: Pki) -> None:
    plain = check_organisation_certificate(pki.chain(), pki.roots, at=NOW)
    for chain in (
        pki.chain(pki.leaf, pki.inter, pki.root),
        pki.chain(pki.leaf, pki.root, pki.inter),
    ):
        checked = check_organisation_certificate(chain, pki.roots, at=NOW)
        assert checked.evidence_hash == plain.evidence_hash


def test_leaf_issued_directly_by_the_root_and_client_auth_eku() -> None:
    root = issue("Direct Root", None, ca=True)
    leaf = issue("direct", root, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    checked = check_organisation_certificate(leaf.pem, [root.cert], at=NOW)
    assert checked.path == (leaf.cert, root.cert)


def test_path_length_one_allows_two_intermediates() -> None:
    root = issue("Root", None, ca=True)
    upper = issue("Upper CA", root, ca=True, path_length=1)
    lower = issue("Lower CA", upper, ca=True, path_length=0)
    leaf = issue("leaf", lower)
    chain = leaf.pem + lower.pem + upper.pem
    assert len(check_organisation_certificate(chain, [root.cert], at=NOW).path) == 4


# -- every bad case ----------------------------------------------------------------------


def test_expired_leaf(pki: Pki) -> None:
    leaf = pki.leaf_for("old", "Acme", not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    with pytest.raises(errors.CertificateExpired, match=r"CN=old.*expired at"):
        check(pki, pki.chain(leaf, pki.inter))


def test_not_yet_valid_leaf(pki: Pki) -> None:
    leaf = pki.leaf_for("early", "Acme", not_before=NOW + DAY)
    with pytest.raises(errors.CertificateNotYetValid, match=r"CN=early.*not valid before"):
        check(pki, pki.chain(leaf, pki.inter))


def test_expired_intermediate(pki: Pki) -> None:
    inter = issue("Old CA", pki.root, ca=True, not_before=NOW - 9 * DAY, not_after=NOW - DAY)
    leaf = issue("leaf", inter, not_after=NOW + DAY)
    with pytest.raises(errors.CertificateExpired, match="CN=Old CA"):
        check(pki, leaf.pem + inter.pem)


def test_untrusted_root(pki: Pki) -> None:
    other = make_pki(root_name="Some Other Root")
    with pytest.raises(errors.UntrustedCertificate, match="neither in the chain nor a trusted"):
        check(pki, other.chain())
    with pytest.raises(errors.UntrustedCertificate, match=r"self-signed .*not a trusted root"):
        check(pki, other.chain(other.leaf, other.inter, other.root))


def test_missing_intermediate(pki: Pki) -> None:
    with pytest.raises(errors.UntrustedCertificate, match="CN=Test Issuing CA"):
        check(pki, pki.leaf.pem)


def test_impostor_root_with_the_trusted_name(pki: Pki) -> None:
    impostor = issue("Test Root CA", None, org="Test Trust Services", ca=True)
    inter = issue("Test Issuing CA", impostor, org="Test Trust Services", ca=True)
    leaf = issue("leaf", inter)
    with pytest.raises(errors.UntrustedCertificate, match="self-signed"):
        check(pki, leaf.pem + inter.pem + impostor.pem)
    with pytest.raises(errors.CertificateSignatureInvalid, match="CN=Test Issuing CA"):
        check(pki, leaf.pem + inter.pem)


def test_self_signed_leaf(pki: Pki) -> None:
    leaf = issue("myself", None)
    with pytest.raises(errors.SelfSignedCertificate, match="CN=myself"):
        check(pki, leaf.pem)
    # Even when someone configured it as a trusted root.
    with pytest.raises(errors.SelfSignedCertificate):
        check_organisation_certificate(leaf.pem, [leaf.cert], at=NOW)


def test_leaf_signed_by_another_key(pki: Pki) -> None:
    leaf = issue("forged", pki.inter, signer=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(errors.CertificateSignatureInvalid, match="CN=forged"):
        check(pki, pki.chain(leaf, pki.inter))


@pytest.mark.parametrize(
    ("usage", "eku", "match"),
    [
        (key_usage(key_encipherment=True), None, "digitalSignature"),
        (None, None, "digitalSignature"),
        (key_usage(digital_signature=True, key_cert_sign=True), None, "keyCertSign"),
        (LEAF_USAGE, [ExtendedKeyUsageOID.SERVER_AUTH], "clientAuth is required"),
    ],
)
def test_leaf_key_usage(
    pki: Pki, usage: x509.KeyUsage | None, eku: list[x509.ObjectIdentifier] | None, match: str
) -> None:
    leaf = pki.leaf_for("leaf", "Acme", usage=usage, eku=eku)
    with pytest.raises(errors.WrongKeyUsage, match=match):
        check(pki, pki.chain(leaf, pki.inter))


@pytest.mark.parametrize("basic_constraints", [True, False])
def test_intermediate_that_is_not_a_ca(pki: Pki, basic_constraints: bool) -> None:
    inter = issue("Not a CA", pki.root, basic_constraints=basic_constraints, usage=CA_USAGE)
    leaf = issue("leaf", inter)
    with pytest.raises(errors.IssuerNotCa, match=r"CN=Not a CA.*basicConstraints cA=TRUE"):
        check(pki, leaf.pem + inter.pem)


@pytest.mark.parametrize("usage", [LEAF_USAGE, None])
def test_intermediate_without_key_cert_sign(pki: Pki, usage: x509.KeyUsage | None) -> None:
    inter = issue("No Signing CA", pki.root, ca=True, usage=usage)
    leaf = issue("leaf", inter)
    with pytest.raises(errors.WrongKeyUsage, match=r"CN=No Signing CA.*keyCertSign"):
        check(pki, leaf.pem + inter.pem)


def test_path_length_exceeded(pki: Pki) -> None:
    below = issue("Sub CA", pki.inter, ca=True)  # pki.inter has pathLen 0
    leaf = issue("leaf", below)
    with pytest.raises(errors.PathLengthExceeded, match=r"CN=Test Issuing CA.*allows 0"):
        check(pki, leaf.pem + below.pem + pki.inter.pem)


def test_ca_certificate_as_leaf(pki: Pki) -> None:
    with pytest.raises(errors.CaCertificateAsLeaf):
        check(pki, pki.chain(pki.inter))
    with pytest.raises(errors.CaCertificateAsLeaf):
        check(pki, pki.root.pem)


def test_crl_not_listing_the_leaf_passes(pki: Pki) -> None:
    other = pki.leaf_for("other", "Other Org")
    crls = [make_crl(pki.inter, [other.cert]), make_crl(pki.root)]
    check(pki, pki.chain(), crls=crls)


def test_revoked_leaf_and_intermediate(pki: Pki) -> None:
    with pytest.raises(errors.CertificateRevoked, match=r"CN=node.acme.example.*revoked"):
        check(pki, pki.chain(), crls=[make_crl(pki.inter, [pki.leaf.cert])])
    with pytest.raises(errors.CertificateRevoked, match="CN=Test Issuing CA"):
        check(pki, pki.chain(), crls=[make_crl(pki.root, [pki.inter.cert])])


def test_crl_signed_by_the_wrong_key(pki: Pki) -> None:
    forged = make_crl(pki.inter, signer=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(errors.InvalidCrl, match="not signed by that issuer"):
        check(pki, pki.chain(), crls=[forged])


@pytest.mark.parametrize(
    ("last_update", "next_update", "match"),
    [(NOW - 9 * DAY, NOW - DAY, "stale"), (NOW + DAY, NOW + 9 * DAY, "dated")],
)
def test_crl_outside_its_update_window(
    pki: Pki, last_update: datetime, next_update: datetime, match: str
) -> None:
    crl = make_crl(pki.inter, last_update=last_update, next_update=next_update)
    with pytest.raises(errors.InvalidCrl, match=match):
        check(pki, pki.chain(), crls=[crl])


KEY_PEM = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
)


@pytest.mark.parametrize(
    ("chain", "match"),
    [
        (b"", "empty"),
        (b"not a certificate", "no PEM block"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not valid"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB!!\n-----END CERTIFICATE-----\n", "not valid"),
        (KEY_PEM, "PRIVATE KEY"),
        (b"x" * (64 * 1024 + 1), "exceeds"),
    ],
)
def test_malformed_pem(pki: Pki, chain: bytes, match: str) -> None:
    with pytest.raises(errors.MalformedCertificate, match=match):
        check(pki, chain)


def test_private_key_next_to_the_certificates_is_refused(pki: Pki) -> None:
    with pytest.raises(errors.MalformedCertificate, match="PRIVATE KEY"):
        check(pki, pki.chain() + KEY_PEM)


def test_too_many_certificates(pki: Pki) -> None:
    with pytest.raises(errors.MalformedCertificate, match="at most"):
        check(pki, pki.chain() + pki.inter.pem * MAX_CHAIN_CERTIFICATES)


def test_unsupported_keys_and_extensions(pki: Pki) -> None:
    weak = pki.leaf_for("weak", "Acme", key=rsa.generate_private_key(65537, 1024))
    with pytest.raises(errors.UnsupportedCertificate, match="1024-bit RSA"):
        check(pki, pki.chain(weak, pki.inter))
    edwards = pki.leaf_for("ed", "Acme", key=ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(errors.UnsupportedCertificate, match="Ed25519"):
        check(pki, pki.chain(edwards, pki.inter))
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    odd = pki.leaf_for("odd", "Acme", extra=[unknown])
    with pytest.raises(errors.UnsupportedCertificate, match=r"critical extension 1\.3\.6"):
        check(pki, pki.chain(odd, pki.inter))


def test_leaf_without_organisation(pki: Pki) -> None:
    leaf = issue("nameless", pki.inter, org=None)
    with pytest.raises(errors.UnsupportedCertificate, match="subject O"):
        check(pki, pki.chain(leaf, pki.inter))


def test_no_trusted_roots_and_naive_time(pki: Pki) -> None:
    with pytest.raises(errors.UntrustedCertificate, match="no trusted CA roots"):
        check_organisation_certificate(pki.chain(), [], at=NOW)
    with pytest.raises(ValueError, match="timezone"):
        check_organisation_certificate(pki.chain(), pki.roots, at=NOW.replace(tzinfo=None))


def test_every_refusal_is_a_422_with_its_own_code() -> None:
    classes = errors.CertificateRejected.__subclasses__()
    assert len(classes) >= 13
    assert len({c.code for c in classes}) == len(classes)
    assert {c.status_code for c in classes} == {422}


def test_loaders_read_pem_and_der(pki: Pki) -> None:
    assert load_certificates(pki.root.pem + pki.inter.pem) == [pki.root.cert, pki.inter.cert]
    crl = make_crl(pki.inter)
    assert load_crl(crl.public_bytes(Encoding.PEM)) == crl
    assert load_crl(crl.public_bytes(Encoding.DER)) == crl


# -- OpenSSL as an independent verifier -------------------------------------------------


def openssl_verify(tmp_path: Path, pki: Pki, leaf: Issued, *options: str) -> bool:
    files = {"root.pem": pki.root, "inter.pem": pki.inter, "leaf.pem": leaf}
    for name, issued in files.items():
        (tmp_path / name).write_bytes(issued.pem)
    command = ["openssl", "verify", "-purpose", "sslclient", *options]
    command += ["-CAfile", "root.pem", "-untrusted", "inter.pem", "leaf.pem"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    return result.returncode == 0 and "leaf.pem: OK" in result.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_agrees(tmp_path: Path, pki: Pki) -> None:
    check(pki, pki.chain())
    assert openssl_verify(tmp_path, pki, pki.leaf)

    expired = pki.leaf_for("old", "Acme", not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    with pytest.raises(errors.CertificateExpired):
        check(pki, pki.chain(expired, pki.inter))
    assert not openssl_verify(tmp_path, pki, expired)

    crl = make_crl(pki.inter, [pki.leaf.cert])
    (tmp_path / "inter.crl").write_bytes(crl.public_bytes(Encoding.PEM))
    with pytest.raises(errors.CertificateRevoked):
        check(pki, pki.chain(), crls=[crl])
    assert not openssl_verify(tmp_path, pki, pki.leaf, "-crl_check", "-CRLfile", "inter.crl")


def test_name_constraints_are_enforced_by_the_independent_validator(pki: Pki) -> None:
    permitted = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName("acme.example")], excluded_subtrees=None
    )
    inter = issue("Constrained CA", pki.root, ca=True, path_length=0, extra=[permitted])
    inside = issue(
        "in", inter, extra=[x509.SubjectAlternativeName([x509.DNSName("n.acme.example")])]
    )
    check(pki, inside.pem + inter.pem)
    outside = issue("out", inter, extra=[x509.SubjectAlternativeName([x509.DNSName("evil.test")])])
    with pytest.raises(errors.CertificatePathInvalid, match="name constraints"):
        check(pki, outside.pem + inter.pem)


def test_overlong_organisation_name(pki: Pki) -> None:
    # cryptography refuses to build an over-long O unless told not to validate it.
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "O" * 65, _validate=False)])
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(pki.inter.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.BasicConstraints(False, None), critical=True)
        .add_extension(LEAF_USAGE, critical=True)
        .sign(pki.inter.key, hashes.SHA256())
    )
    chain = leaf.public_bytes(Encoding.PEM) + pki.inter.pem
    with pytest.raises(errors.UnsupportedCertificate, match="longer than 64"):
        check(pki, chain)
