"""Offline verification of an RFC 3161 time-stamp token.

RFC 3161 §2.4.2 (https://www.rfc-editor.org/rfc/rfc3161#section-2.4.2) and §2.3: the
token is SignedData over a TSTInfo whose messageImprint must be the digest in hand, signed
by a certificate whose only extended key usage is id-kp-timeStamping (critical), valid at
genTime and chaining to a trusted root. RFC 5816 §2.2.1 / RFC 2634 §5.4: the signed
signingCertificate(V2) attribute identifies that certificate by hash. RFC 5652 §11.1:
the contentType attribute equals eContentType.

The CMS signature, the messageDigest attribute and the certificate path (evaluated at
genTime, with OpenSSL's time-stamping purpose) are checked by rfc3161-client's verifier;
this module checks the rest first so that each failure names its reason.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import rfc3161_client
from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from evidence.errors import InvalidTimestampToken
from evidence.timestamping.protocol import HASH_ALGORITHMS
from evidence.timestamping.tsp_asn1 import granted_response

__all__ = ["VerifiedTimestamp", "verify_token"]

_T = TypeVar("_T")
# Hashes an ESSCertID(v2) may name: SHA-1 is fixed by v1 (RFC 2634), v2 allows SHA-2.
_CERT_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "sha1": lambda data: hashlib.sha1(data, usedforsecurity=False).digest(),
    "sha256": lambda data: hashlib.sha256(data).digest(),
    "sha384": lambda data: hashlib.sha384(data).digest(),
    "sha512": lambda data: hashlib.sha512(data).digest(),
}


@dataclass(frozen=True)
class VerifiedTimestamp:
    gen_time: datetime
    serial_number: int
    #: RFC 4514 subject of the TSA certificate.
    tsa_subject: str
    #: Dotted TSA policy OID.
    policy: str
    #: True when the chain ends at one of the caller's ``trust_roots``; False when it was
    #: only checked against the root the token (or ``certificates``) brought along.
    chain_trusted: bool
    hash_algorithm: str
    nonce: int | None
    #: DER certificates from the TSA certificate up its chain, as far as known.
    certificates: tuple[bytes, ...]


def _invalid(reason: str) -> InvalidTimestampToken:
    return InvalidTimestampToken(f"invalid timestamp token: {reason}")


def _library_call(call: Callable[[], _T]) -> _T | str:
    """The result of an rfc3161-client call, or why it failed (a Rust panic included)."""
    try:
        return call()
    except BaseException as exc:
        # pyo3 raises a Rust panic as PanicException, which derives from BaseException.
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        return str(exc) or type(exc).__name__


def _parse(token: bytes) -> tuple[Any, Any, Any]:
    """(SignedData, TSTInfo, SignerInfo) of a well-formed token, as asn1crypto objects."""
    try:
        content_info = cms.ContentInfo.load(token, strict=True)
        if content_info["content_type"].native != "signed_data":
            raise ValueError("not CMS SignedData")
        signed_data = content_info["content"]
        encap = signed_data["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise ValueError("the signed content is not a TSTInfo")
        tst_info = encap["content"].parsed
        tst_info.native  # noqa: B018 (forces parsing of every field)
        signer_infos = signed_data["signer_infos"]
        if len(signer_infos) != 1:
            raise ValueError(f"{len(signer_infos)} signers, one is expected")
        signer_info = signer_infos[0]
        signer_info.native  # noqa: B018
        if signer_info["sid"].name != "issuer_and_serial_number":
            raise ValueError("the signer is not identified by issuer and serial number")
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise _invalid(f"malformed token ({exc})") from None
    return signed_data, tst_info, signer_info


def _load_certificates(signed_data: Any, extra: Iterable[bytes]) -> list[x509.Certificate]:
    ders: list[bytes] = []
    for choice in signed_data["certificates"] or []:
        if choice.name == "certificate":
            ders.append(choice.chosen.dump())
    ders.extend(extra)
    loaded: dict[bytes, x509.Certificate] = {}
    for der in ders:
        try:
            loaded.setdefault(der, x509.load_der_x509_certificate(der))
        except ValueError:
            raise _invalid("a certificate is not DER X.509") from None
    return list(loaded.values())


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _chain(leaf: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    chain = [leaf]
    while len(chain) <= len(pool) and not _issued_by(chain[-1], chain[-1]):
        issuer = next((c for c in pool if c not in chain and _issued_by(chain[-1], c)), None)
        if issuer is None:
            break
        chain.append(issuer)
    return chain


def _check_leaf(leaf: x509.Certificate, gen_time: datetime) -> None:
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise _invalid("not a timeStamping certificate (no extendedKeyUsage)") from None
    except ValueError as exc:
        raise _invalid(f"unreadable TSA certificate extensions ({exc})") from None
    if list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING] or not eku.critical:
        raise _invalid(
            "not a timeStamping certificate (RFC 3161 §2.3: the only extended key usage "
            "must be id-kp-timeStamping, marked critical)"
        )
    if not leaf.not_valid_before_utc <= gen_time <= leaf.not_valid_after_utc:
        raise _invalid(
            f"the TSA certificate was not valid at genTime {gen_time.isoformat()} "
            f"(valid {leaf.not_valid_before_utc.isoformat()} to "
            f"{leaf.not_valid_after_utc.isoformat()})"
        )


def _signing_certificate_id(signer_info: Any) -> tuple[Any, str]:
    """(ESSCertID or ESSCertIDv2 of the signer, its hash algorithm), from the signed
    attributes, after checking their contentType."""
    signed_attrs = signer_info["signed_attrs"]
    if not signed_attrs:
        raise _invalid("the signer has no signed attributes")
    try:
        attributes = {a["type"].native: a["values"] for a in signed_attrs}
        content_type = attributes.get("content_type")
        if content_type is None or content_type[0].native != "tst_info":
            raise _invalid("the contentType attribute is not id-ct-TSTInfo")
        if "signing_certificate_v2" in attributes:
            # The first ESSCertID names the signer's certificate (RFC 5035 §3).
            cert_id = attributes["signing_certificate_v2"][0]["certs"][0]
            return cert_id, cert_id["hash_algorithm"]["algorithm"].native
        if "signing_certificate" in attributes:
            return attributes["signing_certificate"][0]["certs"][0], "sha1"
    except (IndexError, KeyError, ValueError, TypeError) as exc:
        raise _invalid(f"malformed signed attributes ({exc})") from None
    raise _invalid("no signingCertificate or signingCertificateV2 attribute")


def _check_signed_attributes(signer_info: Any, leaf: x509.Certificate) -> None:
    cert_id, algorithm = _signing_certificate_id(signer_info)
    digest = _CERT_HASHES.get(algorithm)
    if digest is None:
        raise _invalid(f"ESSCertID hash algorithm {algorithm} is not accepted")
    if not hmac.compare_digest(
        cert_id["cert_hash"].native, digest(leaf.public_bytes(Encoding.DER))
    ):
        raise _invalid("the signingCertificate attribute names another certificate")
    issuer_serial = cert_id["issuer_serial"]
    if issuer_serial.native is not None and issuer_serial["serial_number"].native != (
        leaf.serial_number
    ):
        raise _invalid("the signingCertificate attribute names another serial number")


def _self_signed(certs: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    return [c for c in certs if _issued_by(c, c)]


def _for_library(token: bytes) -> bytes:
    """``token`` with its SignedData certificates in DER order.

    rfc3161-client's parser insists on the DER ordering of a SET OF (X.690 §11.6), which
    OpenSSL's ``ts -reply`` and other TSAs do not follow for the certificates. That set
    lies outside the signature (RFC 5652 §5.1, §5.4), so re-ordering it changes nothing
    that is verified; the caller's token stays byte for byte as issued.
    """
    content_info = cms.ContentInfo.load(token)
    signed_data = content_info["content"]
    certificates = signed_data["certificates"]
    if not certificates:
        return token
    signed_data["certificates"] = list(certificates)  # asn1crypto sorts a SET OF it encodes
    return bytes(content_info.dump())


def _library_verify(
    token: bytes,
    digest: bytes,
    roots: list[x509.Certificate],
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    token_has_certs: bool,
) -> str | None:
    """None if rfc3161-client verifies the token against ``roots``, else its reason."""
    response = _library_call(
        lambda: rfc3161_client.decode_timestamp_response(granted_response(_for_library(token)))
    )
    if isinstance(response, str):
        raise _invalid(f"malformed token ({response})")
    verifier = rfc3161_client.VerifierBuilder(
        roots=roots,
        intermediates=intermediates,
        tsa_certificate=None if token_has_certs else leaf,
    ).build()
    outcome = _library_call(lambda: verifier.verify(response, digest))
    return outcome if isinstance(outcome, str) else None


def _check_imprint(imprint: Any, digest: bytes, hash_algorithm: str | None) -> str:
    """The imprint's hash algorithm, once it is supported, expected and over ``digest``."""
    algorithm: str = imprint["hash_algorithm"]["algorithm"].native
    if algorithm not in HASH_ALGORITHMS:
        raise _invalid(f"unsupported message imprint hash algorithm {algorithm}")
    if hash_algorithm is not None and algorithm != hash_algorithm:
        raise _invalid(f"the imprint is {algorithm}, {hash_algorithm} was expected")
    if len(digest) != HASH_ALGORITHMS[algorithm] or not hmac.compare_digest(
        imprint["hashed_message"].native, digest
    ):
        raise _invalid("message imprint mismatch: the token is over another digest")
    return algorithm


