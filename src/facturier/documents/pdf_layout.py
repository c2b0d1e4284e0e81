"""Page machinery of the invoice PDF: embedded fonts, styles, numbered pages, PDF/A output intent.

Only TrueType fonts are used, so that every glyph is embedded (FX-01): the 14 standard PDF
fonts are never embedded, which PDF/A forbids. DejaVu Sans when the system has it, else the
Vera fonts that ship inside ReportLab.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
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


def styles(accent: str, size: float = 8.5) -> dict[str, ParagraphStyle]:
    """The paragraph styles of a layout, from its accent colour and body font size."""
    register_fonts()
    base = ParagraphStyle("base", fontName=FONT, fontSize=size, leading=size + 2.5)
    small = size - 1
    head = {"parent": base, "fontName": FONT_BOLD, "fontSize": size - 0.5}
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=small, leading=small + 2),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "bold": ParagraphStyle("bold", parent=base, fontName=FONT_BOLD),
        "bold_right": ParagraphStyle(
            "bold_right", parent=base, fontName=FONT_BOLD, alignment=TA_RIGHT
        ),
        "party": ParagraphStyle(
            "party", parent=base, fontName=FONT_BOLD, fontSize=size + 1.5, leading=size + 4.5
        ),
        "title": ParagraphStyle(
            "title",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=size + 9.5,
            leading=size + 13.5,
            textColor=colors.HexColor(accent),
        ),
        "head": ParagraphStyle("head", **head, textColor=colors.white),
        "head_right": ParagraphStyle(
            "head_right", **head, textColor=colors.white, alignment=TA_RIGHT
        ),
    }


def numbered_canvas(furniture: Callable[[Canvas, int, int], None]) -> type[Canvas]:
    """A canvas class that calls ``furniture(canvas, page, pages)`` on every page once the
    page count is known (for "Page X / Y", the footer, and any drawing a layout adds)."""

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
                self.saveState()
                furniture(self, self._pageNumber, total)
                self.restoreState()
                Canvas.showPage(self)
            Canvas.save(self)

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
