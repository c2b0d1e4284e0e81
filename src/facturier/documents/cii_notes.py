"""The document notes (BG-1) the French rules require, and the nature of the operations.

BR-FR-05/06 want exactly one note of each subject PMT (recovery indemnity), PMD (late
penalties) and AAB (early-payment discount) on every document, and REF-12 one BAR note
classifying the flow. The 40 € indemnity (D441-5) is for business buyers only: a consumer may
not be charged recovery costs (PAY-05), so their PMT note says that none applies.

>>> seller = {"late_penalty_rate": "12.15", "early_payment_discount": ""}
>>> [subject for subject, _ in payment_notes(seller, {"kind": "business", "country": "FR"})]
['PMT', 'PMD', 'AAB', 'BAR']
>>> flow_kind({"kind": "business", "country": "DE"}), flow_kind({"kind": "consumer"})
('B2BINT', 'B2C')
>>> business_process([{"kind": "services"}, {"kind": "goods"}])
'M1'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from facturier.core.money import format_amount, format_decimal_fr
from facturier.core.terms import RECOVERY_INDEMNITY_EUR
from facturier.documents.cii_base import to_decimal

# PAY-07 wordings (FNFE sample), adapted.
RECOVERY_B2B = (
    "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : "
    f"{format_amount(RECOVERY_INDEMNITY_EUR)} (art. L441-10 et D441-5 du Code de commerce)."
)
RECOVERY_CONSUMER = (
    "Aucune indemnité forfaitaire pour frais de recouvrement n'est due (client non professionnel)."
)
PENALTY_B2B = (
    "Tout retard de paiement entraîne de plein droit, sans rappel, des pénalités au taux annuel "
    "de {rate} % à compter du lendemain de la date d'échéance (art. L441-10 du Code de commerce)."
)
# [VERIFY] LEGAL-FR only covers the B2B penalty; a consumer owes interest at the legal rate
# after a formal notice (Code civil 1231-6).
PENALTY_CONSUMER = (
    "En cas de retard de paiement, des intérêts au taux légal sont dus après mise en demeure "
    "(art. 1231-6 du Code civil)."
)
NO_DISCOUNT = "Pas d'escompte pour paiement anticipé."

# BT-23 first letter (EINV-M-03): goods (biens), services, or both (mixte); "1" = ordinary.
_NATURE = {frozenset({"goods"}): "B1", frozenset({"services"}): "S1"}
_MIXED = "M1"


def is_business(buyer: Mapping[str, Any]) -> bool:
    return buyer.get("kind") == "business"


def flow_kind(buyer: Mapping[str, Any]) -> str:
    """The BAR note (REF-12): B2B, B2BINT, B2C or B2CINT from the buyer kind and country."""
    domestic = (buyer.get("country") or "FR") == "FR"
    if is_business(buyer):
        return "B2B" if domestic else "B2BINT"
    return "B2C" if domestic else "B2CINT"


def business_process(lines: Iterable[Mapping[str, Any]]) -> str:
    """BT-23: B1 (goods only), S1 (services only) or M1 (both)."""
    kinds = frozenset(line.get("kind") or "services" for line in lines)
    unknown = kinds - {"goods", "services"}
    if unknown:
        raise ValueError(f"unknown line kind: {sorted(map(str, unknown))}")
    if not kinds:
        raise ValueError("a document needs at least one line")
    return _NATURE.get(kinds, _MIXED)


def payment_notes(seller: Mapping[str, Any], buyer: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(subject code, text) of the PMT, PMD, AAB and BAR notes, in that order."""
    if is_business(buyer):
        rate_text = seller.get("late_penalty_rate")
        if rate_text in (None, ""):
            raise ValueError("the seller's late-penalty rate is missing (PAY-03)")
        rate = format_decimal_fr(to_decimal(rate_text, "late penalty rate"), 2)
        recovery, penalty = RECOVERY_B2B, PENALTY_B2B.format(rate=rate)
    else:
        recovery, penalty = RECOVERY_CONSUMER, PENALTY_CONSUMER
    discount = (seller.get("early_payment_discount") or "").strip() or NO_DISCOUNT
    return [
        ("PMT", recovery),
        ("PMD", penalty),
        ("AAB", discount),
        ("BAR", flow_kind(buyer)),
    ]
