"""Errors of the PDF custody letter: making one (``EvidenceError``) and judging one
(``ProofError`` problems, upper snake case like the other verification problems)."""

from __future__ import annotations

from credentials.errors import ProofError
from evidence.errors import EvidenceError


class LetterPdfError(EvidenceError):
    code = "letter_pdf_error"
    status_code = 500


class FontMissing(LetterPdfError):
    """No CJK font to render the bilingual page with."""

    code = "pdf_font_missing"
    status_code = 503


class LetterNotSignable(LetterPdfError):
    """A letter the notary will not put its document signature on."""

    code = "letter_not_signable"
    status_code = 422


class DocumentKeyError(LetterPdfError):
    """The document-signing key or certificate is missing, mismatched or unusable."""

    code = "document_key_error"
    status_code = 500


class ChainClockAhead(LetterPdfError):
    code = "chain_clock_ahead"
    status_code = 503


class NotAPdf(LetterPdfError):
    code = "invalid_pdf"
    status_code = 400


# -- verification problems ------------------------------------------------------------------
class PdfSignatureInvalid(ProofError):
    """No signature, a broken one, or one that does not cover the whole file."""

    code = "PDF_SIGNATURE_INVALID"


class PdfModified(ProofError):
    """Bytes appended after the signature (an incremental update)."""

    code = "PDF_MODIFIED_AFTER_SIGNING"


class PdfTimestampInvalid(ProofError):
    code = "PDF_TIMESTAMP_INVALID"


class PdfCredentialMissing(ProofError):
    code = "PDF_CREDENTIAL_MISSING"


class SignerNotNotary(ProofError):
    """The signing certificate names another DID than the credential's issuer."""

    code = "PDF_SIGNER_NOT_ISSUER"


class SignerNotPublished(ProofError):
    """The signing certificate's fingerprint is not in the issuer's DID document."""

    code = "PDF_SIGNER_NOT_PUBLISHED"


class PageFactsMismatch(ProofError):
    """What the page shows is not what the embedded credential says."""

    code = "PDF_FACTS_MISMATCH"
