"""What an invoice PDF says, whatever its layout: every text, formatted and escaped.

A layout (see :mod:`facturier.documents.renderer`) only decides where and how these texts are
drawn, so no layout can drop a mandatory mention (LEGAL-FR §1): the seller's identity, the
document facts, the parties, the lines, the VAT breakdown, the totals, the payment details and
the notes all come from :class:`Content`. Texts are ReportLab paragraph markup (``<b>``,
``<br/>``, ``<font>``); anything that came from the data is escaped.

The mentions reuse the wordings of the XML notes (``cii_notes``), so PDF and XML agree (FX-06).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from facturier.core.money import format_amount, format_date, format_decimal_fr
from facturier.core.vat import DEBITS_OPTION_EN, DEBITS_OPTION_FR, VatCategory
from facturier.documents.cii_base import to_date, to_decimal
from facturier.documents.cii_notes import payment_notes
from facturier.documents.cii_parties import delivery_address, legal_info
from facturier.documents.pdf_labels import LABELS, UNITS

_EXEMPT = frozenset(VatCategory) - {VatCategory.S, VatCategory.Z}
LINE_COLUMNS = ("description", "quantity", "unit", "unit_price", "vat_rate", "net")


def document_language(doc: Mapping[str, Any]) -> str:
    """English for a customer who reads English, otherwise French."""
    return "en" if (doc["buyer"].get("language") or "fr") == "en" else "fr"


class Content:
    """The texts of one issued document (the dict of ``document_content``) in its language."""

    def __init__(self, doc: Mapping[str, Any], language: str | None = None) -> None:
        self.doc = doc
        self.language = language or document_language(doc)
        self.labels = LABELS[self.language]
        self.currency = str(doc.get("currency") or "EUR")
        self.is_invoice = (doc.get("doc_type") or "invoice") == "invoice"
        self.title = self.labels["invoice" if self.is_invoice else "credit_note"]
        self.seller: Mapping[str, Any] = doc["seller"]
        self.buyer: Mapping[str, Any] = doc["buyer"]

    # Formatting ---------------------------------------------------------------------------

    def money(self, value: object) -> str:
        return format_amount(to_decimal(value), self.currency, locale=self.language)

    def date(self, value: object) -> str:
        return format_date(to_date(value), locale=self.language)

    def number(self, value: object, places: int) -> str:
        """A quantity or rate: at least ``places`` decimals, more when the value has them."""
        decimal = to_decimal(value).normalize()
        shown = max(places, -int(decimal.as_tuple().exponent)) if decimal else places
        if self.language == "fr":
            return format_decimal_fr(to_decimal(value), shown)
        return f"{to_decimal(value):,.{shown}f}"

    def price(self, value: object) -> str:
        """A unit price: as an amount, unless it has more decimals than the currency."""
        price = to_decimal(value).normalize()
        if int(price.as_tuple().exponent) >= -2:
            return self.money(price)
        return self.number(price, 2)

    def rate(self, category: str, rate: object) -> str:
        """A VAT rate as printed ("20,0 %"), a dash for an exempt or reverse-charged line."""
        if VatCategory(category) in _EXEMPT:
            return "–"
        shown = self.number(rate, 1)
        return f"{shown} %" if self.language == "fr" else f"{shown}%"

    def _period(self, start: object, end: object) -> str:
        return self.labels["period"].format(start=self.date(start), end=self.date(end))

    # The seller and the buyer --------------------------------------------------------------

    def seller_name(self) -> str:
        name = escape(str(self.seller.get("legal_name") or ""))
        trade = str(self.seller.get("trade_name") or "").strip()
        return f"<b>{name}</b>" + (f" ({escape(trade)})" if trade else "")

    def seller_lines(self) -> list[str]:
        """Legal form, capital and RCS; address; SIREN/SIRET; VAT number; contact (INV-01..04)."""
        seller, lines = self.seller, []
        legal = legal_info(seller)
        if legal:
            lines.append(escape(legal))
        lines += address_lines(seller)
        ids = [f"SIREN {escape(str(seller.get('siren') or ''))}"]
        if seller.get("siret"):
            ids.append(f"SIRET {escape(str(seller['siret']))}")
        lines.append(" – ".join(ids))
        if seller.get("vat_number"):
            lines.append(f"{self.labels['vat_number']} {escape(str(seller['vat_number']))}")
        contact = " – ".join(str(seller[key]) for key in ("email", "phone") if seller.get(key))
        if contact:
            lines.append(escape(contact))
        return lines

    def buyer_lines(self) -> list[str]:
        buyer = self.buyer
        lines = [f"<b>{escape(str(buyer.get('legal_name') or ''))}</b>", *address_lines(buyer)]
        if buyer.get("siren"):
            lines.append(f"SIREN {escape(str(buyer['siren']))}")
        if buyer.get("vat_number"):
            lines.append(f"{self.labels['vat_number']} {escape(str(buyer['vat_number']))}")
        return lines

    def delivery_lines(self) -> list[str]:
        """The delivery address when it differs from the billing one, else nothing."""
        if delivery_address(self.buyer) is None:
            return []
        return address_lines(self.buyer, "delivery_")

    # The document --------------------------------------------------------------------------

    def facts(self) -> list[str]:
        """Number, dates, service period, delivery date, order and corrected invoice."""
        doc, labels = self.doc, self.labels
        facts = [
            f"<b>{labels['number']} {escape(str(doc['number']))}</b>",
            f"{labels['issue_date']} : {self.date(doc['issue_date'])}",
        ]
        if doc.get("due_date"):
            facts.append(f"{labels['due_date']} : {self.date(doc['due_date'])}")
        if doc.get("period_start") and doc.get("period_end"):
            facts.append(self._period(doc["period_start"], doc["period_end"]))
        if doc.get("delivery_date"):
            facts.append(f"{labels['delivery_date']} : {self.date(doc['delivery_date'])}")
        if doc.get("customer_po"):
            facts.append(f"{labels['po']} : {escape(str(doc['customer_po']))}")
        if doc.get("corrects"):
            text = labels["corrects"].format(number=escape(str(doc["corrects"])))
            if doc.get("corrects_issue_date"):
                text += " " + labels["corrects_date"].format(
                    date=self.date(doc["corrects_issue_date"])
                )
            facts.append(text)
        return facts

    def line_head(self) -> list[str]:
        return [self.labels[key] for key in LINE_COLUMNS]

    def line_rows(self, detail_size: float = 7) -> list[list[str]]:
        """One row per line, in LINE_COLUMNS order; discounts and period under the text."""
        labels, rows = self.labels, []
        for line in sorted(self.doc["lines"], key=lambda item: int(item["position"])):
            text = escape(str(line["description"]))
            discounts = []
            if to_decimal(line.get("discount_percent") or 0):
                discounts.append(f"{self.number(line['discount_percent'], 0)} %")
            if to_decimal(line.get("discount_amount") or 0):
                discounts.append(self.money(line["discount_amount"]))
            details = []
            if discounts:
                details.append(f"{labels['discount']} {' + '.join(discounts)}")
            if line.get("period_start") and line.get("period_end"):
                details.append(self._period(line["period_start"], line["period_end"]))
            for detail in details:
                text += f"<br/><font size={detail_size:g}>{detail}</font>"
            unit = str(line.get("unit_code") or "")
            rows.append(
                [
                    text,
                    self.number(line["quantity"], 0),
                    escape(UNITS[self.language].get(unit, unit)),
                    self.price(line["unit_price"]),
                    self.rate(line["vat_category"], line["vat_rate"]),
                    self.money(line["net_amount"]),
                ]
            )
        return rows

    def breakdown_head(self) -> list[str]:
        return [self.labels[key] for key in ("vat_rate", "breakdown_base", "breakdown_vat")]

    def breakdown_rows(self, detail_size: float = 7) -> list[list[str]]:
        """Per VAT rate: rate (with the exemption reason under it), base, VAT."""
        rows = []
        for group in self.doc["vat_breakdown"]:
            rate = self.rate(group["category"], group["rate"])
            reason = str(group.get("exemption_reason") or "")
            if reason:
                rate += f"<br/><font size={detail_size:g}>{escape(reason)}</font>"
            rows.append([rate, self.money(group["base"]), self.money(group["vat"])])
        return rows

    def totals(self) -> list[tuple[str, str]]:
        """(label, amount) rows; the last one is the amount due (or refunded)."""
        doc, labels = self.doc, self.labels
        gross = to_decimal(doc["total_gross"])
        paid = to_decimal(doc.get("paid_amount") or Decimal(0))
        rows = [
            (labels["total_net"], self.money(doc["total_net"])),
            (labels["total_vat"], self.money(doc["total_vat"])),
            (labels["total_gross"], self.money(gross)),
        ]
        if paid:
            rows.append((labels["paid"], self.money(paid)))
        rows.append(
            (labels["to_pay" if self.is_invoice else "to_refund"], self.money(gross - paid))
        )
        return rows

    def payment(self) -> str:
        """Bank transfer details of an invoice, or "" (credit notes, no IBAN)."""
        seller, labels = self.seller, self.labels
        iban = "".join(str(seller.get("iban") or "").split())
        if not self.is_invoice or not iban:
            return ""
        grouped = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        text = f"<b>{labels['payment']}</b> – IBAN {escape(grouped)}"
        if seller.get("bic"):
            text += f" – BIC {escape(str(seller['bic']))}"
        return text + f" – {labels['reference']} : {escape(str(self.doc['number']))}"

    def mentions(self) -> list[str]:
        """Payment terms (PMT, PMD, AAB), exemption reasons, debits option, free notes."""
        texts = [
            text for subject, text in payment_notes(self.seller, self.buyer) if subject != "BAR"
        ]
        for group in self.doc["vat_breakdown"]:
            reason = str(group.get("exemption_reason") or "").strip()
            if reason and reason not in texts:
                texts.append(reason)
        if self.seller.get("vat_on_debits"):
            texts.append(DEBITS_OPTION_EN if self.language == "en" else DEBITS_OPTION_FR)
        notes = str(self.doc.get("notes") or "").strip()
        if notes:
            texts.append(notes)
        return [escape(text) for text in texts]


def address_lines(party: Mapping[str, Any], prefix: str = "address_") -> list[str]:
    """A postal address as escaped lines; the country only when it is not France."""
    delivery = prefix != "address_"
    lines = [str(party.get(f"{prefix}{key}") or "").strip() for key in ("line1", "line2")]
    postcode = str(party.get("delivery_postcode" if delivery else "postcode") or "")
    city = str(party.get("delivery_city" if delivery else "city") or "")
    country = str(party.get("delivery_country" if delivery else "country") or "FR")
    lines.append(f"{postcode} {city}".strip())
    if country.upper() != "FR":
        lines.append(country.upper())
    return [escape(line) for line in lines if line]
