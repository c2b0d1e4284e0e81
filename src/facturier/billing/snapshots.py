"""Frozen party identities and the hashed content of an issued document.

Snapshots are plain JSON-ready dicts (Decimals as text): what was true at issue, whatever
the company or customer records say later. The renderer and the XML builder read them.
"""

from __future__ import annotations

from typing import Any

from facturier.billing.models import Company, Customer, Invoice


def seller_snapshot(company: Company) -> dict[str, Any]:
    return {
        "legal_name": company.legal_name,
        "trade_name": company.trade_name,
        "legal_form": company.legal_form,
        "share_capital": str(company.share_capital) if company.share_capital is not None else "",
        "capital_variable": company.capital_variable,
        "address_line1": company.address_line1,
        "address_line2": company.address_line2,
        "postcode": company.postcode,
        "city": company.city,
        "country": company.country,
        "siren": company.siren,
        "siret": company.siret,
        "rcs_city": company.rcs_city,
        "vat_number": company.vat_number,
        "vat_regime": company.vat_regime,
        "vat_on_debits": company.vat_on_debits,
        "iban": company.iban,
        "bic": company.bic,
        "sepa_creditor_id": company.sepa_creditor_id,
        "email": company.email,
        "phone": company.phone,
        "late_penalty_rate": str(company.late_penalty_rate),
        "early_payment_discount": company.early_payment_discount,
    }


def buyer_snapshot(customer: Customer) -> dict[str, Any]:
    return {
        "code": customer.code,
        "kind": customer.kind,
        "legal_name": customer.legal_name,
        "siren": customer.siren,
        "siret": customer.siret,
        "vat_number": customer.vat_number,
        "address_line1": customer.address_line1,
        "address_line2": customer.address_line2,
        "postcode": customer.postcode,
        "city": customer.city,
        "country": customer.country,
        "delivery_line1": customer.delivery_line1,
        "delivery_line2": customer.delivery_line2,
        "delivery_postcode": customer.delivery_postcode,
        "delivery_city": customer.delivery_city,
        "delivery_country": customer.delivery_country,
        "language": customer.language,
    }


def document_content(invoice: Invoice) -> dict[str, Any]:
    """Everything legal about an issued document, as hashed into its chain link.

    Recomputed from the stored rows by `audit verify`: a change to any of these columns (or
    to a line) makes the stored hash disagree.
    """
    lines = [
        {
            "position": line.position,
            "description": line.description,
            "kind": line.kind,
            "quantity": line.quantity,
            "unit_code": line.unit_code,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "discount_amount": line.discount_amount,
            "vat_category": line.vat_category,
            "vat_rate": line.vat_rate,
            "exemption_reason": line.exemption_reason,
            "net_amount": line.net_amount,
            "period_start": line.period_start,
            "period_end": line.period_end,
        }
        for line in sorted(invoice.lines.all(), key=lambda line: line.position)
    ]
    return {
        "company": invoice.company_id,
        "doc_type": invoice.doc_type,
        "number": invoice.number,
        "sequence": invoice.sequence,
        "series_year": invoice.series_year,
        "issue_date": invoice.issue_date,
        "due_date": invoice.due_date,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "currency": invoice.currency,
        "customer_po": invoice.customer_po,
        "notes": invoice.notes,
        "corrects": invoice.corrects.number if invoice.corrects else None,
        "seller": invoice.seller,
        "buyer": invoice.buyer,
        "lines": lines,
        "total_net": invoice.total_net,
        "total_vat": invoice.total_vat,
        "total_gross": invoice.total_gross,
        "vat_breakdown": invoice.vat_breakdown,
    }
