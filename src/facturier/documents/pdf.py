"""The Factur-X PDF (PDF/A-3b + embedded EN 16931 XML) of an issued invoice or credit note.

:func:`invoice_pdf` renders the same plain dict as :func:`facturier.documents.cii.invoice_xml`
(FX-06: one source for both) with ReportLab, then lets the factur-x library embed
``factur-x.xml`` (``/AFRelationship /Alternative``, FX-02) and write the XMP metadata with
``pdfaid:part=3`` and the ``fx:`` extension schema (FX-01, FX-03). The sRGB output intent is added
to the catalog first; factur-x keeps the catalog of the PDF it is given.

The mandatory mentions (LEGAL-FR §1) reuse the wordings of the XML notes (``cii_notes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

import facturx
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from facturier.core.money import format_amount, format_date, format_decimal_fr
from facturier.core.vat import DEBITS_OPTION_EN, DEBITS_OPTION_FR, VatCategory
from facturier.documents.cii import invoice_xml
from facturier.documents.cii_base import to_date, to_decimal
from facturier.documents.cii_notes import payment_notes
from facturier.documents.cii_parties import delivery_address, legal_info
from facturier.documents.pdf_layout import FONT, add_output_intent, numbered_canvas, styles

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "number": "N°",
        "issue_date": "Date d'émission",
        "due_date": "Date d'échéance",
        "period": "Période du {start} au {end}",
        "delivery_date": "Date de livraison",
        "po": "Bon de commande",
        "corrects": "Avoir sur la facture {number}",
        "corrects_date": "du {date}",
        "customer": "Client",
        "delivery": "Adresse de livraison",
        "vat_number": "N° TVA",
        "description": "Désignation",
        "quantity": "Qté",
        "unit": "Unité",
        "unit_price": "PU HT",
        "vat_rate": "TVA",
        "net": "Montant HT",
        "discount": "Remise",
        "breakdown_base": "Base HT",
        "breakdown_vat": "Montant TVA",
        "total_net": "Total HT",
        "total_vat": "Total TVA",
        "total_gross": "Total TTC",
        "paid": "Déjà réglé",
        "to_pay": "Net à payer",
        "to_refund": "Montant de l'avoir",
        "payment": "Règlement par virement",
        "reference": "Référence à rappeler",
        "page": "Page",
    },
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "number": "No.",
        "issue_date": "Issue date",
        "due_date": "Due date",
        "period": "Period from {start} to {end}",
        "delivery_date": "Delivery date",
        "po": "Purchase order",
        "corrects": "Credit note for invoice {number}",
        "corrects_date": "of {date}",
        "customer": "Customer",
        "delivery": "Delivery address",
        "vat_number": "VAT number",
        "description": "Description",
        "quantity": "Qty",
        "unit": "Unit",
        "unit_price": "Unit price",
        "vat_rate": "VAT",
        "net": "Net amount",
        "discount": "Discount",
        "breakdown_base": "Taxable amount",
        "breakdown_vat": "VAT amount",
        "total_net": "Total excl. VAT",
        "total_vat": "Total VAT",
        "total_gross": "Total incl. VAT",
        "paid": "Already paid",
        "to_pay": "Amount due",
        "to_refund": "Credit amount",
        "payment": "Payment by bank transfer",
        "reference": "Reference",
        "page": "Page",
    },
}

# UN/ECE rec. 20 codes the builders use, as words.
UNITS = {
    "fr": {"MON": "mois", "H87": "pièce", "C62": "unité", "HUR": "heure", "DAY": "jour"},
    "en": {"MON": "month", "H87": "piece", "C62": "unit", "HUR": "hour", "DAY": "day"},
}
_EXEMPT = frozenset(VatCategory) - {VatCategory.S, VatCategory.Z}


def invoice_pdf(
    doc: Mapping[str, Any],
    *,
    xml: bytes | None = None,
    logo: bytes | None = None,
    accent: str = "#1f4e79",
    footer: str = "",
) -> bytes:
    """The Factur-X (EN 16931) PDF/A-3b of an issued document, as bytes.

    ``xml`` is the CII XML to embed (built with :func:`invoice_xml` when None); ``logo`` an
    image (PNG/JPEG bytes) drawn in the top-left corner; ``footer`` a line on every page.
    """
    if xml is None:
        xml = invoice_xml(doc)
    language = "en" if (doc["buyer"].get("language") or "fr") == "en" else "fr"
    rendered = _render(doc, language, logo=logo, accent=accent, footer=footer)
    seller = str(doc["seller"].get("legal_name") or "")
    title = LABELS[language][str(doc.get("doc_type") or "invoice")]
    number = str(doc["number"])
    result: bytes = facturx.generate_from_binary(
        add_output_intent(rendered),
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=False,
        afrelationship="alternative",
        pdf_metadata={
            "author": seller,
            "keywords": f"Factur-X, {title}",
            "title": f"{seller}: {title} {number}",
            "subject": f"{title} {number} – {format_date(to_date(doc['issue_date']))}",
        },
        lang="en-GB" if language == "en" else "fr-FR",
    )
    return result


class _Ctx:
    """What every part of the layout needs: language, labels, styles, currency."""

    def __init__(self, doc: Mapping[str, Any], language: str, accent: str) -> None:
        self.doc = doc
        self.language = language
        self.labels = LABELS[language]
        self.styles = styles(accent)
        self.accent = colors.HexColor(accent)
        self.currency = str(doc.get("currency") or "EUR")

    def money(self, value: object) -> str:
        return format_amount(to_decimal(value), self.currency, locale=self.language)

    def date(self, value: object) -> str:
        return format_date(to_date(value), locale=self.language)

    def number(self, value: object, places: int) -> str:
        decimal = to_decimal(value).normalize()
        shown = max(places, -int(decimal.as_tuple().exponent)) if decimal else places
        if self.language == "fr":
            return format_decimal_fr(to_decimal(value), shown)
        return f"{to_decimal(value):,.{shown}f}"

    def para(self, text: str, style: str = "base") -> Paragraph:
        return Paragraph(text, self.styles[style])


def _style(commands: list[tuple[Any, ...]]) -> TableStyle:
    """A table style whose cell font is the embedded one (Helvetica, the default, is not)."""
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *commands])


def _render(
    doc: Mapping[str, Any], language: str, *, logo: bytes | None, accent: str, footer: str
) -> bytes:
    ctx = _Ctx(doc, language, accent)
    out = BytesIO()
    title = ctx.labels[str(doc.get("doc_type") or "invoice")]
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=20 * mm,
        title=f"{title} {doc['number']}",
        author=str(doc["seller"].get("legal_name") or ""),
        lang="en-GB" if language == "en" else "fr-FR",
    )
    story: list[Any] = [
        _header(ctx, logo),
        Spacer(1, 6 * mm),
        _parties(ctx),
        Spacer(1, 6 * mm),
        _lines(ctx),
        Spacer(1, 4 * mm),
        KeepTogether([_breakdown(ctx), Spacer(1, 3 * mm), _totals(ctx)]),
        Spacer(1, 5 * mm),
        *_payment(ctx),
        *_mentions(ctx),
    ]
    template.build(story, canvasmaker=numbered_canvas(ctx.labels["page"], footer))
    return out.getvalue()


def _address_lines(party: Mapping[str, Any], prefix: str = "address_") -> list[str]:
    lines = [str(party.get(f"{prefix}{key}") or "").strip() for key in ("line1", "line2")]
    postcode = str(party.get("postcode" if prefix == "address_" else "delivery_postcode") or "")
    city = str(party.get("city" if prefix == "address_" else "delivery_city") or "")
    country = str(party.get("country" if prefix == "address_" else "delivery_country") or "FR")
    lines.append(f"{postcode} {city}".strip())
    if country.upper() != "FR":
        lines.append(country.upper())
    return [escape(line) for line in lines if line]


def _header(ctx: _Ctx, logo: bytes | None) -> Table:
    doc, labels, seller = ctx.doc, ctx.labels, ctx.doc["seller"]
    name = escape(str(seller.get("legal_name") or ""))
    trade = str(seller.get("trade_name") or "").strip()
    identity = [f"<b>{name}</b>" + (f" ({escape(trade)})" if trade else "")]
    legal = legal_info(seller)
    if legal:
        identity.append(escape(legal))
    identity += _address_lines(seller)
    ids = [f"SIREN {escape(str(seller.get('siren') or ''))}"]
    if seller.get("siret"):
        ids.append(f"SIRET {escape(str(seller['siret']))}")
    identity.append(" – ".join(ids))
    if seller.get("vat_number"):
        identity.append(f"{labels['vat_number']} {escape(str(seller['vat_number']))}")
    contact = " – ".join(
        str(seller.get(key) or "") for key in ("email", "phone") if seller.get(key)
    )
    if contact:
        identity.append(escape(contact))
    left: list[Any] = []
    if logo:
        image = Image(BytesIO(logo))
        scale = min(20 * mm / image.imageHeight, 60 * mm / image.imageWidth)
        image.drawHeight, image.drawWidth = image.imageHeight * scale, image.imageWidth * scale
        image.hAlign = "LEFT"
        left += [image, Spacer(1, 2 * mm)]
    left.append(ctx.para("<br/>".join(identity)))

    title = labels[str(doc.get("doc_type") or "invoice")]
    facts = [
        ctx.para(f"{title}", "title"),
        ctx.para(f"<b>{labels['number']} {escape(str(doc['number']))}</b>"),
        ctx.para(f"{labels['issue_date']} : {ctx.date(doc['issue_date'])}"),
    ]
    if doc.get("due_date"):
        facts.append(ctx.para(f"{labels['due_date']} : {ctx.date(doc['due_date'])}"))
    if doc.get("period_start") and doc.get("period_end"):
        period = labels["period"].format(
            start=ctx.date(doc["period_start"]), end=ctx.date(doc["period_end"])
        )
        facts.append(ctx.para(period))
    if doc.get("delivery_date"):
        facts.append(ctx.para(f"{labels['delivery_date']} : {ctx.date(doc['delivery_date'])}"))
    if doc.get("customer_po"):
        facts.append(ctx.para(f"{labels['po']} : {escape(str(doc['customer_po']))}"))
    if doc.get("corrects"):
        text = labels["corrects"].format(number=escape(str(doc["corrects"])))
        if doc.get("corrects_issue_date"):
            text += " " + labels["corrects_date"].format(date=ctx.date(doc["corrects_issue_date"]))
        facts.append(ctx.para(text))
    table = Table([[left, facts]], colWidths=[105 * mm, 75 * mm])
    table.setStyle(
        _style([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, -1), 0)])
    )
    return table


def _parties(ctx: _Ctx) -> Table:
    buyer, labels = ctx.doc["buyer"], ctx.labels
    block = [f"<b>{escape(str(buyer.get('legal_name') or ''))}</b>", *_address_lines(buyer)]
    if buyer.get("siren"):
        block.append(f"SIREN {escape(str(buyer['siren']))}")
    if buyer.get("vat_number"):
        block.append(f"{labels['vat_number']} {escape(str(buyer['vat_number']))}")
    customer = [ctx.para(labels["customer"], "bold"), ctx.para("<br/>".join(block))]
    delivery: list[Any] = []
    if delivery_address(buyer) is not None:
        delivery = [
            ctx.para(labels["delivery"], "bold"),
            ctx.para("<br/>".join(_address_lines(buyer, "delivery_"))),
        ]
    table = Table([[delivery, customer]], colWidths=[90 * mm, 90 * mm])
    table.setStyle(
        _style(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (1, 0), (1, 0), 0.5, ctx.accent),
                ("LEFTPADDING", (0, 0), (0, -1), 0),
            ]
        )
    )
    return table


def _rate(ctx: _Ctx, category: str, rate: object) -> str:
    if VatCategory(category) in _EXEMPT:
        return "–"
    return f"{ctx.number(rate, 1)} %" if ctx.language == "fr" else f"{ctx.number(rate, 1)}%"


def _table(
    ctx: _Ctx,
    head: Sequence[str],
    rows: list[list[Any]],
    widths: Sequence[float],
    *,
    right_from: int,
) -> Table:
    header = [
        ctx.para(text, "head_right" if column >= right_from else "head")
        for column, text in enumerate(head)
    ]
    table = Table([header, *rows], colWidths=list(widths), repeatRows=1)
    table.setStyle(
        _style(
            [
                ("BACKGROUND", (0, 0), (-1, 0), ctx.accent),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.lightgrey),
            ]
        )
    )
    return table


def _price(ctx: _Ctx, value: object) -> str:
    """A unit price: as an amount, unless it has more decimals than the currency."""
    price = to_decimal(value).normalize()
    if int(price.as_tuple().exponent) >= -2:
        return ctx.money(price)
    return ctx.number(price, 2)


def _lines(ctx: _Ctx) -> Table:
    labels = ctx.labels
    rows = []
    for line in sorted(ctx.doc["lines"], key=lambda item: int(item["position"])):
        text = escape(str(line["description"]))
        discounts = []
        if to_decimal(line.get("discount_percent") or 0):
            discounts.append(f"{ctx.number(line['discount_percent'], 0)} %")
        if to_decimal(line.get("discount_amount") or 0):
            discounts.append(ctx.money(line["discount_amount"]))
        if discounts:
            text += f"<br/><font size=7>{labels['discount']} {' + '.join(discounts)}</font>"
        if line.get("period_start") and line.get("period_end"):
            period = labels["period"].format(
                start=ctx.date(line["period_start"]), end=ctx.date(line["period_end"])
            )
            text += f"<br/><font size=7>{period}</font>"
        unit = str(line.get("unit_code") or "")
        rows.append(
            [
                ctx.para(text),
                ctx.para(ctx.number(line["quantity"], 0), "right"),
                ctx.para(UNITS[ctx.language].get(unit, unit)),
                ctx.para(_price(ctx, line["unit_price"]), "right"),
                ctx.para(_rate(ctx, line["vat_category"], line["vat_rate"]), "right"),
                ctx.para(ctx.money(line["net_amount"]), "right"),
            ]
        )
    head = [
        labels[key] for key in ("description", "quantity", "unit", "unit_price", "vat_rate", "net")
    ]
    return _table(
        ctx, head, rows, [78 * mm, 16 * mm, 18 * mm, 24 * mm, 16 * mm, 28 * mm], right_from=1
    )


def _breakdown(ctx: _Ctx) -> Table:
    labels = ctx.labels
    rows = []
    for group in ctx.doc["vat_breakdown"]:
        reason = str(group.get("exemption_reason") or "")
        rate = _rate(ctx, group["category"], group["rate"])
        rows.append(
            [
                ctx.para(rate + (f"<br/><font size=7>{escape(reason)}</font>" if reason else "")),
                ctx.para(ctx.money(group["base"]), "right"),
                ctx.para(ctx.money(group["vat"]), "right"),
            ]
        )
    head = [labels["vat_rate"], labels["breakdown_base"], labels["breakdown_vat"]]
    table = _table(ctx, head, rows, [60 * mm, 30 * mm, 30 * mm], right_from=1)
    table.hAlign = "LEFT"
    return table


def _totals(ctx: _Ctx) -> Table:
    doc, labels = ctx.doc, ctx.labels
    gross = to_decimal(doc["total_gross"])
    paid = to_decimal(doc.get("paid_amount") or Decimal(0))
    rows = [
        (labels["total_net"], doc["total_net"]),
        (labels["total_vat"], doc["total_vat"]),
        (labels["total_gross"], gross),
    ]
    if paid:
        rows.append((labels["paid"], paid))
    due = "to_pay" if doc.get("doc_type", "invoice") == "invoice" else "to_refund"
    rows.append((labels[due], gross - paid))
    data = [
        [
            ctx.para(label, "bold" if i == len(rows) - 1 else "base"),
            ctx.para(ctx.money(value), "right"),
        ]
        for i, (label, value) in enumerate(rows)
    ]
    table = Table(data, colWidths=[40 * mm, 35 * mm])
    table.hAlign = "RIGHT"
    table.setStyle(
        _style(
            [
                ("LINEABOVE", (0, -1), (-1, -1), 1, ctx.accent),
                ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#eef2f7")),
            ]
        )
    )
    return table


def _payment(ctx: _Ctx) -> list[Any]:
    doc, seller, labels = ctx.doc, ctx.doc["seller"], ctx.labels
    iban = " ".join(str(seller.get("iban") or "").split())
    if doc.get("doc_type", "invoice") != "invoice" or not iban:
        return []
    grouped = " ".join(
        iban.replace(" ", "")[i : i + 4] for i in range(0, len(iban.replace(" ", "")), 4)
    )
    text = f"<b>{labels['payment']}</b> – IBAN {escape(grouped)}"
    if seller.get("bic"):
        text += f" – BIC {escape(str(seller['bic']))}"
    text += f" – {labels['reference']} : {escape(str(doc['number']))}"
    return [ctx.para(text), Spacer(1, 3 * mm)]


def _mentions(ctx: _Ctx) -> list[Any]:
    doc, seller, buyer = ctx.doc, ctx.doc["seller"], ctx.doc["buyer"]
    texts = [text for subject, text in payment_notes(seller, buyer) if subject != "BAR"]
    seen = set()
    for group in doc["vat_breakdown"]:
        reason = str(group.get("exemption_reason") or "").strip()
        if reason and reason not in seen:
            seen.add(reason)
            texts.append(reason)
    if seller.get("vat_on_debits"):
        texts.append(DEBITS_OPTION_EN if ctx.language == "en" else DEBITS_OPTION_FR)
    notes = str(doc.get("notes") or "").strip()
    if notes:
        texts.append(notes)
    return [ctx.para(escape(text), "small") for text in texts]
