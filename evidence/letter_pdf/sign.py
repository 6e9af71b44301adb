"""Signing the whole letter PDF: PAdES-B-T (ETSI EN 319 142-1 §6.3, levels B-B and B-T).

pyHanko's :class:`~pyhanko.sign.signers.PdfSigner` writes one incremental update that
attaches the credential (:mod:`.attach`) and adds the signature field, a CAdES detached
signature (``/ETSI.CAdES.detached``) with the signing certificate as a signed attribute,
and an RFC 3161 signature timestamp from the hub's TSA (:mod:`.timestamper`). The
signature covers every byte of the file but the signature value itself, so any later change
shows.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from evidence.letter_pdf.attach import embed_letter
from evidence.letter_pdf.errors import LetterPdfError
from evidence.letter_pdf.signing_keys import DocumentSigningKey
from evidence.letter_pdf.timestamper import AuthorityTimeStamper
from evidence.timestamping.protocol import TimestampAuthority

FIELD_NAME = "NotaryHubSignature"


def _signer(key: DocumentSigningKey) -> signers.SimpleSigner:
    cert = asn1_x509.Certificate.load(key.certificate.public_bytes(Encoding.DER))
    private = asn1_keys.PrivateKeyInfo.load(
        key.private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    )
    return signers.SimpleSigner(
        signing_cert=cert,
        signing_key=private,
        cert_registry=SimpleCertificateStore.from_certs([cert]),  # type: ignore[no-untyped-call]
    )


def sign_letter_pdf(
    unsigned: bytes,
    letter: Mapping[str, Any],
    facts: Mapping[str, Any],
    key: DocumentSigningKey,
    authority: TimestampAuthority,
) -> bytes:
    """``unsigned`` (the rendered page) with ``letter`` and ``facts`` attached, signed."""
    writer = IncrementalPdfFileWriter(io.BytesIO(unsigned), strict=False)
    embed_letter(writer, letter, facts)
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="Custody letter issued by the notary",
        name="Notary Hub",
    )
    pdf_signer = signers.PdfSigner(
        metadata, signer=_signer(key), timestamper=AuthorityTimeStamper(authority)
    )
    try:
        output = pdf_signer.sign_pdf(writer, output=io.BytesIO())
    except (SigningError, TimestampRequestError, PdfError) as exc:
        raise LetterPdfError(f"the letter PDF could not be signed: {exc}") from exc
    return bytes(output.getvalue())
