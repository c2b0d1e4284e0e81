"""Issued-document dicts, shaped like ``document_content()`` of the billing app.

Line nets and the VAT breakdown come from ``facturier.core.totals`` so that the arithmetic is
the project's own; the stored breakdown holds texts, as ``billing.services.drafts`` writes it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from facturier.core.totals import LineInput, compute_totals
from facturier.core.vat import VatCategory, vat_rate

SELLER: dict[str, Any] = {
    "legal_name": "Atelier Test",
    "trade_name": "",
    "legal_form": "SAS",
    "share_capital": "10000.00",
    "capital_variable": False,
    "address_line1": "12 rue de la Paix",
    "address_line2": "",
    "postcode": "75002",
    "city": "Paris",
    "country": "FR",
    "siren": "732829320",
    "siret": "73282932000074",
    "rcs_city": "Paris",
    "vat_number": "FR44732829320",
    "vat_regime": "normal",
    "vat_on_debits": False,
    "iban": "FR7630006000011234567890189",
    "bic": "AGRIFRPP",
    "sepa_creditor_id": "",
    "email": "factures@atelier.example",
    "phone": "+33 1 23 45 67 89",
    "late_penalty_rate": "12.15",
    "early_payment_discount": "Pas d'escompte pour paiement anticipé.",
}

BUYER_FR: dict[str, Any] = {
    "code": "C0001",
    "kind": "business",
    "legal_name": "Boulangerie Martin",
    "siren": "443061841",
    "siret": "44306184100047",
    "vat_number": "FR40443061841",
    "address_line1": "3 place du Marché",
    "address_line2": "",
    "postcode": "69001",
    "city": "Lyon",
    "country": "FR",
    "delivery_line1": "",
    "delivery_line2": "",
    "delivery_postcode": "",
    "delivery_city": "",
    "delivery_country": "",
    "language": "fr",
}

CONSUMER: dict[str, Any] = {
    **BUYER_FR,
    "code": "C0002",
    "kind": "consumer",
    "legal_name": "Marie Dupont",
    "siren": "",
    "siret": "",
    "vat_number": "",
    "address_line1": "5 rue des Lilas",
    "postcode": "33000",
    "city": "Bordeaux",
    "email": "marie@example.org",
}

BUYER_DE: dict[str, Any] = {
    **BUYER_FR,
    "code": "C0003",
    "legal_name": "Müller Software GmbH",
    "siren": "",
    "siret": "",
    "vat_number": "DE136695976",
    "address_line1": "Friedrichstraße 10",
    "postcode": "10117",
    "city": "Berlin",
    "country": "DE",
    "language": "en",
}


def line(
    description: str = "Abonnement logiciel",
    *,
    quantity: str = "1",
    unit_price: str = "49.90",
    vat_code: str = "FR-20",
    kind: str = "services",
    unit_code: str = "MON",
    discount_percent: str = "0",
    discount_amount: str = "0",
    period: tuple[date, date] | None = None,
) -> dict[str, Any]:
    """A line as entered; `document` completes it with its position and net."""
    rate = vat_rate(vat_code)
    return {
        "description": description,
        "kind": kind,
        "quantity": Decimal(quantity),
        "unit_code": unit_code,
        "unit_price": Decimal(unit_price),
        "discount_percent": Decimal(discount_percent),
        "discount_amount": Decimal(discount_amount),
        "vat_category": str(rate.category),
        "vat_rate": rate.rate,
        "exemption_reason": rate.exemption_reason_fr,
        "period_start": period[0] if period else None,
        "period_end": period[1] if period else None,
    }


def document(
    lines: list[dict[str, Any]] | None = None,
    *,
    seller: dict[str, Any] | None = None,
    buyer: dict[str, Any] | None = None,
    doc_type: str = "invoice",
    number: str = "F2026-00042",
    issue_date: date = date(2026, 11, 30),
    due_date: date = date(2026, 12, 30),
    period: tuple[date, date] | None = (date(2026, 11, 1), date(2026, 11, 30)),
    **extra: Any,
) -> dict[str, Any]:
    """An issued document, its nets, breakdown and totals computed by core.totals."""
    lines = [dict(item) for item in (lines or [line(period=period)])]
    inputs = [
        LineInput(
            quantity=item["quantity"],
            unit_price=item["unit_price"],
            vat_category=VatCategory(item["vat_category"]),
            vat_rate=item["vat_rate"],
            discount_percent=item["discount_percent"],
            discount_amount=item["discount_amount"],
            exemption_reason=item["exemption_reason"],
        )
        for item in lines
    ]
    totals = compute_totals(inputs)
    for position, (item, total) in enumerate(zip(lines, totals.lines, strict=True), start=1):
        item["position"] = position
        item["net_amount"] = total.net
    doc: dict[str, Any] = {
        "company": 1,
        "doc_type": doc_type,
        "number": number,
        "sequence": 42,
        "series_year": 2026,
        "issue_date": issue_date,
        "due_date": due_date,
        "period_start": period[0] if period else None,
        "period_end": period[1] if period else None,
        "currency": "EUR",
        "customer_po": "",
        "notes": "",
        "corrects": None,
        "seller": dict(seller or SELLER),
        "buyer": dict(buyer or BUYER_FR),
        "lines": lines,
        "total_net": totals.net,
        "total_vat": totals.vat,
        "total_gross": totals.gross,
        "vat_breakdown": [
            {
                "category": str(group.category),
                "rate": str(group.rate),
                "base": str(group.base),
                "vat": str(group.vat),
                "exemption_reason": group.exemption_reason,
            }
            for group in totals.breakdown
        ],
    }
    doc.update(extra)
    return doc


NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def matrix() -> dict[str, dict[str, Any]]:
    """The documents every rule set must accept, by case name."""
    franchise_seller = {
        **SELLER,
        "vat_regime": "franchise",
        "vat_number": "",
        "legal_form": "EI",
        "share_capital": "",
        "rcs_city": "",
        "siret": "",
    }
    consumer_elsewhere = {
        **CONSUMER,
        "delivery_line1": "8 rue Neuve",
        "delivery_postcode": "33100",
        "delivery_city": "Bordeaux",
        "delivery_country": "FR",
    }
    several_rates = [
        line("Conseil", quantity="3.5", unit_price="120", discount_percent="10"),
        line("Livre", kind="goods", unit_code="H87", quantity="3", unit_price="19.99",
             vat_code="FR-5.5", discount_amount="2.50"),
        line("Repas", kind="goods", unit_code="H87", quantity="2", unit_price="15.333333",
             vat_code="FR-10", discount_percent="5", discount_amount="1.00"),
        line("Frais", unit_code="C62", unit_price="1.24", vat_code="FR-10"),
        line("Frais", unit_code="C62", unit_price="1.24", vat_code="FR-10"),
    ]  # fmt: skip
    forty = [
        line(f"Ligne {i}", quantity=str(i), unit_price=f"{i}.{i:02d}",
             vat_code=("FR-20", "FR-10", "FR-5.5")[i % 3], discount_percent=str(i % 4))
        for i in range(1, 41)
    ]  # fmt: skip
    return {
        "b2b_fr": document(customer_po="BC-2026-118", notes="Merci de votre confiance."),
        "consumer": document(
            [
                line("Clavier", kind="goods", unit_code="H87", unit_price="59.00"),
                line(period=NOVEMBER),
            ],
            buyer=consumer_elsewhere,
        ),
        "franchise": document(
            [
                line(
                    "Cours de piano",
                    unit_code="HUR",
                    quantity="4",
                    unit_price="35",
                    vat_code="FR-0-FRANCHISE",
                )
            ],
            seller=franchise_seller,
        ),
        "reverse_charge_de": document(
            [
                line(
                    "Développement",
                    unit_code="DAY",
                    quantity="5",
                    unit_price="650",
                    vat_code="FR-0-AE",
                )
            ],
            buyer=BUYER_DE,
        ),
        "intra_eu_goods": document(
            [line("Serveur", kind="goods", unit_code="H87", unit_price="2500", vat_code="FR-0-K")],
            buyer=BUYER_DE,
            period=None,
            delivery_date=date(2026, 11, 20),
        ),
        "several_rates": document(several_rates, seller={**SELLER, "vat_on_debits": True}),
        "credit_note": document(
            doc_type="credit_note",
            number="AV2026-00003",
            due_date=date(2026, 11, 30),
            corrects="F2026-00031",
            corrects_issue_date=date(2026, 10, 31),
            notes="Résiliation",
        ),
        "forty_lines": document(forty, paid_amount=Decimal("100.00")),
    }
