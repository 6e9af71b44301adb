"""The draw's result letter as a signed PDF, in the style of the custody letter's.

Issue 14 item 8. One A4 page in Chinese and English drawn from the signed
``DrawResultCredential`` alone (:func:`result_rows`), a QR code to the draw's public
page, the credential and the page's facts attached, the whole file signed PAdES-B-T with
the notary's document-signing key and time-stamped (the custody letter's own layout,
:func:`evidence.letter_pdf.render.render_letter`, and signing,
:func:`evidence.letter_pdf.sign.sign_letter_pdf`). ``notary-hub verify`` checks it as it checks
a custody letter's PDF, and its credential with
:class:`~evidence.draw.letter_verification.DrawLetterVerifier`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evidence.digests import SHA256, parse_digest
from evidence.draw.letters import CREDENTIAL_TYPE, DrawLetters
from evidence.letter_pdf.build import LetterPdfs
from evidence.letter_pdf.facts import token_time_and_name
from evidence.letter_pdf.render import SIGNED_NOTES, LetterPage, render_letter
from evidence.principal import Principal

TITLE = "摇号结果函 Draw Result Letter"
INTRO = (
    "本函证明下列摇号的名单、配置与随机源已在开奖前上链并加盖可信时间戳，结果可由任何人复算。",
    "The list, configuration and randomness sources below were committed on chain and "
    "time-stamped before the draw; anyone can re-run it.",
)
NOTES = (
    "扫描二维码打开摇号公示页。 Scan the QR code for the draw's public page.",
    *SIGNED_NOTES,
    "复算 Re-run: notary-hub draw verify EXPORT --rpc <chain node URL>",
)


def _evidence(letter: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for entry in letter.get("evidence") or []:
        if isinstance(entry, Mapping) and kind in (entry.get("type") or []):
            return entry
    return {}


def result_rows(letter: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(bilingual label, value) of a ``DrawResultCredential``, in page order."""
    subject = letter["credentialSubject"]
    stamp = _evidence(letter, "RFC3161TimestampEvidence")
    anchor = _evidence(letter, "ChainAnchorEvidence")
    record = anchor.get("anchorReceipt") or {}
    tsa_time, tsa_name = token_time_and_name(stamp.get("timeStampToken"))
    listed = [
        ("结果函编号 Letter ID", letter["id"]),
        ("摇号编号 Draw ID", subject["drawId"]),
        ("组织方 Organiser", subject["id"]),
        ("算法 Algorithm", subject["algorithm"]),
        ("配置哈希 Config hash", record.get("configHash")),
        ("参与人数 Entrants", subject["entrantCount"]),
        (
            "名单根 Candidate root",
            parse_digest(subject["entrantsDigestMultibase"], SHA256).value.hex(),
        ),
        ("随机源哈希 Sources hash", record.get("sourcesHash")),
        ("信标轮次 Beacon round", record.get("usedRound")),
        ("种子 Seed", subject["seed"]),
        ("中签人数 Winners", record.get("winners")),
        ("结果根 Result root", parse_digest(subject["winnersDigestMultibase"], SHA256).value.hex()),
        ("可信时间 TSA time", f"{tsa_time} ({tsa_name or stamp.get('tsa', '')})"),
        ("区块链 Chain ID", anchor.get("chainId")),
        ("承诺交易 Commit tx", record.get("commitTx")),
        ("结果交易 Result tx", record.get("resultTx")),
        ("公证方 Notary", letter["issuer"]),
        ("签发时间 Issued", letter["validFrom"]),
    ]
    return [(label, str(value)) for label, value in listed if value not in (None, "")]


def render_result_page(
    rows: list[tuple[str, str]], page_url: str, *, letter_id: str = "", notary: str = ""
) -> bytes:
    """The unsigned one-page PDF, laid out as the custody letter's."""
    page = LetterPage(
        title=TITLE,
        intro=INTRO,
        rows=rows,
        link=page_url,
        notes=NOTES,
        name=f"{TITLE} {letter_id}".strip(),
        subject=CREDENTIAL_TYPE,
        author=notary,
    )
    return render_letter(page)


class DrawLetterPdfs:
    """The organiser's result letter as a signed PDF."""

    def __init__(self, letters: DrawLetters, pdfs: LetterPdfs) -> None:
        self._letters = letters
        self._pdfs = pdfs

    def pdf(self, principal: Principal, draw_id: str) -> bytes:
        letter = self._letters.letter(principal, draw_id)
        rows = result_rows(letter)
        page_url = f"{self._pdfs.public_url.rstrip('/')}/draws/{draw_id}/page"
        notary = self._pdfs.notary_name or str(letter["issuer"])
        page = render_result_page(rows, page_url, letter_id=letter["id"], notary=notary)
        facts = {"facts": dict(rows), "notes": {"notary_name": self._pdfs.notary_name}}
        return self._pdfs.sign(page, letter, facts)
