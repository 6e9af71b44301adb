"""The CJK font the bilingual page is set in: WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``).

Looked up at its Debian path, then through fontconfig (``fc-list :lang=zh``) for any
TrueType face that covers Chinese; reportlab embeds the subset the page uses, so the PDF
reads the same everywhere. Missing: :class:`~.errors.FontMissing` (503) naming the package.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from evidence.letter_pdf.errors import FontMissing

FONT_NAME = "NotaryHubCJK"
DEBIAN_PACKAGE = "fonts-wqy-microhei"
KNOWN_PATHS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)


def _fontconfig_candidates() -> list[Path]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        listed = subprocess.run(  # noqa: S603 - a fixed program, fixed arguments
            [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    files = (line.split(":", 1)[0].strip() for line in listed.splitlines())
    return sorted(Path(f) for f in files if f.endswith((".ttc", ".ttf")))


def find_cjk_font() -> Path:
    for path in [*KNOWN_PATHS, *_fontconfig_candidates()]:
        if path.is_file():
            return path
    raise FontMissing(
        f"no CJK font for the letter's page: install the Debian package {DEBIAN_PACKAGE}"
    )


@cache
def register_cjk_font() -> str:
    """Register the font with reportlab once; its reportlab name."""
    path = find_cjk_font()
    try:
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
    except TTFError as exc:
        raise FontMissing(
            f"{path} is not a usable TrueType font ({exc}): reinstall {DEBIAN_PACKAGE}"
        ) from None
    return FONT_NAME
