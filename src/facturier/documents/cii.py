"""The EN 16931 CII XML (Factur-X profile EN 16931) of an issued invoice or credit note.

:func:`invoice_xml` turns the plain dict the billing app stores for an issued document
(``facturier.billing.snapshots``) into UN/CEFACT CII D16B XML that passes the EN 16931 rules,
the Factur-X 1.09 EN16931 profile and the French CTC rules BR-FR-* (LEGAL-FR §3.2, §4). It
writes what was issued and recomputes nothing: totals and the VAT breakdown are the stored
ones, so a wrong stored total shows up in validation instead of being hidden here.

Beyond ``document_content()``, it reads: ``corrects_issue_date`` (credit notes, BT-26),
``paid_amount`` (BT-113, default 0), ``delivery_date`` (BT-72, optional; an intra-EU supply of
goods needs it or a period) and, in the buyer snapshot, ``email`` or ``billing_emails`` (the
electronic address BT-49 of a consumer or foreign buyer without another one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from facturier.core.vat import DEBITS_OPTION_FR, VatCategory
from facturier.documents.cii_base import (
    Node,
    add,
    add_date,
    amount,
    new_root,
    serialize,
    to_decimal,
)
from facturier.documents.cii_lines import add_line
from facturier.documents.cii_notes import business_process, payment_notes
from facturier.documents.cii_parties import add_buyer, add_seller, add_ship_to
from facturier.documents.cii_tax import add_breakdown, category, vat_point_code

EN16931 = "urn:cen.eu:en16931:2017"  # BT-24, Factur-X profile EN 16931 (REF-16, FX-04)
TYPE_CODES = {"invoice": "380", "credit_note": "381"}  # BT-3
SEPA_TRANSFER = "58"  # BT-81, UNTDID 4461
# No account to pay to (no seller IBAN, or a credit note whose refund or offset is settled
# later): "instrument not defined"; 30 would need an account (CII-SR-470).
UNDEFINED_MEANS = "1"


def invoice_xml(doc: Mapping[str, Any]) -> bytes:
    """The CII XML of an issued document, UTF-8 encoded, with an XML declaration.

    Raises ValueError when the document lacks something the rules require (a SIREN, an
    electronic address, the corrected invoice of a credit note…), naming it.
    """
    doc_type = str(doc.get("doc_type") or "invoice")
    if doc_type not in TYPE_CODES:
        raise ValueError(f"unknown document type: {doc_type!r}")
    currency = str(doc.get("currency") or "EUR")
    if currency != "EUR":
        # BR-FR-CO-12 would need the VAT total in EUR (BT-6, BT-111) too.
        raise ValueError(f"only EUR documents are supported, not {currency}")
    lines = sorted(doc.get("lines") or [], key=lambda line: int(line["position"]))
    if not lines:
        raise ValueError("a document needs at least one line")
    root = new_root("rsm:CrossIndustryInvoice")
    context = add(root, "rsm:ExchangedDocumentContext")
    process = add(context, "ram:BusinessProcessSpecifiedDocumentContextParameter")
    add(process, "ram:ID", business_process(lines))
    add(add(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931)
    _document(root, doc, TYPE_CODES[doc_type])
    transaction = add(root, "rsm:SupplyChainTradeTransaction")
    for line in lines:
        add_line(transaction, line, currency)
    categories = {category(line["vat_category"]) for line in lines}
    _agreement(transaction, doc, categories)
    _delivery(transaction, doc, categories)
    _settlement(transaction, doc, lines, currency)
    return serialize(root)


def _document(root: Node, doc: Mapping[str, Any], type_code: str) -> None:
    """BG-1..BT-3: number, type, issue date and notes."""
    number = str(doc.get("number") or "")
    if not number:
        raise ValueError("the document has no number: only issued documents have XML")
    node = add(root, "rsm:ExchangedDocument")
    add(node, "ram:ID", number)
    add(node, "ram:TypeCode", type_code)
    add_date(node, "ram:IssueDateTime", doc["issue_date"])
    free_text = str(doc.get("notes") or "").strip()
    if free_text:
        add(add(node, "ram:IncludedNote"), "ram:Content", free_text)
    if doc["seller"].get("vat_on_debits"):  # VATM-05: only when the seller opted
        add(add(node, "ram:IncludedNote"), "ram:Content", DEBITS_OPTION_FR)
    for subject, text in payment_notes(doc["seller"], doc["buyer"]):
        note = add(node, "ram:IncludedNote")
        add(note, "ram:Content", text)
        add(note, "ram:SubjectCode", subject)


def _agreement(transaction: Node, doc: Mapping[str, Any], categories: set[VatCategory]) -> None:
    """BG-4, BG-7 and the purchase order (BT-13)."""
    node = add(transaction, "ram:ApplicableHeaderTradeAgreement")
    not_subject = VatCategory.O in categories  # BR-O-02: no VAT identifiers at all
    exempt_without_vat = VatCategory.E in categories and not doc["seller"].get("vat_number")
    add_seller(node, doc["seller"], vat_ids=not not_subject, tax_id=exempt_without_vat)
    add_buyer(node, doc["buyer"], vat_ids=not not_subject)
    order = str(doc.get("customer_po") or "").strip()
    if order:
        add(add(node, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID", order)


def _delivery(transaction: Node, doc: Mapping[str, Any], categories: set[VatCategory]) -> None:
    """BG-13: deliver-to party and, when known, the actual delivery date (BT-72)."""
    node = add(transaction, "ram:ApplicableHeaderTradeDelivery")
    add_ship_to(node, doc["buyer"])
    delivered = doc.get("delivery_date")
    if delivered:
        event = add(node, "ram:ActualDeliverySupplyChainEvent")
        add_date(event, "ram:OccurrenceDateTime", delivered)
    has_period = doc.get("period_start") or doc.get("period_end")
    if VatCategory.K in categories and not (delivered or has_period):
        raise ValueError("an intra-EU supply needs its delivery date or period (BR-IC-11)")


def _settlement(
    transaction: Node, doc: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], currency: str
) -> None:
    seller = doc["seller"]
    is_invoice = doc.get("doc_type", "invoice") == "invoice"
    node = add(transaction, "ram:ApplicableHeaderTradeSettlement")
    if is_invoice:
        add(node, "ram:PaymentReference", str(doc["number"]))  # BT-83: the transfer reference
    add(node, "ram:InvoiceCurrencyCode", currency)
    _payment_means(node, seller, is_invoice=is_invoice)
    franchise = seller.get("vat_regime") == "franchise"
    point_code = "" if franchise else vat_point_code(seller, lines)
    breakdown = doc.get("vat_breakdown") or []
    if not breakdown:
        raise ValueError("the document has no VAT breakdown (BG-23, BR-CO-18)")
    for group in breakdown:
        add_breakdown(node, group, point_code=point_code, franchise=franchise)
    start, end = doc.get("period_start"), doc.get("period_end")
    if start or end:  # BG-14, the period billed (INV-12)
        period = add(node, "ram:BillingSpecifiedPeriod")
        if start:
            add_date(period, "ram:StartDateTime", start)
        if end:
            add_date(period, "ram:EndDateTime", end)
    if doc.get("due_date"):
        terms = add(node, "ram:SpecifiedTradePaymentTerms")
        add_date(terms, "ram:DueDateDateTime", doc["due_date"])
    _totals(node, doc, lines, currency)
    if not is_invoice:
        _corrected_invoice(node, doc)


def _payment_means(node: Node, seller: Mapping[str, Any], *, is_invoice: bool) -> None:
    """BG-16: a SEPA transfer to the seller's IBAN for an invoice; otherwise undefined."""
    iban = "".join(str(seller.get("iban") or "").split()).upper()
    means = add(node, "ram:SpecifiedTradeSettlementPaymentMeans")
    if not (is_invoice and iban):
        add(means, "ram:TypeCode", UNDEFINED_MEANS)
        return
    add(means, "ram:TypeCode", SEPA_TRANSFER)
    add(add(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", iban)
    bic = "".join(str(seller.get("bic") or "").split()).upper()
    if bic:
        add(add(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", bic)


def _totals(
    node: Node, doc: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], currency: str
) -> None:
    """BG-22: BT-106 = Σ line nets, BT-109, BT-110, BT-112, BT-113 paid, BT-115 due."""
    line_total = sum((to_decimal(line["net_amount"], "net amount") for line in lines), Decimal(0))
    gross = to_decimal(doc["total_gross"], "total gross")
    paid = to_decimal(doc.get("paid_amount") or 0, "paid amount")
    summation = add(node, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    add(summation, "ram:LineTotalAmount", amount(line_total))
    add(summation, "ram:TaxBasisTotalAmount", amount(doc["total_net"]))
    add(summation, "ram:TaxTotalAmount", amount(doc["total_vat"]), currencyID=currency)
    add(summation, "ram:GrandTotalAmount", amount(gross))
    add(summation, "ram:TotalPrepaidAmount", amount(paid))
    add(summation, "ram:DuePayableAmount", amount(gross - paid))


def _corrected_invoice(node: Node, doc: Mapping[str, Any]) -> None:
    """BG-3: the invoice a credit note corrects, with its date (BT-25/BT-26, BR-FR-CO-05)."""
    number, issued = doc.get("corrects"), doc.get("corrects_issue_date")
    if not number or not issued:
        raise ValueError("a credit note needs the corrected invoice number and issue date")
    reference = add(node, "ram:InvoiceReferencedDocument")
    add(reference, "ram:IssuerAssignedID", str(number))
    add_date(reference, "ram:FormattedIssueDateTime", issued, qualified=True)