def _signer_certificate(signer_info: Any, pool: list[x509.Certificate]) -> x509.Certificate:
    """The certificate the signer is identified by (issuer and serial number) in ``pool``."""
    sid = signer_info["sid"].chosen
    issuer_der, serial = sid["issuer"].dump(), sid["serial_number"].native
    leaf = next(
        (c for c in pool if c.serial_number == serial and c.issuer.public_bytes() == issuer_der),
        None,
    )
    if leaf is None:
        raise _invalid("the TSA certificate is neither in the token nor given")
    return leaf


def _check_path(
    token: bytes,
    expected: bytes,
    leaf: x509.Certificate,
    chain: list[x509.Certificate],
    trust_roots: Sequence[x509.Certificate] | None,
    has_certs: bool,
) -> None:
    """The signature and certificate path, by rfc3161-client, against ``trust_roots`` or,
    without them, the chain's own self-signed root."""
    # Only non-self-signed certificates may help build the path: a root that came with
    # the token must never become a trust anchor by that route.
    intermediates = [c for c in chain[1:] if not _issued_by(c, c)]
    own_roots = _self_signed(chain)
    if trust_roots is not None:
        if not trust_roots:
            raise _invalid("untrusted root: the list of trust roots is empty")
        reason = _library_verify(token, expected, list(trust_roots), leaf, intermediates, has_certs)
        if reason is not None:
            if (
                own_roots
                and _library_verify(token, expected, own_roots, leaf, intermediates, has_certs)
                is None
            ):
                raise _invalid("untrusted root: the TSA chain ends at a root that is not trusted")
            raise _invalid(f"bad signature or certificate chain ({reason})")
    else:
        if not own_roots:
            raise _invalid("no trust roots given and the TSA chain has no root certificate")
        reason = _library_verify(token, expected, own_roots, leaf, intermediates, has_certs)
        if reason is not None:
            raise _invalid(f"bad signature or certificate chain ({reason})")


