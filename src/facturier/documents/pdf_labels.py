"""The fixed words of the invoice PDF in French and English, and the units as words.

The PDF is in the buyer's language (French unless the customer reads English); these are
content, like the legal mentions, not interface texts, so they are written here in both.
"""

from __future__ import annotations

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
