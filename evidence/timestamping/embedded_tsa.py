"""An in-process RFC 3161 timestamp authority.

RFC 3161 §2.4.2 (https://www.rfc-editor.org/rfc/rfc3161#section-2.4.2): the token is
CMS SignedData (RFC 5652 §5) whose eContentType is id-ct-TSTInfo and whose signed
attributes carry contentType, messageDigest and, per RFC 5816 §2.2.1
(https://www.rfc-editor.org/rfc/rfc5816) with RFC 5035 §3, a signingCertificateV2
attribute holding an ESSCertIDv2 (SHA-256 of the TSA certificate, plus its issuer and
serial). TSTInfo: version 1, the hub's policy, the request's messageImprint, a random
128-bit serialNumber, genTime to the second with an accuracy of one second, the nonce
echoed, and the TSA's name as a directoryName. The ASN.1 is built with asn1crypto; the
signature (ECDSA P-256 with SHA-256) is made by ``cryptography``. The constant parts
are encoded by asn1crypto once; each token is then spliced together in DER
(:mod:`evidence.timestamping.der`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import algos, cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from evidence.errors import TimestampUnavailable
from evidence.timestamping import der
from evidence.timestamping.protocol import HASH_ALGORITHMS, TimestampToken, check_digest
from evidence.timestamping.tsa_keys import TsaKeyMaterial

__all__ = ["DEFAULT_POLICY", "EmbeddedTimestampAuthority"]

#: The hub TSA's policy: an OID under the ITU-T X.667 UUID arc (2.25), UUID
#: 46b51391-1100-4b61-9416-4e6cdae20467, so it needs no registration.
DEFAULT_POLICY = "2.25.93986162295466549998551579254935651431"


_VERSION_1 = der.integer(1)
_VERSION_3 = der.integer(3)
_ID_CT_TST_INFO = cms.ContentType("tst_info").dump()  # 1.2.840.113549.1.9.16.1.4
_ID_SIGNED_DATA = cms.ContentType("signed_data").dump()  # 1.2.840.113549.1.7.2
_MESSAGE_DIGEST = cms.CMSAttributeType("message_digest").dump()  # 1.2.840.113549.1.9.4


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EmbeddedTimestampAuthority:
    """Issues RFC 3161 tokens signed with the hub's TSA key (see :class:`TsaKeyMaterial`)."""

    def __init__(
        self,
        material: TsaKeyMaterial,
        *,
        name: str = "embedded",
        policy: str = DEFAULT_POLICY,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.name = name
        self.policy = policy
        self._material = material
        self._clock = clock
        self._parts = _TokenParts.of(material, policy)
        self._chain = material.chain  # DER, encoded once

    @property
    def _cert_hash(self) -> bytes:
        """The ESSCertIDv2 certHash the tokens carry (SHA-256 of the TSA certificate)."""
        return self._parts.cert_hash

    @_cert_hash.setter
    def _cert_hash(self, value: bytes) -> None:
        # Only tests set this: to forge tokens whose attribute names another certificate.
        self._parts = _TokenParts.of(self._material, self.policy, cert_hash=value)

    @property
    def certificates(self) -> tuple[bytes, ...]:
        """DER chain, signing certificate first, then the root."""
        return self._chain

    def timestamp(
        self,
        digest: bytes,
        *,
        hash_algorithm: str = "sha256",
        nonce: int | None = None,
        cert_req: bool = True,
    ) -> TimestampToken:
        """A token over ``digest``; ``cert_req`` puts the chain in the token (§2.4.1)."""
        check_digest(digest, hash_algorithm)
        if nonce is not None and (not isinstance(nonce, int) or nonce < 0):
            raise ValueError("a nonce is a non-negative integer")
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the TSA clock must return timezone-aware datetimes")
        # Whole seconds (the verifiers' common ground); accuracy says it is within 1 s.
        gen_time = now.astimezone(UTC).replace(microsecond=0)
        self._check_certificate_at(gen_time)
        serial = secrets.randbelow(2**128 - 1) + 1

        tst_der = self._tst_info(digest, hash_algorithm, serial, gen_time, nonce)
        token = self._sign(tst_der, cert_req=cert_req)
        return TimestampToken(
            token=token,
            gen_time=gen_time,
            serial_number=serial,
            tsa=self.name,
            hash_algorithm=hash_algorithm,
            message_imprint=bytes(digest),
            certificates=self._chain,
        )

    def _check_certificate_at(self, gen_time: datetime) -> None:
        # A token whose genTime falls outside the signing certificate's validity never
        # verifies (RFC 3161 §4 / RFC 5280 §6): refuse rather than issue one. The hub
        # renews the certificate in TsaKeyMaterial.load_or_create at start-up.
        cert = self._material.certificate
        if not cert.not_valid_before_utc <= gen_time <= cert.not_valid_after_utc:
            raise TimestampUnavailable(
                f"the {self.name} TSA certificate is not valid at {gen_time.isoformat()}; "
                "reload the TSA key material to renew it"
            )

    def _tst_info(
        self, digest: bytes, hash_algorithm: str, serial: int, gen_time: datetime, nonce: int | None
    ) -> bytes:
        """TSTInfo's DER (RFC 3161 §2.4.2), the constant parts spliced in as encoded once."""
        parts = self._parts
        return der.sequence(
            _VERSION_1,
            parts.policy,
            der.sequence(parts.imprint[hash_algorithm], der.octet_string(digest)),
            der.integer(serial),
            der.generalized_time(gen_time),
            parts.accuracy,
            der.integer(nonce) if nonce is not None else b"",
            parts.tsa,  # [0] EXPLICIT GeneralName
        )

    def _signed_attributes(self, tst_der: bytes) -> bytes:
        """The DER SET OF signed attributes (tag 0x31), as RFC 5652 §5.4 has it signed."""
        message_digest = der.sequence(
            _MESSAGE_DIGEST, der.set_of(der.octet_string(hashlib.sha256(tst_der).digest()))
        )
        # DER orders a SET OF by the encodings of its elements (X.690 §11.6).
        return der.set_of(*sorted([*self._parts.attributes, message_digest]))

    def _sign(self, tst_der: bytes, *, cert_req: bool) -> bytes:
        """ContentInfo(SignedData) over ``tst_der`` (RFC 5652 §5.1, §5.3), by concatenation:
        asn1crypto built every token's structure again at ~10x the cost of signing it.
        ``tests/evidence/test_embedded_tsa.py`` re-encodes tokens with asn1crypto and
        compares bytes."""
        parts = self._parts
        signed_attrs = self._signed_attributes(tst_der)
        signature = self._material.private_key.sign(signed_attrs, ec.ECDSA(hashes.SHA256()))
        signer_info = der.sequence(
            _VERSION_1,
            parts.sid,
            parts.imprint["sha256"],
            der.implicit(0, signed_attrs),  # signedAttrs [0] IMPLICIT
            parts.signature,
            der.octet_string(signature),
        )
        encap = der.sequence(_ID_CT_TST_INFO, der.explicit(0, der.octet_string(tst_der)))
        signed_data = der.sequence(
            _VERSION_3,
            parts.digest_algorithms,
            encap,
            # RFC 3161 §2.4.1: with certReq the TSA certificate MUST be present; the root
            # comes too so that the token verifies offline against a pinned root.
            der.implicit(0, parts.certificates) if cert_req else b"",  # [0] IMPLICIT
            der.set_of(signer_info),
        )
        return der.sequence(_ID_SIGNED_DATA, der.explicit(0, signed_data))


@dataclass(frozen=True, slots=True)
class _TokenParts:
    """The DER of every part of a token that does not change from one token to the next.

    asn1crypto encodes a value built from Python objects again on each dump of anything
    that holds it (a name, a certificate, an OID with a 128-bit arc); a value loaded
    from DER dumps its bytes unchanged. So these are encoded once, here.
    """

    cert_hash: bytes
    policy: bytes
    imprint: dict[str, bytes]  # message-imprint AlgorithmIdentifier per hash algorithm
    accuracy: bytes
    tsa: bytes  # TSTInfo.tsa: [0] EXPLICIT, the certificate's subject as a directoryName
    sid: bytes  # SignerIdentifier: issuerAndSerialNumber
    signature: bytes  # ecdsa-with-SHA256
    digest_algorithms: bytes
    attributes: tuple[bytes, ...]  # contentType and signingCertificateV2
    certificates: bytes  # the CertificateSet: signing certificate, then the root

    @classmethod
    def of(
        cls, material: TsaKeyMaterial, policy: str, *, cert_hash: bytes | None = None
    ) -> _TokenParts:
        cert_der = material.certificate.public_bytes(Encoding.DER)
        cert_hash = cert_hash if cert_hash is not None else hashlib.sha256(cert_der).digest()
        tbs = asn1_x509.Certificate.load(cert_der)["tbs_certificate"]
        ess_cert_id = tsp.ESSCertIDv2(
            {
                # hashAlgorithm left at its DEFAULT (SHA-256), so DER omits it (RFC 5816 §2.2.1).
                "cert_hash": cert_hash,
                "issuer_serial": {
                    "issuer": [asn1_x509.GeneralName(name="directory_name", value=tbs["issuer"])],
                    "serial_number": tbs["serial_number"],
                },
            }
        )
        attributes = (
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [tsp.SigningCertificateV2({"certs": [ess_cert_id]})],
                }
            ),
        )
        chain = [asn1_x509.Certificate.load(der) for der in material.chain]  # TSA first
        return cls(
            cert_hash=cert_hash,
            policy=tsp.ObjectIdentifier(policy).dump(),
            imprint={
                name: algos.DigestAlgorithm({"algorithm": name}).dump() for name in HASH_ALGORITHMS
            },
            accuracy=tsp.Accuracy({"seconds": 1}).dump(),
            tsa=der.explicit(
                0, asn1_x509.GeneralName(name="directory_name", value=tbs["subject"]).dump()
            ),
            sid=cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": tbs["issuer"], "serial_number": tbs["serial_number"]},
            ).dump(),
            signature=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump(),
            digest_algorithms=cms.DigestAlgorithms([{"algorithm": "sha256"}]).dump(),
            attributes=tuple(attribute.dump() for attribute in attributes),
            certificates=cms.CertificateSet(chain).dump(),
        )
