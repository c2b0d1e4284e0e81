"""Mandatory invoice mentions (LEGAL-FR §1): what is missing before a document may be issued.

Works on the party snapshots (plain dicts, see billing/snapshots.py) and returns problem
codes; the caller turns them into messages in the user's language. An empty list means the
document may be numbered.

>>> seller = {"legal_name": "ACME", "address_line1": "1 rue", "postcode": "75001",
...   "city": "Paris", "country": "FR", "siren": "732829320", "legal_form": "SAS",
...   "share_capital": "1000.00", "rcs_city": "Paris", "vat_regime": "normal",
...   "vat_number": "FR44732829320"}
>>> buyer = {"legal_name": "Client", "address_line1": "2 rue", "postcode": "69001",
...   "city": "Lyon", "country": "FR", "kind": "business", "siren": ""}
>>> missing_mentions(seller, buyer, lines=1, doc_type="invoice", corrects=None,
...   due_date_set=True)
['buyer.siren']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FORMS_WITH_CAPITAL = frozenset({"SAS", "SASU", "SARL", "EURL", "SA", "SNC", "SCOP"})
EU_COUNTRIES = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)
_PARTY_REQUIRED = ("legal_name", "address_line1", "postcode", "city", "country")


def missing_mentions(
    seller: Mapping[str, Any],
    buyer: Mapping[str, Any],
    *,
    lines: int,
    doc_type: str,
    corrects: str | None,
    due_date_set: bool,
) -> list[str]:
    """Codes of the mentions missing for this document, in a stable order."""
    problems = [f"seller.{f}" for f in _PARTY_REQUIRED if not seller.get(f)]
    problems += _seller_identity(seller)
    problems += [f"buyer.{f}" for f in _PARTY_REQUIRED if not buyer.get(f)]
    problems += _buyer_identity(buyer)
    if lines == 0:
        problems.append("lines")
    if not due_date_set:
        problems.append("due_date")
    if doc_type == "credit_note" and not corrects:
        problems.append("corrects")
    return problems


def _seller_identity(seller: Mapping[str, Any]) -> list[str]:
    problems = []
    if not seller.get("siren"):
        problems.append("seller.siren")  # INV-02
    if seller.get("legal_form") in FORMS_WITH_CAPITAL:
        if not seller.get("share_capital") and not seller.get("capital_variable"):
            problems.append("seller.share_capital")  # INV-03
        if not seller.get("rcs_city"):
            problems.append("seller.rcs_city")  # INV-03
    if seller.get("vat_regime") != "franchise" and not seller.get("vat_number"):
        problems.append("seller.vat_number")  # INV-04
    return problems


def _buyer_identity(buyer: Mapping[str, Any]) -> list[str]:
    if buyer.get("kind") != "business":
        return []
    problems = []
    country = buyer.get("country")
    if country == "FR" and not buyer.get("siren"):
        problems.append("buyer.siren")  # INV-06 / EINV-M-01
    if country != "FR" and country in EU_COUNTRIES and not buyer.get("vat_number"):
        problems.append("buyer.vat_number")  # INV-07: an EU business is identified by VAT
    return problems
