"""The built-in layouts of the invoice PDF and their registry (name → class).

Each layout overrides only what differs from :class:`~facturier.documents.renderer.InvoiceLayout`
(the classic look). To add one: write a subclass with a ``name`` and a ``label``, list it in
``_BUILT_IN`` and add the same name and label to :data:`facturier.core.layouts.LAYOUTS` (what
the billing app validates ``Company.invoice_layout`` against), then make a migration for the
new choice. This module refuses to load while the two lists differ.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Spacer, Table

from facturier.core import layouts as core_layouts
from facturier.documents.pdf_layout import FONT, FONT_BOLD
from facturier.documents.renderer import FOOTER_MAX, InvoiceLayout, tint


class ClassicLayout(InvoiceLayout):
    """Seller and facts side by side, the customer framed, a filled header row."""

    name = "classic"
    label = "Classic"


class ModernLayout(InvoiceLayout):
    """An accent band across the top of each page, the title first, light tinted tables and
    the amount due on the accent colour; continuation pages name the document in the band."""

    name = "modern"
    label = "Modern"
    margins = (18 * mm, 18 * mm, 24 * mm, 20 * mm)
    band = 9 * mm

    def make_styles(self, accent: str) -> dict[str, ParagraphStyle]:
        styles = super().make_styles(accent)
        for key in ("head", "head_right"):
            styles[key] = ParagraphStyle(key, parent=styles[key], textColor=self.accent)
        styles["due"] = ParagraphStyle("due", parent=styles["bold"], textColor=colors.white)
        styles["due_right"] = ParagraphStyle(
            "due_right", parent=styles["bold_right"], textColor=colors.white
        )
        return styles

    def header(self) -> Flowable:
        logo = self.logo_image()
        if logo is not None:
            logo.hAlign = "RIGHT"
        seller = [
            self.para("<br/>".join([self.content.seller_name(), *self.content.seller_lines()]))
        ]
        right = [logo, Spacer(1, 2 * mm), *seller] if logo is not None else seller
        table = Table([[self.facts_block(), right]], colWidths=self.columns((1, 1)))
        table.setStyle(
            self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (0, -1), 0),
                    ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
                ]
            )
        )
        return table

    def parties(self) -> Flowable:
        table = Table([[self.buyer_block(), self.delivery_block()]], colWidths=self.columns((1, 1)))
        table.setStyle(
            self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BACKGROUND", (0, 0), (0, 0), tint(self.accent, 0.08)),
                    ("LINEBEFORE", (0, 0), (0, 0), 2, self.accent),
                    ("TOPPADDING", (0, 0), (0, 0), 5),
                    ("BOTTOMPADDING", (0, 0), (0, 0), 6),
                ]
            )
        )
        return table

    def grid_style(self) -> list[tuple[Any, ...]]:
        return [
            ("BACKGROUND", (0, 0), (-1, 0), tint(self.accent, 0.15)),
            ("LINEBELOW", (0, 0), (-1, 0), 1, self.accent),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, tint(self.accent, 0.05)]),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]

    def totals(self) -> Table:
        rows = self.content.totals()
        last = len(rows) - 1
        widths, size = self.totals_fit(rows)
        data = [
            [
                self.para(label, "due" if i == last else "base"),
                self.amount(amount, "due_right" if i == last else "right", size),
            ]
            for i, (label, amount) in enumerate(rows)
        ]
        table = Table(data, colWidths=widths)
        table.hAlign = "RIGHT"
        table.setStyle(
            self.table_style(
                [
                    ("LINEBELOW", (0, 0), (-1, -2), 0.25, colors.lightgrey),
                    ("BACKGROUND", (0, -1), (-1, -1), self.accent),
                    ("TOPPADDING", (0, -1), (-1, -1), 5),
                    ("BOTTOMPADDING", (0, -1), (-1, -1), 6),
                ]
            )
        )
        return table

    def page_furniture(self, canvas: Canvas, page: int, pages: int) -> None:
        width, height = canvas._pagesize
        canvas.setFillColor(self.accent)
        canvas.rect(0, height - self.band, width, self.band, stroke=0, fill=1)
        if page > 1:  # which document a loose continuation page belongs to
            canvas.setFillColor(colors.white)
            canvas.setFont(FONT_BOLD, 8)
            number = str(self.content.doc["number"])
            canvas.drawString(
                self.margins[0], height - self.band + 3.2 * mm, f"{self.content.title} {number}"
            )
        super().page_furniture(canvas, page, pages)


class CompactLayout(InvoiceLayout):
    """Narrow margins and a smaller font: seller, customer and facts in one band, the VAT
    breakdown beside the totals. The most lines on a page."""

    name = "compact"
    label = "Compact"
    margins = (10 * mm, 10 * mm, 10 * mm, 15 * mm)
    font_size = 7.5
    line_widths = (90, 14, 16, 22, 14, 26)
    breakdown_widths = (45 * mm, 24 * mm, 24 * mm)  # beside the totals: half the width
    totals_widths = (35 * mm, 30 * mm)
    logo_box = (40 * mm, 12 * mm)
    gap = 3.5 * mm

    def make_styles(self, accent: str) -> dict[str, ParagraphStyle]:
        styles = super().make_styles(accent)
        styles["title"] = ParagraphStyle("title", parent=styles["title"], fontSize=13, leading=16)
        return styles

    def story(self) -> list[Flowable]:
        return [
            self.header(),
            Spacer(1, self.gap),
            self.lines(),
            Spacer(1, self.gap),
            self.summary(),
            Spacer(1, self.gap),
            *self.closing(),
        ]

    def header(self) -> Flowable:
        customer = self.buyer_block()
        delivery = self.delivery_block()
        if delivery:
            customer += [Spacer(1, 1.5 * mm), *delivery]
        table = Table(
            [[self.seller_block(), customer, self.facts_block()]],
            colWidths=self.columns((37, 33, 30)),
        )
        table.setStyle(
            self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (0, -1), 0),
                    ("LINEBEFORE", (1, 0), (1, 0), 0.5, self.accent),
                ]
            )
        )
        return table

    def grid_style(self) -> list[tuple[Any, ...]]:
        return [
            *super().grid_style(),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ]

    def summary(self) -> Flowable:
        breakdown, totals = self.breakdown(), self.totals()
        half = self.width / 2
        table = Table([[breakdown, totals]], colWidths=[half, half])
        table.setStyle(
            self.table_style(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ]
            )
        )
        return KeepTogether([table])

    def page_furniture(self, canvas: Canvas, page: int, pages: int) -> None:
        width = canvas._pagesize[0]
        canvas.setFont(FONT, 6.5)
        canvas.setFillColor(colors.grey)
        canvas.drawRightString(width - self.margins[1], 7 * mm, self.page_number(page, pages))
        if self.footer:
            canvas.drawString(self.margins[0], 7 * mm, self.footer[:FOOTER_MAX])


_BUILT_IN: tuple[type[InvoiceLayout], ...] = (ClassicLayout, ModernLayout, CompactLayout)
LAYOUTS: dict[str, type[InvoiceLayout]] = {layout.name: layout for layout in _BUILT_IN}
DEFAULT_LAYOUT = core_layouts.DEFAULT_LAYOUT

if {name: layout.label for name, layout in LAYOUTS.items()} != core_layouts.LAYOUTS:
    raise RuntimeError(
        "the document layouts differ from facturier.core.layouts.LAYOUTS: "
        f"{sorted(LAYOUTS)} against {sorted(core_layouts.LAYOUTS)}"
    )


class UnknownLayout(ValueError):
    """A layout name that is not built in."""


def layout_class(name: str) -> type[InvoiceLayout]:
    """The layout class registered as ``name``.

    >>> layout_class("compact").label
    'Compact'
    >>> try:
    ...     layout_class("fancy")
    ... except UnknownLayout as refused:
    ...     print(refused)
    unknown invoice layout 'fancy' (classic, modern, compact)
    """
    try:
        return LAYOUTS[name]
    except KeyError:
        known = ", ".join(LAYOUTS)
        raise UnknownLayout(f"unknown invoice layout {name!r} ({known})") from None
