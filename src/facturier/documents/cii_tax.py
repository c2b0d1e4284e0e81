"""VAT of the CII XML: line categories (BG-30), the breakdown (BG-23) and its codes.

Exempt categories carry their legal wording (BT-120, VATM-01..04) and a VATEX code (BT-121);
the VAT point date code BT-8 says when VAT becomes due (VATM-05).

>>> vatex_code("AE", ""), vatex_code("K", ""), vatex_code("S", "")
('VATEX-EU-AE', 'VATEX-EU-IC', '')
>>> vatex_code("E", "TVA non applicable, art. 293 B du CGI")
'VATEX-FR-FRANCHISE'
>>> vat_point_code({"vat_on_debits": True}, [{"kind": "services"}])
'5'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from facturier.core.vat import FRENCH_VAT_RATES, VatCategory
from facturier.documents.cii_base import Node, add, amount, percent

# BT-121 of each exempt category when the wording does not pick a more precise code.
_CATEGORY_VATEX = {
    VatCategory.AE: "VATEX-EU-AE",
    VatCategory.K: "VATEX-EU-IC",
    VatCategory.G: "VATEX-EU-G",
    VatCategory.O: "VATEX-EU-O",
}
# Categories that state no VAT rate (BR-O-05, BR-O-09).
_NO_RATE = {VatCategory.O}
FRANCHISE_VATEX = next(r.vatex for r in FRENCH_VAT_RATES if r.code == "FR-0-FRANCHISE")

# BT-8 codes in CII (UNTDID 2005), VATM-05: VAT due on invoicing (option "sur les débits"),
# on payment (services, the default "encaissements"), or on delivery (goods).
VAT_ON_INVOICE = "5"
VAT_ON_DELIVERY = "29"
VAT_ON_PAYMENT = "72"


def category(code: object) -> VatCategory:
    try:
        return VatCategory(str(code))
    except ValueError:
        raise ValueError(f"VAT category not allowed in France: {code!r}") from None


def vatex_code(code: object, reason: str, *, franchise: bool = False) -> str:
    """BT-121 for a (category, wording): the code of the French VAT table entry with that
    wording, else the category's EU code; empty when none applies (S, Z, art. 261 exempt)."""
    cat = category(code)
    if cat is VatCategory.E and franchise:
        return FRANCHISE_VATEX
    for rate in FRENCH_VAT_RATES:
        wordings = {rate.exemption_reason_fr, rate.exemption_reason_en}
        if rate.category is cat and reason and reason in wordings and rate.vatex:
            return rate.vatex
    return _CATEGORY_VATEX.get(cat, "")


def vat_point_code(seller: Mapping[str, Any], lines: Iterable[Mapping[str, Any]]) -> str:
    """BT-8 (VATM-05): 5 when the seller opted for VAT on debits; otherwise 72 when the
    document has services (VAT due on payment), 29 for goods only (due on delivery).

    [VERIFY] a mixed document gets 72: CII carries one BT-8 for the whole document.
    """
    if seller.get("vat_on_debits"):
        return VAT_ON_INVOICE
    kinds = {line.get("kind") or "services" for line in lines}
    return VAT_ON_PAYMENT if "services" in kinds else VAT_ON_DELIVERY


def add_line_tax(parent: Node, line: Mapping[str, Any]) -> None:
    """BG-30: the line's VAT category (BT-151) and rate (BT-152)."""
    cat = category(line["vat_category"])
    node = add(parent, "ram:ApplicableTradeTax")
    add(node, "ram:TypeCode", "VAT")
    add(node, "ram:CategoryCode", str(cat))
    if cat not in _NO_RATE:
        add(node, "ram:RateApplicablePercent", percent(line["vat_rate"]))


def add_breakdown(
    parent: Node, group: Mapping[str, Any], *, point_code: str, franchise: bool
) -> None:
    """One BG-23 group: VAT (BT-117), base (BT-116), category, wording, code, rate."""
    cat = category(group["category"])
    reason = str(group.get("exemption_reason") or "").strip()
    node = add(parent, "ram:ApplicableTradeTax")
    add(node, "ram:CalculatedAmount", amount(group["vat"]))
    add(node, "ram:TypeCode", "VAT")
    exempt = cat not in (VatCategory.S, VatCategory.Z)
    if exempt and reason:
        add(node, "ram:ExemptionReason", reason)
    add(node, "ram:BasisAmount", amount(group["base"]))
    add(node, "ram:CategoryCode", str(cat))
    code = vatex_code(cat, reason, franchise=franchise) if exempt else ""
    if code:
        add(node, "ram:ExemptionReasonCode", code)
    if point_code:
        add(node, "ram:DueDateTypeCode", point_code)
    if cat not in _NO_RATE:
        add(node, "ram:RateApplicablePercent", percent(group["rate"]))
