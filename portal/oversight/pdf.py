"""The PDF library (fpdf2) behind one function; the CJK font is Debian's fonts-noto-cjk."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

# Noto Sans CJK collects several regional faces in one file; index 2 is Simplified Chinese.
SIMPLIFIED_CHINESE_FACE = 2


def render_pdf(title: str, sections: list[tuple[str, list[str]]], font_path: str) -> bytes:
    """A plain document: a title, then each section's heading and its lines."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("cjk", fname=font_path, collection_font_number=SIMPLIFIED_CHINESE_FACE)
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.multi_cell(0, 10, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for heading, lines in sections:
        pdf.ln(4)
        pdf.set_font("cjk", size=13)
        pdf.multi_cell(0, 8, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("cjk", size=10)
        for line in lines or ["—"]:
            pdf.multi_cell(0, 6, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
