"""Verifying a PDF custody letter with a chain node and nothing else.

Five checks, each with its own problem code, on top of the letter's own
(:class:`~evidence.deposit.letter_verification.LetterVerifier`: proof, issuer trust from
the chain, status, timestamp, anchor and, given the file, its digests):

``pdfSignature``
    pyHanko validates the one PAdES signature: intact, cryptographically valid, and
    covering the entire file (``SignatureCoverageLevel.ENTIRE_FILE``); bytes appended
    after it, an incremental update however harmless, are refused
    (``PDF_MODIFIED_AFTER_SIGNING``): the notary vouches for exactly what it wrote.
``pdfTimestamp``
    the signature's RFC 3161 token (PAdES-B-T) is intact and valid; its TSA chain is
    trusted when it ends in a root the verifier names, else reported as a warning, as
    for the letter's own token.
``pdfCredential``
    the credential is attached (``letter.json``).
``pdfSigner``
    the signing certificate's subjectAltName URI is the credential's issuer, and its
    SHA-256 fingerprint is a ``NotaryDocumentSigning`` service of that DID resolved as of
    the signature's timestamp (:mod:`.publication`): a certificate anyone can make with
    the notary's DID in it is worth nothing unless the notary listed it on chain.
``pdfFacts``
    the facts stored with the page (``page-facts.json``, written in the same signed
    revision as the page) equal the facts recomputed from the attached credential
    (:func:`.facts.letter_facts`). Why stored facts and not the drawn text read back:
    text extraction from a PDF is lossy (wrapping, glyph order, font mapping) so it would
    compare approximately; the stored facts compare exactly, and since the page and the
    facts are drawn from one object in one signed revision, a page that differs from its
    credential means a signer that signed it, which the other checks have identified.
    The page's notes (the notary's name, the status as checked when made) are not facts
    of the credential and are not compared; status is checked live.

Other letters signed the same way (a draw's result letter, :mod:`evidence.draw.letter_pdf`)
are read through a :class:`LetterKind` named by their credential's type: its own check of
the credential and its own page facts; the five PDF checks are the same.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from credentials.verification import Problem, VerificationResult
from did_registry.errors import DidError
from did_registry.resolution import DidResolver, ResolutionOptions
from evidence.deposit.letter_verification import LetterVerifier
from evidence.digests import Digests
from evidence.letter_pdf.attach import CREDENTIAL_FILE, FACTS_FILE, attachments, embedded_json
from evidence.letter_pdf.errors import (
    LetterNotSignable,
    NotAPdf,
    PageFactsMismatch,
    PdfCredentialMissing,
    PdfModified,
    PdfSignatureInvalid,
    PdfTimestampInvalid,
    SignerNotNotary,
    SignerNotPublished,
)
from evidence.letter_pdf.facts import letter_facts
from evidence.letter_pdf.publication import published_fingerprints
from evidence.letter_pdf.signing_keys import fingerprint, san_uris

MAX_PDF_BYTES = 8 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
# What a hostile file can make the PDF and CMS parsers raise (a cyclic structure included).
_MALFORMED = (
    SignatureValidationError,
    PdfError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    RecursionError,
)


def is_pdf(data: bytes) -> bool:
    """PDF's header (ISO 32000-2 §7.5.2) within the first KiB, as readers accept it."""
    return PDF_MAGIC in data[:1024]


def _open(data: bytes) -> PdfFileReader:
    if len(data) > MAX_PDF_BYTES:
        raise NotAPdf(f"the PDF is {len(data)} bytes; a letter is at most {MAX_PDF_BYTES}")
    if not is_pdf(data):
        raise NotAPdf("not a PDF: no %PDF- header")
    try:
        return PdfFileReader(io.BytesIO(data), strict=False)
    except _MALFORMED as exc:
        raise NotAPdf(f"the PDF does not parse: {exc}") from None


def _token_roots(signature: EmbeddedPdfSignature) -> list[asn1_x509.Certificate]:
    """The certificates the signature's timestamp token carries: self-signed ones if any."""
    attributes = signature.signer_info["unsigned_attrs"]
    certs: list[asn1_x509.Certificate] = []
    for attribute in attributes if attributes.native is not None else []:
        if attribute["type"].native != "signature_time_stamp_token":
            continue
        for token in attribute["values"]:
            content = token["content"] if isinstance(token, cms.ContentInfo) else None
            if content is not None:
                certs += [c.chosen for c in content["certificates"]]
    roots = [c for c in certs if c.self_signed != "no"]
    return roots or certs


def attachments_of(data: bytes) -> dict[str, bytes]:
    """The attached files of a PDF letter (``{}`` when it has none or does not parse)."""
    try:
        return attachments(_open(data))
    except NotAPdf:
        return {}


@dataclass(frozen=True)
class LetterKind:
    """How a PDF of another kind of letter is read (a draw's result letter): the check of
    its attached credential, and the facts its page shows, recomputed from that credential
    (:class:`LetterNotSignable` when it has none)."""

    check: Callable[[dict[str, Any]], VerificationResult]
    facts: Callable[[dict[str, Any]], dict[str, Any]]


def _deposit_facts(credential: dict[str, Any]) -> dict[str, Any]:
    return letter_facts(credential).to_json()


def _types(credential: dict[str, Any]) -> list[str]:
    kinds = credential.get("type")
    return [k for k in (kinds if isinstance(kinds, list) else [kinds]) if isinstance(k, str)]


@dataclass(frozen=True)
class _Signature:
    certificate: x509.Certificate
    time: datetime  # of the signature's RFC 3161 timestamp


