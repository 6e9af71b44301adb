"""An in-process RFC 3161 timestamp authority.

RFC 3161 §2.4.2 (https://www.rfc-editor.org/rfc/rfc3161#section-2.4.2): the token is
CMS SignedData (RFC 5652 §5) whose eContentType is id-ct-TSTInfo and whose signed
attributes carry contentType, messageDigest and, per RFC 5816 §2.2.1
(https://www.rfc-editor.org/rfc/rfc5816) with RFC 5035 §3, a signingCertificateV2
attribute holding an ESSCertIDv2 (SHA-256 of the TSA certificate, plus its issuer and
serial). TSTInfo: version 1, the hub's policy, the request's messageImprint, a random
128-bit serialNumber, genTime to the second with an accuracy of one second, the nonce
echoed, and the TSA's name as a directoryName. The ASN.1 is built with asn1crypto; the
signature (ECDSA P-256 with SHA-256) is made by ``cryptography``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import algos, cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from evidence.errors import TimestampUnavailable
from evidence.timestamping.protocol import HASH_ALGORITHMS, TimestampToken, check_digest
from evidence.timestamping.tsa_keys import TsaKeyMaterial

__all__ = ["DEFAULT_POLICY", "EmbeddedTimestampAuthority"]

#: The hub TSA's policy: an OID under the ITU-T X.667 UUID arc (2.25), UUID
#: 46b51391-1100-4b61-9416-4e6cdae20467, so it needs no registration.
DEFAULT_POLICY = "2.25.93986162295466549998551579254935651431"


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

        parts = self._parts
        tst_info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": _load(tsp.ObjectIdentifier, parts.policy),
                "message_imprint": {
                    "hash_algorithm": _load(algos.DigestAlgorithm, parts.imprint[hash_algorithm]),
                    "hashed_message": digest,
                },
                "serial_number": serial,
                "gen_time": gen_time,
                "accuracy": _load(tsp.Accuracy, parts.accuracy),
                "nonce": nonce,
                "tsa": _load(asn1_x509.GeneralName, parts.tsa_name),
            }
        )
        token = self._sign(tst_info, cert_req=cert_req)
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

    def _signed_attributes(self, tst_der: bytes) -> bytes:
        """The DER SET OF signed attributes (tag 0x31), as RFC 5652 §5.4 has it signed."""
        message_digest = cms.CMSAttribute(
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]}
        ).dump()
        # DER orders a SET OF by the encodings of its elements (X.690 §11.6).
        encoded = sorted([*self._parts.attributes, message_digest])
        return bytes(cms.CMSAttributes([_load(cms.CMSAttribute, der) for der in encoded]).dump())

    def _sign(self, tst_info: Any, *, cert_req: bool) -> bytes:
        # Each value built here is encoded once and handed on as DER: asn1crypto would
        # encode a built value again on every later dump of anything holding it.
        parts = self._parts
        tst_der: bytes = tst_info.dump()
        signed_attrs = self._signed_attributes(tst_der)
        signature = self._material.private_key.sign(signed_attrs, ec.ECDSA(hashes.SHA256()))
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": _load(cms.SignerIdentifier, parts.sid),
                "digest_algorithm": _load(algos.DigestAlgorithm, parts.imprint["sha256"]),
                "signed_attrs": _load(cms.CMSAttributes, signed_attrs),
                "signature_algorithm": _load(algos.SignedDigestAlgorithm, parts.signature),
                "signature": signature,
            }
        ).dump()
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": _load(cms.DigestAlgorithms, parts.digest_algorithms),
            "encap_content_info": {
                "content_type": "tst_info",
                "content": _load(tsp.TSTInfo, tst_der),
            },
            "signer_infos": [_load(cms.SignerInfo, signer_info)],
        }
        if cert_req:
            # RFC 3161 §2.4.1: with certReq the TSA certificate MUST be present; the root
            # comes too so that the token verifies offline against a pinned root.
            signed_data["certificates"] = _load(cms.CertificateSet, parts.certificates)
        content_info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        return bytes(content_info.dump())


def _load(kind: Any, der: bytes) -> Any:
    """A fresh asn1crypto value over ``der``: it dumps these bytes as they are."""
    return kind.load(der)


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
    tsa_name: bytes  # TSTInfo.tsa: the certificate's subject as a directoryName
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
            tsa_name=asn1_x509.GeneralName(name="directory_name", value=tbs["subject"]).dump(),
            sid=cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": tbs["issuer"], "serial_number": tbs["serial_number"]},
            ).dump(),
            signature=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump(),
            digest_algorithms=cms.DigestAlgorithms([{"algorithm": "sha256"}]).dump(),
            attributes=tuple(attribute.dump() for attribute in attributes),
            certificates=cms.CertificateSet(chain).dump(),
        )
