"""The page's QR code (ISO/IEC 18004), made by segno and drawn as vector squares.

Vector rather than an embedded bitmap: it stays sharp at any zoom or print size, and the
page needs no image decoder. Error correction level M (15%) survives a crease or a stamp.
"""

from __future__ import annotations

import segno
from reportlab.lib.colors import black, white
from reportlab.pdfgen.canvas import Canvas

QUIET_ZONE = 4  # modules, the standard's minimum margin


def draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """Draw ``text`` as a QR code with its lower-left corner at (``x``, ``y``), ``size`` wide."""
    code = segno.make(text, error="m", micro=False)
    matrix = [list(row) for row in code.matrix]
    modules = len(matrix) + 2 * QUIET_ZONE
    unit = size / modules
    canvas.saveState()
    canvas.setFillColor(white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(black)
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + QUIET_ZONE + 1) * unit
        for column, dark in enumerate(row):
            if dark:
                canvas.rect(x + (column + QUIET_ZONE) * unit, top, unit, unit, stroke=0, fill=1)
    canvas.restoreState()