def verify_token(
    token: bytes,
    digest: bytes,
    *,
    trust_roots: Sequence[x509.Certificate] | None = None,
    certificates: Sequence[bytes] = (),
    nonce: int | None = None,
    hash_algorithm: str | None = None,
) -> VerifiedTimestamp:
    """Check that the DER token ``token`` time-stamps ``digest``; :class:`InvalidTimestampToken`
    with the reason if not.

    ``certificates`` (DER) complete a token issued without its chain. Without
    ``trust_roots`` the chain is checked against its own self-signed root and the
    result says ``chain_trusted=False``. ``nonce`` and ``hash_algorithm``, when given,
    must be the token's.
    """
    if not isinstance(token, bytes) or not isinstance(digest, bytes):
        raise _invalid("the token and the digest are bytes")
    signed_data, tst_info, signer_info = _parse(token)
    imprint = tst_info["message_imprint"]
    algorithm = _check_imprint(imprint, digest, hash_algorithm)
    token_nonce: int | None = tst_info["nonce"].native
    if nonce is not None and token_nonce != nonce:
        raise _invalid("nonce mismatch: the token does not answer this request")
    gen_time: datetime = tst_info["gen_time"].native

    pool = _load_certificates(signed_data, certificates)
    leaf = _signer_certificate(signer_info, pool)
    _check_leaf(leaf, gen_time)
    _check_signed_attributes(signer_info, leaf)

    chain = _chain(leaf, pool)
    has_certs = bool(signed_data["certificates"])
    expected = imprint["hashed_message"].native
    _check_path(token, expected, leaf, chain, trust_roots, has_certs)

    return VerifiedTimestamp(
        gen_time=gen_time,
        serial_number=tst_info["serial_number"].native,
        tsa_subject=leaf.subject.rfc4514_string(),
        policy=tst_info["policy"].dotted,
        chain_trusted=trust_roots is not None,
        hash_algorithm=algorithm,
        nonce=token_nonce,
        certificates=tuple(c.public_bytes(Encoding.DER) for c in chain),
    )
