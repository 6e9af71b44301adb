"""The letter's page: one A4 sheet in Chinese and English, drawn with reportlab.

Bilingual labels (``存证人 Depositor``); every value of the credential the page shows comes
from :func:`.facts.letter_facts`. Long values (DIDs, hex digests) wrap at any character, as
they have no spaces. A QR code (:mod:`.qr`) carries the public verification link.

The layout (heading and introduction, the table of labelled values, the QR code and its
notes) is :func:`render_letter`'s, shared with the draw's result letter
(:mod:`evidence.draw.letter_pdf`): each letter says only what its page shows
(:class:`LetterPage`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from evidence.letter_pdf.facts import LetterFacts, PageNotes
from evidence.letter_pdf.fonts import register_cjk_font
from evidence.letter_pdf.qr import draw_qr

MARGIN = 48.0
LABEL_WIDTH = 150.0
VALUE_SIZE = 9.5
LABEL_SIZE = 9.0
LEADING = 13.0
QR_SIZE = 110.0
RULE = HexColor("#9aa5b1")
INK = HexColor("#1f2933")
MUTED = HexColor("#52606d")
TITLE = "数据存证保管函 Custody Letter"
INTRO = (
    "本函证明下列文件已由公证方接收、加盖可信时间戳并锚定于区块链。",
    "This letter certifies that the notary received, time-stamped and anchored the file below.",
)
SIGNED_NOTES = (
    "本函内嵌其可验证凭证 (JSON)。整份文件经公证方 PAdES 数字签名并加盖 RFC 3161 时间戳。",
    "The verifiable credential (JSON) is attached; the whole file is signed (PAdES) by the "
    "notary and time-stamped (RFC 3161).",
    "核验 Verify: notary-hub verify letter.pdf --rpc <chain node URL>",
)
NOTES = (
    "扫描二维码查询本函的核验状态。 Scan the QR code for this letter's verification status.",
    *SIGNED_NOTES,
)


@dataclass(frozen=True)
class LetterPage:
    """What one letter's page shows; :func:`render_letter` lays it out."""

    title: str  # the heading
    intro: Sequence[str]  # the lines under it, each wrapped to the page
    rows: Sequence[tuple[str, str]]  # (bilingual label, value), "\n" breaks a value
    link: str  # the QR code's URL, printed as the last note
    notes: Sequence[str]  # beside the QR code, above the link
    name: str  # the PDF's title
    subject: str  # the PDF's subject: the credential's type
    author: str


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width``: between words when it can,
    anywhere inside a word too long for a line (hex, DIDs, Chinese)."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        joined = f"{line} {word}" if line else word
        if stringWidth(joined, font, size) <= width:
            line = joined
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and stringWidth(line + char, font, size) > width:
                lines.append(line)
                line = ""
            line += char
    return [*lines, line]


def rows(facts: LetterFacts, notes: PageNotes) -> list[tuple[str, str]]:
    """(bilingual label, value) in page order; empty optional values are left out."""
    size = f"{facts.size} 字节 bytes" if facts.size else ""
    notary = f"{notes.notary_name}\n{facts.issuer}" if notes.notary_name else facts.issuer
    listed = [
        ("保管函编号 Letter ID", facts.letter_id),
        ("存证人 Depositor", facts.depositor),
        ("标题 Title", facts.title),
        ("文件名 File name", facts.file_name),
        ("文件大小 Size", size),
        ("文件类型 Media type", facts.media_type),
        ("SHA-256", facts.sha256),
        ("SM3 (GB/T 32905)", facts.sm3),
        ("存证时间 Deposited", facts.deposited),
        ("可信时间 TSA time", facts.tsa_time),
        ("时间戳机构 TSA", facts.tsa_name),
        ("区块链 Chain ID", facts.chain_id),
        ("区块高度 Block", facts.block_number),
        ("交易哈希 Transaction", facts.transaction),
        ("公证方 Notary", notary),
        ("签发时间 Issued", facts.issued),
        ("状态 Status", notes.status),
    ]
    return [(label, value) for label, value in listed if value]


def _header(canvas: Canvas, font: str, top: float, title: str, intro: Sequence[str]) -> float:
    width, _ = A4
    canvas.setFillColor(INK)
    canvas.setFont(font, 18)
    canvas.drawString(MARGIN, top - 18, title)
    canvas.setFont(font, 9)
    canvas.setFillColor(MUTED)
    y = top - 23
    for line in (piece for text in intro for piece in wrap(text, font, 9, width - 2 * MARGIN)):
        y -= 13
        canvas.drawString(MARGIN, y, line)
    canvas.setStrokeColor(RULE)
    canvas.line(MARGIN, y - 9, width - MARGIN, y - 9)
    return y - 25


def _table(canvas: Canvas, font: str, entries: Sequence[tuple[str, str]], top: float) -> float:
    width, _ = A4
    value_width = width - 2 * MARGIN - LABEL_WIDTH
    y = top
    for label, value in entries:
        lines = [
            piece
            for part in value.split("\n")
            for piece in wrap(part, font, VALUE_SIZE, value_width)
        ]
        canvas.setFillColor(MUTED)
        canvas.setFont(font, LABEL_SIZE)
        canvas.drawString(MARGIN, y, label)
        canvas.setFillColor(INK)
        canvas.setFont(font, VALUE_SIZE)
        for index, line in enumerate(lines):
            canvas.drawString(MARGIN + LABEL_WIDTH, y - index * LEADING, line)
        y -= LEADING * len(lines) + 6
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.3)
        canvas.line(MARGIN, y + 8, width - MARGIN, y + 8)
    return y


def _footer(canvas: Canvas, font: str, link: str, notes: Sequence[str]) -> None:
    width, _ = A4
    x = width - MARGIN - QR_SIZE
    draw_qr(canvas, link, x, MARGIN + 24, QR_SIZE)
    canvas.setFillColor(MUTED)
    canvas.setFont(font, 8.5)
    text_width = x - MARGIN - 16
    y = MARGIN + 24 + QR_SIZE - 10
    for note in (*notes, link):
        for line in wrap(note, font, 8.5, text_width):
            canvas.drawString(MARGIN, y, line)
            y -= 11.5
        y -= 3


def render_letter(page: LetterPage) -> bytes:
    """The unsigned one-page PDF of ``page``."""
    font = register_cjk_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(page.name)
    canvas.setAuthor(page.author)
    canvas.setSubject(page.subject)
    canvas.setCreator("Notary Hub")
    _, height = A4
    top = _header(canvas, font, height - MARGIN, page.title, page.intro)
    _table(canvas, font, page.rows, top)
    _footer(canvas, font, page.link, page.notes)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def render_page(facts: LetterFacts, notes: PageNotes) -> bytes:
    """The unsigned one-page PDF of a custody letter."""
    page = LetterPage(
        title=TITLE,
        intro=INTRO,
        rows=rows(facts, notes),
        link=notes.verify_url,
        notes=NOTES,
        name=f"{TITLE} {facts.letter_id}",
        subject="DataDepositCredential",
        author=notes.notary_name or facts.issuer,
    )
    return render_letter(page)
