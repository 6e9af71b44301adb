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
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from evidence.errors import TimestampUnavailable
from evidence.timestamping.protocol import TimestampToken, check_digest
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
        cert_der = material.certificate.public_bytes(Encoding.DER)
        self._cert = asn1_x509.Certificate.load(cert_der)
        self._cert_hash = hashlib.sha256(cert_der).digest()
        # The parts of every token that never change, encoded once: asn1crypto re-encodes
        # a value built from parsed pieces on every dump (names, certificates), while a
        # value loaded from DER dumps its bytes as they are.
        tbs = self._cert["tbs_certificate"]
        self._tsa_name = asn1_x509.GeneralName(name="directory_name", value=tbs["subject"]).dump()
        self._sid = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": tbs["issuer"], "serial_number": tbs["serial_number"]},
        ).dump()
        self._fixed_attributes = tuple(
            attribute.dump() for attribute in self._constant_attributes()
        )
        self._certificate_set = cms.CertificateSet(
            [asn1_x509.Certificate.load(der) for der in material.chain]
        ).dump()

    @property
    def certificates(self) -> tuple[bytes, ...]:
        """DER chain, signing certificate first, then the root."""
        return self._material.chain

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

        tst_info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": self.policy,
                "message_imprint": {
                    "hash_algorithm": {"algorithm": hash_algorithm},
                    "hashed_message": digest,
                },
                "serial_number": serial,
                "gen_time": gen_time,
                "accuracy": {"seconds": 1},
                "nonce": nonce,
                "tsa": asn1_x509.GeneralName.load(self._tsa_name),
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
            certificates=self._material.chain,
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

    def _constant_attributes(self) -> list[Any]:
        """contentType and signingCertificateV2: the signed attributes every token shares."""
        tbs = self._cert["tbs_certificate"]
        ess_cert_id = tsp.ESSCertIDv2(
            {
                # hashAlgorithm left at its DEFAULT (SHA-256), so DER omits it (RFC 5816 §2.2.1).
                "cert_hash": self._cert_hash,
                "issuer_serial": {
                    "issuer": [asn1_x509.GeneralName(name="directory_name", value=tbs["issuer"])],
                    "serial_number": tbs["serial_number"],
                },
            }
        )
        return [
            cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
            cms.CMSAttribute(
                {
                    "type": "signing_certificate_v2",
                    "values": [tsp.SigningCertificateV2({"certs": [ess_cert_id]})],
                }
            ),
        ]

    def _signed_attributes(self, tst_der: bytes) -> bytes:
        """The DER SET OF signed attributes (tag 0x31), as RFC 5652 §5.4 has it signed."""
        message_digest = cms.CMSAttribute(
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]}
        ).dump()
        # DER orders a SET OF by the encodings of its elements (X.690 §11.6).
        encoded = sorted([*self._fixed_attributes, message_digest])
        return bytes(cms.CMSAttributes([cms.CMSAttribute.load(der) for der in encoded]).dump())

    def _sign(self, tst_info: Any, *, cert_req: bool) -> bytes:
        # Each value built here is encoded once and handed on as DER: asn1crypto would
        # encode a built value again on every later dump of anything holding it.
        tst_der: bytes = tst_info.dump()
        signed_attrs = self._signed_attributes(tst_der)
        signature = self._material.private_key.sign(signed_attrs, ec.ECDSA(hashes.SHA256()))
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(self._sid),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": cms.CMSAttributes.load(signed_attrs),
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": signature,
            }
        ).dump()
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": tsp.TSTInfo.load(tst_der),
            },
            "signer_infos": [cms.SignerInfo.load(signer_info)],
        }
        if cert_req:
            # RFC 3161 §2.4.1: with certReq the TSA certificate MUST be present; the root
            # comes too so that the token verifies offline against a pinned root.
            signed_data["certificates"] = cms.CertificateSet.load(self._certificate_set)
        content_info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
        return bytes(content_info.dump())
