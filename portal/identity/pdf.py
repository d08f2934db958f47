"""The certificate as a PDF, behind one adapter (fpdf2), with an embedded CJK font subset."""

from __future__ import annotations

import os
from pathlib import Path

from fpdf import FPDF

from portal.identity import qr

# Debian's fonts-noto-cjk (.ci/run installs it); IDENTITY_PDF_FONT names another file.
FONT_CANDIDATES = (
    (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 2),  # 2 = Simplified Chinese
    (Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"), 2),
)


def _font() -> tuple[Path, int]:
    configured = os.environ.get("IDENTITY_PDF_FONT")
    if configured:
        return Path(configured), 0
    for path, number in FONT_CANDIDATES:
        if path.exists():
            return path, number
    raise RuntimeError("no CJK font for the certificate PDF: apt-get install fonts-noto-cjk")


def certificate_pdf(*, title: str, lines: list[tuple[str, str]], qr_text: str, notes: list[str]) -> bytes:
    """One A4 page: title, label/value lines, the QR code (vector), notes under it."""
    document = FPDF(format="A4")
    document.set_margins(20, 20, 20)
    document.set_auto_page_break(False)
    path, number = _font()
    document.add_font("cjk", fname=str(path), collection_font_number=number)
    document.add_page()
    document.set_font("cjk", size=22)
    document.cell(0, 14, title, align="C", new_x="LMARGIN", new_y="NEXT")
    document.ln(4)
    document.set_font("cjk", size=12)
    for label, value in lines:
        document.cell(45, 9, label)
        document.multi_cell(0, 9, value, new_x="LMARGIN", new_y="NEXT")
    _draw_qr(document, qr_text, x=document.l_margin, y=document.get_y() + 6, size=70)
    document.set_y(document.get_y() + 82)
    document.set_font("cjk", size=10)
    for note in notes:
        document.multi_cell(0, 6, note, new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())


def _draw_qr(document: FPDF, text: str, *, x: float, y: float, size: float) -> None:
    matrix = qr.modules(text)
    module = size / len(matrix)
    document.set_fill_color(0, 0, 0)
    for row, cells in enumerate(matrix):
        column = 0
        while column < len(cells):
            if not cells[column]:
                column += 1
                continue
            run = column
            while run < len(cells) and cells[run]:
                run += 1
            # One rectangle per run of dark modules: no hairline seams between neighbours.
            document.rect(x + column * module, y + row * module, (run - column) * module, module, style="F")
            column = run
