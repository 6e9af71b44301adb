"""The capture custody letter as a signed PDF, in the deposit letter's layout (issue 15
item 6: "It comes with a PDF letter like the deposit's").

One A4 page in Chinese and English drawn from the signed ``EvidenceCaptureCredential``
alone (:func:`capture_rows`), a QR code to the letter's public status page, the
credential and the page's facts attached, the whole file signed PAdES-B-T with the
notary's document-signing key and time-stamped (:func:`evidence.letter_pdf.render.render_letter`,
:func:`evidence.letter_pdf.sign.sign_letter_pdf`). ``notary-hub verify LETTER.pdf --file
capture.wacz`` checks the PDF as it checks a deposit's, and its credential with
:class:`~evidence.capture.capture_verification.CaptureLetterVerifier`
(:func:`capture_pdf_kind`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from credentials.verification import VerificationResult
from evidence.capture.capture_letter import CREDENTIAL_TYPE
from evidence.digests import SHA256, parse_digest
from evidence.errors import EvidenceError
from evidence.letter_pdf.build import LetterPdfs, verification_link
from evidence.letter_pdf.errors import LetterNotSignable
from evidence.letter_pdf.facts import token_time_and_name
from evidence.letter_pdf.render import SIGNED_NOTES, LetterPage, render_letter
from evidence.letter_pdf.verify import LetterKind

SERVICE = "captures"  # the QR's link: /evidence/letters/captures/{id}
TITLE = "远程取证函 Remote Capture Letter"
INTRO = (
    "本函证明下列网页取证在公证处控制的洁净远程浏览器中完成，全过程录制、哈希链存证、加盖可信时间戳并上链。",
    "The capture below was made in a clean remote browser the notary controls; the whole "
    "session was recorded, hash-chained, time-stamped and anchored on chain.",
)
NOTES = (
    "扫描二维码查询本函状态。 Scan the QR code for this letter's status.",
    *SIGNED_NOTES,
    "核验 Verify: notary-hub verify LETTER --file capture.wacz --rpc <chain node URL>",
)


def _evidence(letter: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for entry in letter.get("evidence") or []:
        if isinstance(entry, Mapping) and kind in (entry.get("type") or []):
            return entry
    return {}


def _hex(subject: Mapping[str, Any], member: str) -> str:
    return parse_digest(subject[member], SHA256).value.hex()


def capture_rows(letter: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(bilingual label, value) of an ``EvidenceCaptureCredential``, in page order."""
    subject = letter["credentialSubject"]
    stamp = _evidence(letter, "RFC3161TimestampEvidence")
    anchor = _evidence(letter, "ChainAnchorEvidence")
    tsa_time, tsa_name = token_time_and_name(stamp.get("timeStampToken"))
    interrupted = subject.get("interruptionReason") if subject.get("captureInterrupted") else None
    listed: list[tuple[str, object]] = [
        ("取证函编号 Letter ID", letter["id"]),
        ("取证编号 Capture ID", subject["captureId"]),
        ("申请人 Holder", subject["id"]),
        ("目标网址 Target", subject.get("targetUrl")),
        ("开始时间 Started", subject["captureStartedAt"]),
        ("结束时间 Ended", subject["captureEndedAt"]),
        ("中断 Interrupted", interrupted),
        ("环境检查 Pre-flight", _hex(subject, "preflightDigestMultibase")),
        ("证据包 Package SHA-256", _hex(subject, "digestMultibase")),
        ("哈希链 Hash chain", f"{subject['hashChainLength']} / {subject['hashChainHead']}"),
        ("关键证据 Key items", len(subject.get("keyItems") or [])),
        ("可信时间 TSA time", f"{tsa_time} ({tsa_name or stamp.get('tsa', '')})"),
        ("区块链 Chain ID", anchor.get("chainId")),
        ("锚定交易 Anchor tx", (anchor.get("anchorReceipt") or {}).get("transactionHash")),
        ("公证方 Notary", letter["issuer"]),
        ("签发时间 Issued", letter["validFrom"]),
    ]
    return [(label, str(value)) for label, value in listed if value not in (None, "")]


def render_capture_page(
    rows: list[tuple[str, str]], status_url: str, *, letter_id: str, notary: str
) -> bytes:
    """The unsigned one-page PDF, laid out as the custody letter's."""
    page = LetterPage(
        title=TITLE,
        intro=INTRO,
        rows=rows,
        link=status_url,
        notes=NOTES,
        name=f"{TITLE} {letter_id}",
        subject=CREDENTIAL_TYPE,
        author=notary,
    )
    return render_letter(page)


class CaptureLetterPdfs:
    """A sealed capture's letter as a signed PDF, and its public status (what the QR code
    links to: whether it verifies now, nothing of the capture). Trust boundary: the
    document key signs only this notary's capture letters that verify now."""

    def __init__(
        self,
        pdfs: LetterPdfs,
        check: Callable[[dict[str, Any]], VerificationResult],
        notary_did: str,
    ) -> None:
        self._pdfs = pdfs
        self._check = check
        self._did = notary_did

    def public_status(self, letter: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """(the public answer, whether it verifies) for a sealed capture's letter."""
        result = self._check(dict(letter))
        checked = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        body = {
            "id": letter.get("id"),
            "issuer": letter.get("issuer"),
            "validFrom": letter.get("validFrom"),
            "verified": result.verified,
            "checked": checked,
            "checks": list(result.checks),
            "errors": [{"check": p.check, "code": p.code} for p in result.errors],
        }
        return body, result.verified

    def pdf(self, letter: Mapping[str, Any]) -> bytes:
        if letter.get("issuer") != self._did:
            raise LetterNotSignable(f"only letters issued by this notary ({self._did}) are signed")
        result = self._check(dict(letter))
        if not result.verified:
            problems = "; ".join(f"{p.check}: {p.code}" for p in result.errors[:5])
            raise LetterNotSignable(f"the letter does not verify ({problems})")
        rows = capture_rows(letter)
        capture_id = str(letter["credentialSubject"]["captureId"])
        status_url = verification_link(self._pdfs.public_url, SERVICE, capture_id)
        notary = self._pdfs.notary_name or str(letter["issuer"])
        page = render_capture_page(rows, status_url, letter_id=letter["id"], notary=notary)
        facts = {"facts": dict(rows), "notes": {"notary_name": self._pdfs.notary_name}}
        return self._pdfs.sign(page, letter, facts)


def capture_pdf_kind(
    check: Callable[[dict[str, Any]], VerificationResult],
) -> dict[str, LetterKind]:
    """How :class:`~evidence.letter_pdf.verify.PdfLetterVerifier` reads a capture letter's
    PDF: ``check`` (the letter against the package), and the rows its page shows."""

    def facts(credential: dict[str, Any]) -> dict[str, Any]:
        try:
            return dict(capture_rows(credential))
        except (KeyError, TypeError, AttributeError, EvidenceError) as exc:
            raise LetterNotSignable(f"not a capture letter's page: {exc}") from None

    return {CREDENTIAL_TYPE: LetterKind(check=check, facts=facts)}