class PdfLetterVerifier:
    def __init__(
        self,
        letters: LetterVerifier,
        resolver: DidResolver,
        *,
        tsa_roots: Sequence[x509.Certificate] = (),
        kinds: Mapping[str, LetterKind] | None = None,
    ) -> None:
        """``kinds``: credential type → how to read a letter that is not a custody letter."""
        self._letters = letters
        self._resolver = resolver
        self._kinds = dict(kinds or {})
        self._roots = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in tsa_roots]

    def verify(
        self,
        data: bytes,
        *,
        content: Iterable[bytes] | None = None,
        digests: Digests | None = None,
    ) -> VerificationResult:
        """The letter's checks and the PDF's; :class:`NotAPdf` for what is not a PDF at all."""
        reader = _open(data)
        files = attachments(reader)
        credential = embedded_json(files, CREDENTIAL_FILE)
        if not isinstance(credential, dict):
            result = VerificationResult()
            result.fail("pdfCredential", PdfCredentialMissing(f"no {CREDENTIAL_FILE} attached"))
        else:
            kind = self._kind(credential)
            if kind is not None:  # another kind of letter: it has no deposited file
                result = kind.check(credential)
            else:
                result = self._letters.verify(credential, content=content, digests=digests)
            result.passed("pdfCredential")
        try:
            signatures = reader.embedded_signatures
        except _MALFORMED as exc:
            raise NotAPdf(f"the PDF's signature fields do not parse: {exc}") from None
        if len(signatures) != 1:
            found = f"{len(signatures)} signatures" if signatures else "no signature"
            result.fail("pdfSignature", PdfSignatureInvalid(f"a letter has one signature: {found}"))
            return result
        signature = self._signature(signatures[0], result)
        if signature is None or not isinstance(credential, dict):
            return result
        self._signer(signature, credential, result)
        self._facts(files, credential, result)
        return result

    def _kind(self, credential: dict[str, Any]) -> LetterKind | None:
        return next((self._kinds[k] for k in _types(credential) if k in self._kinds), None)

    def _signature(
        self, embedded: EmbeddedPdfSignature, result: VerificationResult
    ) -> _Signature | None:
        try:
            leaf = embedded.signer_cert
            roots = self._roots or _token_roots(embedded)
            status = validate_pdf_signature(
                embedded,
                signer_validation_context=ValidationContext(trust_roots=[leaf]),
                ts_validation_context=ValidationContext(trust_roots=roots),
                # Any update after the signature is refused outright (coverage below), so
                # pyHanko's judging of which later changes are harmless is not needed.
                skip_diff=True,
            )
        except _MALFORMED as exc:
            result.fail("pdfSignature", PdfSignatureInvalid(f"the signature does not check: {exc}"))
            return None
        if not (status.intact and status.valid):
            result.fail(
                "pdfSignature", PdfSignatureInvalid("the signature does not match the file")
            )
            return None
        if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            result.fail(
                "pdfSignature",
                PdfModified("the file was changed after it was signed (an incremental update)"),
            )
            return None
        result.passed("pdfSignature")
        stamp = status.timestamp_validity
        if stamp is None or not (stamp.intact and stamp.valid):
            result.fail(
                "pdfTimestamp", PdfTimestampInvalid("no valid RFC 3161 signature timestamp")
            )
            return None
        result.passed("pdfTimestamp")
        if not self._roots or not stamp.trusted:
            result.warnings.append(
                Problem(
                    "pdfTimestamp",
                    "UNTRUSTED_TSA",
                    "the signature timestamp's TSA chain ends in a root no --tsa-root names",
                )
            )
        certificate = x509.load_der_x509_certificate(leaf.dump())
        return _Signature(certificate, stamp.timestamp)

    def _signer(
        self, signature: _Signature, credential: dict[str, Any], result: VerificationResult
    ) -> None:
        issuer = credential.get("issuer")
        issuer = issuer.get("id") if isinstance(issuer, dict) else issuer
        if not isinstance(issuer, str) or san_uris(signature.certificate) != [issuer]:
            named = ", ".join(san_uris(signature.certificate)) or "no DID"
            result.fail(
                "pdfSigner",
                SignerNotNotary(f"signed by a certificate for {named[:200]}, not the issuer"),
            )
            return
        options = ResolutionOptions(version_time=int(signature.time.timestamp()))
        try:
            document = self._resolver.resolve(issuer, options).did_document
        except DidError as exc:
            result.fail("pdfSigner", SignerNotPublished(f"{issuer} did not resolve: {exc.message}"))
            return
        if fingerprint(signature.certificate) not in published_fingerprints(document):
            result.fail(
                "pdfSigner",
                SignerNotPublished(
                    f"the signing certificate is not one {issuer} published as of "
                    f"{signature.time.isoformat()}"
                ),
            )
            return
        result.passed("pdfSigner")
        result.details["pdf"] = {
            "signedAt": signature.time.isoformat(),
            "certificate": fingerprint(signature.certificate),
        }

    def _facts(
        self, files: dict[str, bytes], credential: dict[str, Any], result: VerificationResult
    ) -> None:
        stored = embedded_json(files, FACTS_FILE)
        shown = stored.get("facts") if isinstance(stored, dict) else None
        kind = self._kind(credential)
        try:
            expected = (kind.facts if kind is not None else _deposit_facts)(credential)
        except LetterNotSignable as exc:
            result.fail("pdfFacts", PageFactsMismatch(f"the credential has no page: {exc.message}"))
            return
        if shown != expected:
            differing = sorted(
                k for k in expected if not isinstance(shown, dict) or shown.get(k) != expected[k]
            )
            result.fail(
                "pdfFacts",
                PageFactsMismatch(
                    "the page does not show the attached credential"
                    + (f": {', '.join(differing)}" if differing else "")
                ),
            )
            return
        result.passed("pdfFacts")
