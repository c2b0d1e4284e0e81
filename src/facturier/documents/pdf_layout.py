"""Page furniture of the invoice PDF: embedded fonts, styles, page numbers, PDF/A output intent.

Only TrueType fonts are used, so that every glyph is embedded (FX-01): the 14 standard PDF
fonts are never embedded, which PDF/A forbids. DejaVu Sans when the system has it, else the
Vera fonts that ship inside ReportLab.
"""

from __future__ import annotations

import functools
from io import BytesIO
from pathlib import Path
from typing import Any

import reportlab
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

FONT = "InvoiceSans"
FONT_BOLD = "InvoiceSans-Bold"
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_VERA = Path(reportlab.__file__).resolve().parent / "fonts"
SRGB_IDENTIFIER = "sRGB IEC61966-2.1"


@functools.cache
def register_fonts() -> tuple[str, str]:
    """Register the regular and bold TrueType fonts once; their names."""
    regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        regular, bold = _VERA / "Vera.ttf", _VERA / "VeraBd.ttf"
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(bold)))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD
    )
    return FONT, FONT_BOLD


def styles(accent: str) -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("base", fontName=FONT, fontSize=8.5, leading=11)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "bold": ParagraphStyle("bold", parent=base, fontName=FONT_BOLD),
        "party": ParagraphStyle("party", parent=base, fontName=FONT_BOLD, fontSize=10, leading=13),
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=18,
            leading=22,
            textColor=colors.HexColor(accent),
        ),
        "head": ParagraphStyle(
            "head", parent=base, fontName=FONT_BOLD, fontSize=8, textColor=colors.white
        ),
        "head_right": ParagraphStyle(
            "head_right",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=8,
            textColor=colors.white,
            alignment=TA_RIGHT,
        ),
    }


def numbered_canvas(page_label: str, footer: str) -> type[Any]:
    """A canvas class that writes "Page X / Y" and the footer once the page count is known."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # The initial font appears in every page preamble: never a non-embedded base font.
            kwargs["initialFontName"] = kwargs.get("initialFontName") or FONT
            super().__init__(*args, **kwargs)
            self._saved: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self._furniture(total)
                Canvas.showPage(self)
            Canvas.save(self)

        def _furniture(self, total: int) -> None:
            width, _ = self._pagesize
            self.setFont(FONT, 7)
            self.setFillColor(colors.grey)
            self.drawRightString(
                width - 15 * 2.8346, 10 * 2.8346, f"{page_label} {self._pageNumber} / {total}"
            )
            if footer:
                self.drawString(15 * 2.8346, 10 * 2.8346, footer[:150])

    return NumberedCanvas


@functools.cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile, made by LittleCMS through Pillow (no profile file is shipped)."""
    from PIL import ImageCms

    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def add_output_intent(pdf: bytes) -> bytes:
    """The PDF with an sRGB /OutputIntents (GTS_PDFA1) in its catalog (FX-01)."""
    writer = PdfWriter(clone_from=PdfReader(BytesIO(pdf)))
    profile = DecodedStreamObject()
    profile.set_data(srgb_profile())
    profile[NameObject("/N")] = NumberObject(3)
    intent = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject(SRGB_IDENTIFIER),
            NameObject("/Info"): TextStringObject(SRGB_IDENTIFIER),
            NameObject("/DestOutputProfile"): writer._add_object(profile),
        }
    )
    writer._root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
