"""Checking an applicant organisation's X.509 certificate chain before the consortium votes.

RFC 5280 (https://www.rfc-editor.org/rfc/rfc5280): §6.1 basic path validation
(signature of each link, issuer/subject name chaining, validity at the checking
time, issuers are CAs within their path length), §4.2.1.3 key usage,
§4.2.1.9 basic constraints, §4.2.1.12 extended key usage, §5 CRLs (signed by the
certificate's issuer, current at the checking time, serial not listed).

The checks run one by one so that a refusal names the one that failed (each has
its own :class:`~did_registry.errors.CertificateRejected`). ``cryptography``
verifies every signature (``verify_directly_issued_by``, ``is_signature_valid``);
then ``cryptography.x509.verification`` validates the chain again, independently
(it also enforces name constraints, not re-implemented here).

Profile, stricter than RFC 5280 where a notary consortium should be:

* keys RSA >= 2048 bits or ECDSA on P-256/P-384/P-521, signatures with
  SHA-256/384/512 (the algorithms the independent validator accepts);
* the leaf is an end entity (not a CA), not self-signed, and has keyUsage with
  digitalSignature: the organisation's key proves who it is by signing; an
  extendedKeyUsage, when present, must allow id-kp-clientAuth (or anyExtendedKeyUsage),
  because applying is the organisation authenticating to the consortium;
* intermediates carry keyUsage keyCertSign (§4.2.1.3: conforming CAs MUST include
  it); for the trust anchor it is only checked when present (§6.1 takes anchors
  as given);
* a CRL that names an issuer on the path must be valid or the chain is refused:
  a bad or stale CRL is a configuration problem, and failing open would admit a
  revoked organisation (:mod:`did_registry.consortium.revocation`).

An application's on-chain ``evidenceHash`` is
:func:`~did_registry.consortium.certificates.evidence_hash`: SHA-256 of
the DER encodings of the validated path concatenated, leaf first, trust anchor
last; anyone holding the stored path PEM can recompute it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from did_registry.consortium.certificates import (
    MAX_CHAIN_CERTIFICATES,
    describe,
    evidence_hash,
    extension_value,
    is_ca_cert,
    parse_chain,
    self_signed,
    signed_by,
)
from did_registry.consortium.revocation import check_revocation
from did_registry.errors import (
    CaCertificateAsLeaf,
    CertificateExpired,
    CertificateNotYetValid,
    CertificatePathInvalid,
    CertificateSignatureInvalid,
    IssuerNotCa,
    PathLengthExceeded,
    SelfSignedCertificate,
    UnsupportedCertificate,
    UntrustedCertificate,
    WrongKeyUsage,
)

MIN_RSA_BITS = 2048
MAX_NAME_LENGTH = 64
ALLOWED_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
ALLOWED_HASHES = ("sha256", "sha384", "sha512")
LEAF_EKUS = (ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE)


@dataclass(frozen=True, slots=True)
class CheckedOrganisation:
    """What a valid chain says about the applicant."""

    organisation: str  # subject O of the leaf: the member's name on chain
    common_name: str | None  # subject CN of the leaf
    fingerprint_sha256: str  # hex SHA-256 of the leaf's DER
    evidence_hash: bytes  # see evidence_hash()
    path: tuple[x509.Certificate, ...]  # validated path, leaf first, trust anchor last
    not_after: datetime  # the earliest expiry on the path

    @property
    def path_pem(self) -> str:
        return "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in self.path)


def check_organisation_certificate(
    chain_pem: bytes,
    trusted_roots: Sequence[x509.Certificate],
    *,
    at: datetime,
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> CheckedOrganisation:
    """Validate ``chain_pem`` (leaf first) against ``trusted_roots`` as of ``at``.

    Raises a :class:`~did_registry.errors.CertificateRejected` subclass naming the
    failed check. ``at`` must be timezone-aware.
    """
    if at.tzinfo is None:
        raise ValueError("the checking time must be timezone-aware")
    presented = parse_chain(chain_pem)
    if not trusted_roots:
        raise UntrustedCertificate("no trusted CA roots are configured, so no chain can be trusted")
    leaf = presented[0]
    _check_leaf_shape(leaf)
    path = _build_path(leaf, presented[1:], trusted_roots)
    for index, cert in enumerate(path):
        _check_profile(cert, is_anchor=index == len(path) - 1)
    for cert in path:
        _check_validity(cert, at)
    _check_issuers(path)
    _check_leaf_usage(leaf)
    check_revocation(path, crls, at)
    _independent_validation(leaf, presented[1:], trusted_roots, at)
    return CheckedOrganisation(
        organisation=_organisation(leaf),
        common_name=_attribute(leaf.subject, NameOID.COMMON_NAME, "CN"),
        fingerprint_sha256=leaf.fingerprint(hashes.SHA256()).hex(),
        evidence_hash=evidence_hash(path),
        path=tuple(path),
        not_after=min(c.not_valid_after_utc for c in path),
    )


# -- the checks, in the order a refusal is reported -----------------------------------------


def _check_leaf_shape(leaf: x509.Certificate) -> None:
    if is_ca_cert(leaf):
        raise CaCertificateAsLeaf(
            f"the first certificate {describe(leaf)} is a CA (basicConstraints cA=TRUE); "
            "the chain must start with the organisation's end-entity certificate"
        )
    if self_signed(leaf):
        raise SelfSignedCertificate(
            f"the certificate {describe(leaf)} is self-signed; it must be issued by a CA "
            "that chains to a trusted root"
        )


def _build_path(
    leaf: x509.Certificate,
    pool: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
) -> list[x509.Certificate]:
    """Leaf -> ... -> trust anchor, by name and verified signature (§6.1 (a)(2), (a)(4))."""
    path = [leaf]
    remaining = list(pool)
    while True:
        current = path[-1]
        # A trusted root wins over a presented copy, so the anchor is always the configured one.
        anchor = next((r for r in roots if signed_by(current, r)), None)
        if anchor is not None:
            path.append(anchor)
            return path
        issuer = next((c for c in remaining if signed_by(current, c)), None)
        if issuer is None:
            break
        remaining.remove(issuer)  # so the walk ends: parse_chain bounds the pool
        path.append(issuer)
    current = path[-1]
    if len(path) > 1 and self_signed(current):
        raise UntrustedCertificate(
            f"the chain ends at the self-signed {describe(current)}, which is not a trusted root"
        )
    named = [c for c in (*roots, *remaining) if c.subject == current.issuer]
    if named:
        raise CertificateSignatureInvalid(
            f"the signature on {describe(current)} does not verify with the key of its "
            f"issuer {describe(named[0])}"
        )
    raise UntrustedCertificate(
        f"the issuer '{current.issuer.rfc4514_string()}' of {describe(current)} is neither in "
        "the chain nor a trusted root"
    )


def _check_profile(cert: x509.Certificate, *, is_anchor: bool) -> None:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise UnsupportedCertificate(
                f"{describe(cert)} has a {key.key_size}-bit RSA key; at least {MIN_RSA_BITS} "
                "bits are required"
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ALLOWED_CURVES):
            raise UnsupportedCertificate(f"{describe(cert)} uses the curve {key.curve.name}")
    else:
        raise UnsupportedCertificate(
            f"{describe(cert)} has a {type(key).__name__} key; RSA or ECDSA P-256/384/521 "
            "are accepted"
        )
    # The anchor's self-signature is not relied on (§6.1: the anchor is an input).
    if not is_anchor:
        algorithm = cert.signature_hash_algorithm
        if algorithm is None or algorithm.name not in ALLOWED_HASHES:
            name = algorithm.name if algorithm else cert.signature_algorithm_oid.dotted_string
            raise UnsupportedCertificate(f"{describe(cert)} is signed with {name}")
    for extension in cert.extensions:
        # §4.2: a certificate with a critical extension we cannot process MUST be rejected.
        if extension.critical and isinstance(extension.value, x509.UnrecognizedExtension):
            raise UnsupportedCertificate(
                f"{describe(cert)} has the unsupported critical extension "
                f"{extension.oid.dotted_string}"
            )


def _check_validity(cert: x509.Certificate, at: datetime) -> None:
    """§4.1.2.5, §6.1.3 (a)(2): every certificate on the path is valid at ``at``."""
    if at < cert.not_valid_before_utc:
        raise CertificateNotYetValid(
            f"{describe(cert)} is not valid before {cert.not_valid_before_utc.isoformat()} "
            f"(checked at {at.isoformat()})"
        )
    if at > cert.not_valid_after_utc:
        raise CertificateExpired(
            f"{describe(cert)} expired at {cert.not_valid_after_utc.isoformat()} "
            f"(checked at {at.isoformat()})"
        )


def _check_issuers(path: Sequence[x509.Certificate]) -> None:
    """§6.1.4 (k), (l), (m), (n) for every certificate that issued another on the path."""
    for index in range(1, len(path)):
        cert = path[index]
        is_anchor = index == len(path) - 1
        constraints = extension_value(cert, x509.BasicConstraints)
        if constraints is None or not constraints.ca:
            raise IssuerNotCa(
                f"{describe(cert)} issued {describe(path[index - 1])} but is not a CA "
                "(basicConstraints cA=TRUE is required)"
            )
        # pathLenConstraint counts the non-self-issued intermediates below this CA.
        below = sum(1 for c in path[1:index] if c.issuer != c.subject)
        if constraints.path_length is not None and below > constraints.path_length:
            raise PathLengthExceeded(
                f"{describe(cert)} allows {constraints.path_length} intermediate CA(s) below "
                f"it (pathLenConstraint), the chain has {below}"
            )
        usage = extension_value(cert, x509.KeyUsage)
        if (usage is None and not is_anchor) or (usage is not None and not usage.key_cert_sign):
            raise WrongKeyUsage(
                f"{describe(cert)} issued {describe(path[index - 1])} but its keyUsage "
                "lacks keyCertSign"
            )


def _check_leaf_usage(leaf: x509.Certificate) -> None:
    usage = extension_value(leaf, x509.KeyUsage)
    if usage is None or not usage.digital_signature:
        raise WrongKeyUsage(
            f"{describe(leaf)} must have keyUsage digitalSignature: the organisation's key "
            "has to be able to sign"
        )
    if usage.key_cert_sign:
        raise WrongKeyUsage(f"{describe(leaf)} is an end entity but asserts keyCertSign")
    purposes = extension_value(leaf, x509.ExtendedKeyUsage)
    if purposes is not None and not any(oid in purposes for oid in LEAF_EKUS):
        names = ", ".join(p.dotted_string for p in purposes)
        raise WrongKeyUsage(
            f"{describe(leaf)} restricts its key to {names}; clientAuth is required "
            "(or no extendedKeyUsage)"
        )


def _independent_validation(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime,
) -> None:
    # Our checks cover key usage on both sides; the validator adds path building, name
    # constraints and its own algorithm rules. Its CA policy must require basicConstraints.
    ca_policy = ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, Criticality.AGNOSTIC, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store(list(roots)))
        .time(at)
        .max_chain_depth(MAX_CHAIN_CERTIFICATES)
        .extension_policies(ca_policy=ca_policy, ee_policy=ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, list(intermediates))
    except VerificationError as exc:
        raise CertificatePathInvalid(f"path validation refused the chain: {exc}") from None


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier, label: str) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    text = value if isinstance(value, str) else value.decode("utf-8", "replace")
    # RFC 5280 Appendix A: ub-organization-name and ub-common-name are both 64.
    if len(text) > MAX_NAME_LENGTH:
        raise UnsupportedCertificate(
            f"the subject {label} of '{name.rfc4514_string()[:80]}' is longer than "
            f"{MAX_NAME_LENGTH} characters"
        )
    return text


def _organisation(leaf: x509.Certificate) -> str:
    organisation = _attribute(leaf.subject, NameOID.ORGANIZATION_NAME, "O")
    if not organisation or not organisation.strip():
        raise UnsupportedCertificate(
            f"{describe(leaf)} names no organisation (subject O), which becomes the member's name"
        )
    return organisation.strip()
