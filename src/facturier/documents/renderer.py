"""The renderer interface of the invoice PDF, with the default (classic) look.

:class:`InvoiceLayout` turns the :class:`~facturier.documents.pdf_content.Content` of one
document into A4 pages with ReportLab. A layout is a subclass that overrides only what differs
(page geometry, font size, colours, how a block is arranged) and is registered by name in
:mod:`facturier.documents.layouts`. What the pages say comes from ``Content`` alone; what every
layout keeps by construction: the lines table repeats its header row on each page
(``repeatRows``), and ``page_furniture`` writes "Page X / Y" and the company's footer.

PDF/A and the embedded XML are added afterwards, the same way for every layout
(:func:`facturier.documents.pdf.invoice_pdf`).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from typing import Any, ClassVar

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from facturier.documents.pdf_content import Content
from facturier.documents.pdf_layout import (
    FONT,
    FONT_BOLD,
    numbered_canvas,
    register_fonts,
    styles,
)

FOOTER_MAX = 150  # characters of the company's footer drawn on a page


# A Table cell's left and right padding (ReportLab's default, 6 pt each), and the smallest
# font an amount may shrink to before its column takes room from the text columns' floor.
CELL_PADDING = 12.0
MIN_FONT_SIZE = 5.0


def _unbreakable(text: str) -> str:
    """An amount or number never wraps at its group separators."""
    return text.replace(" ", "\xa0")


def fit_widths(
    widths: Sequence[float],
    rows: Sequence[Sequence[str]],
    numeric: set[int],
    *,
    font_size: float,
    floor: float,
) -> tuple[list[float], float]:
    """Column widths (same total) and a font size for the numeric columns such that every
    value of those columns fits on one line (measured in the bold font, so a bold total
    fits too): a numeric column widens to its widest value,
    taking the room from the text columns, which keep `floor` points between them at least;
    when that is not enough, the numbers' font shrinks (down to MIN_FONT_SIZE).

    >>> fit_widths([100, 40], [["x", "1"]], {1}, font_size=8, floor=10)
    ([100.0, 40.0], 8)
    >>> w, size = fit_widths([100, 40], [["x", "999\xa0999\xa0999\xa0999,99\xa0€"]], {1},
    ...                      font_size=8, floor=10)
    >>> round(w[1]) > 40 and round(sum(w)) == 140 and size == 8
    True
    """
    register_fonts()
    total = float(sum(widths))
    text = [c for c in range(len(widths)) if c not in numeric]
    text_share = float(sum(widths[c] for c in text)) or 1.0
    size = font_size
    while True:
        need = {
            c: max(stringWidth(_unbreakable(str(row[c])), FONT_BOLD, size) for row in rows)
            + CELL_PADDING
            for c in numeric
        }
        new = [float(w) for w in widths]
        for c in numeric:
            new[c] = max(float(widths[c]), need[c])
        room = total - sum(new[c] for c in numeric)
        if room >= min(floor, text_share) or size <= MIN_FONT_SIZE:
            room = max(room, 0.0)
            for c in text:
                new[c] = room * widths[c] / text_share
            return new, size
        size = max(MIN_FONT_SIZE, size - 0.5)


def tint(colour: colors.Color, share: float) -> colors.Color:
    """``colour`` mixed with white: ``share`` of the colour (0.1 = a light wash)."""
    return colors.Color(*(1 - share * (1 - part) for part in colour.rgb()))


class InvoiceLayout:
    """One document's pages before PDF/A; subclass it to make a layout."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    # Left, right, top, bottom margins; the bottom one leaves room for the page furniture.
    margins: ClassVar[tuple[float, float, float, float]] = (15 * mm, 15 * mm, 15 * mm, 20 * mm)
    font_size: ClassVar[float] = 8.5
    # Shares of the text width taken by the columns of the lines table (Content.line_head).
    line_widths: ClassVar[tuple[float, ...]] = (78, 16, 18, 24, 16, 28)
    breakdown_widths: ClassVar[tuple[float, ...]] = (60 * mm, 30 * mm, 30 * mm)
    totals_widths: ClassVar[tuple[float, ...]] = (40 * mm, 35 * mm)
    logo_box: ClassVar[tuple[float, float]] = (60 * mm, 20 * mm)  # widest, highest
    gap: ClassVar[float] = 6 * mm  # between the blocks of the page

    def __init__(
        self,
        content: Content,
        *,
        accent: str = "#1f4e79",
        logo: bytes | None = None,
        footer: str = "",
    ) -> None:
        self.content = content
        self.labels = content.labels
        self.accent = colors.HexColor(accent)
        self.logo = logo
        self.footer = footer.strip()
        self.styles = self.make_styles(accent)
        self.width = A4[0] - self.margins[0] - self.margins[1]

    def make_styles(self, accent: str) -> dict[str, ParagraphStyle]:
        return styles(accent, self.font_size)

    def render(self) -> bytes:
        """The PDF of the document (not yet PDF/A: see ``invoice_pdf``)."""
        out = BytesIO()
        left, right, top, bottom = self.margins
        template = SimpleDocTemplate(
            out,
            pagesize=A4,
            leftMargin=left,
            rightMargin=right,
            topMargin=top,
            bottomMargin=bottom,
            title=f"{self.content.title} {self.content.doc['number']}",
            author=str(self.content.seller.get("legal_name") or ""),
            lang="en-GB" if self.content.language == "en" else "fr-FR",
        )
        template.build(self.story(), canvasmaker=numbered_canvas(self.page_furniture))
        return out.getvalue()

    def story(self) -> list[Flowable]:
        """The blocks of the document, top to bottom."""
        return [
            self.header(),
            Spacer(1, self.gap),
            self.parties(),
            Spacer(1, self.gap),
            self.lines(),
            Spacer(1, self.gap * 2 / 3),
            self.summary(),
            Spacer(1, self.gap * 5 / 6),
            *self.closing(),
        ]

    # Helpers --------------------------------------------------------------------------------

    def para(self, text: str, style: str = "base") -> Paragraph:
        return Paragraph(text, self.styles[style])

    def table_style(self, commands: Sequence[tuple[Any, ...]]) -> TableStyle:
        """A table style whose cell font is the embedded one (Helvetica, the default, is not)."""
        return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *commands])

    def logo_image(self) -> Image | None:
        """The company's logo scaled into ``logo_box``, or None."""
        if not self.logo:
            return None
        image = Image(BytesIO(self.logo))
        widest, highest = self.logo_box
        scale = min(highest / image.imageHeight, widest / image.imageWidth)
        image.drawHeight, image.drawWidth = image.imageHeight * scale, image.imageWidth * scale
        image.hAlign = "LEFT"
        return image

    def seller_block(self) -> list[Flowable]:
        """The logo, then the seller's name and identity."""
        block: list[Flowable] = []
        logo = self.logo_image()
        if logo is not None:
            block += [logo, Spacer(1, 2 * mm)]
        lines = [self.content.seller_name(), *self.content.seller_lines()]
        return [*block, self.para("<br/>".join(lines))]

    def facts_block(self) -> list[Flowable]:
        """The title ("Facture", "Avoir") and the document facts."""
        return [self.para(self.content.title, "title")] + [
            self.para(text) for text in self.content.facts()
        ]

    def buyer_block(self) -> list[Flowable]:
        return [
            self.para(self.labels["customer"], "bold"),
            self.para("<br/>".join(self.content.buyer_lines())),
        ]

    def delivery_block(self) -> list[Flowable]:
        lines = self.content.delivery_lines()
        if not lines:
            return []
        return [self.para(self.labels["delivery"], "bold"), self.para("<br/>".join(lines))]

    def columns(self, shares: Sequence[float]) -> list[float]:
        """Column widths from relative shares of the text width."""
        total = sum(shares)
        return [self.width * share / total for share in shares]

    # Blocks ---------------------------------------------------------------------------------

    def header(self) -> Flowable:
        """Seller (with logo) on the left, title and facts on the right."""
        table = Table(
            [[self.seller_block(), self.facts_block()]], colWidths=self.columns((105, 75))
        )
        table.setStyle(
            self.table_style(
                [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, -1), 0)]
            )
        )
        return table

    def parties(self) -> Flowable:
        """Delivery address (if any) on the left, the customer framed on the right."""
        table = Table([[self.delivery_block(), self.buyer_block()]], colWidths=self.columns((1, 1)))
        table.setStyle(
            self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOX", (1, 0), (1, 0), 0.5, self.accent),
                    ("LEFTPADDING", (0, 0), (0, -1), 0),
                ]
            )
        )
        return table

    def grid(
        self, head: Sequence[str], rows: list[list[str]], widths: Sequence[float], *, left: set[int]
    ) -> Table:
        """A table whose header row repeats on every page; columns not in ``left`` are
        right-aligned (amounts), each amount on one line (see `fit_widths`)."""
        numeric = {c for c in range(len(head)) if c not in left}
        widths, size = fit_widths(
            widths, rows, numeric, font_size=self.font_size, floor=self.width * 0.3
        )
        header = [
            self.para(text, "head" if column == 0 else "head_right")
            for column, text in enumerate(head)
        ]
        body = [
            [
                self.para(text) if column in left else self.amount(text, "right", size)
                for column, text in enumerate(row)
            ]
            for row in rows
        ]
        table = Table([header, *body], colWidths=list(widths), repeatRows=1)
        table.setStyle(self.table_style(self.grid_style()))
        return table

    def grid_style(self) -> list[tuple[Any, ...]]:
        return [
            ("BACKGROUND", (0, 0), (-1, 0), self.accent),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
        ]

    def lines(self) -> Flowable:
        content = self.content
        rows = content.line_rows(detail_size=self.font_size - 1.5)
        return self.grid(content.line_head(), rows, self.columns(self.line_widths), left={0, 2})

    def breakdown(self) -> Table:
        content = self.content
        rows = content.breakdown_rows(detail_size=self.font_size - 1.5)
        table = self.grid(content.breakdown_head(), rows, self.breakdown_widths, left={0})
        table.hAlign = "LEFT"
        return table

    def totals(self) -> Table:
        rows = self.content.totals()
        last = len(rows) - 1
        widths, size = self.totals_fit(rows)
        data = [
            [
                self.para(label, "bold" if i == last else "base"),
                self.amount(amount, "right", size),
            ]
            for i, (label, amount) in enumerate(rows)
        ]
        table = Table(data, colWidths=widths)
        table.hAlign = "RIGHT"
        table.setStyle(
            self.table_style(
                [
                    ("LINEABOVE", (0, -1), (-1, -1), 1, self.accent),
                    ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#eef2f7")),
                ]
            )
        )
        return table

    def totals_fit(self, rows: Sequence[tuple[str, str]]) -> tuple[list[float], float]:
        """The totals' columns: the amounts' column takes room from the labels' rather than
        wrap a total (see `fit_widths`)."""
        return fit_widths(
            self.totals_widths, [list(r) for r in rows], {1}, font_size=self.font_size,
            floor=sum(self.totals_widths) / 3,
        )  # fmt: skip

    def amount(self, text: str, style: str, size: float) -> Paragraph:
        """An amount cell: never broken at its group separators, in `size` points."""
        chosen = self.styles[style]
        if size != chosen.fontSize:
            chosen = ParagraphStyle(
                f"{style}_fit", parent=chosen, fontSize=size, leading=size + 2.5
            )
        return Paragraph(_unbreakable(text), chosen)

    def summary(self) -> Flowable:
        """The VAT breakdown and the totals, kept on one page."""
        return KeepTogether([self.breakdown(), Spacer(1, 3 * mm), self.totals()])

    def closing(self) -> list[Flowable]:
        """Payment instructions, then the mentions and notes."""
        payment = self.content.payment()
        block: list[Flowable] = [self.para(payment), Spacer(1, 3 * mm)] if payment else []
        return block + [self.para(text, "small") for text in self.content.mentions()]

    def page_furniture(self, canvas: Canvas, page: int, pages: int) -> None:
        """Drawn on every page once the page count is known: "Page X / Y" and the footer."""
        width = canvas._pagesize[0]
        left, right = self.margins[0], self.margins[1]
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.grey)
        canvas.drawRightString(width - right, 10 * mm, self.page_number(page, pages))
        if self.footer:
            canvas.drawString(left, 10 * mm, self.footer[:FOOTER_MAX])

    def page_number(self, page: int, pages: int) -> str:
        return f"{self.labels['page']} {page} / {pages}"
