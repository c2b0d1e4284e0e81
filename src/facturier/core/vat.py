"""VAT categories (EN 16931 / UNCL 5305) and the French VAT rates as data.

Rates are data, not literals sprinkled in the code (RATE-01): each :class:`VatRate` carries
its category, its wording on the invoice (VATM-01..04) and its EN 16931 exemption code.
:func:`check_rate` enforces what the French e-invoicing rules accept (REF-13: BR-FR-15/16).

>>> vat_rate("FR-20").rate
Decimal('20.00')
>>> check_rate(VatCategory.S, Decimal("19"))
Traceback (most recent call last):
...
ValueError: VAT rate not allowed in France: 19
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class VatCategory(StrEnum):
    """EN 16931 VAT category codes (UNCL 5305) allowed in France.

    The member names are the codes themselves: they are what the database and the XML hold.
    (Descriptive aliases were left out on purpose: mypy treats an alias as a different
    literal, which breaks narrowing and exhaustiveness checks.)
    """

    S = "S"  # standard rate
    Z = "Z"  # zero rated
    E = "E"  # exempt
    AE = "AE"  # reverse charge (autoliquidation)
    K = "K"  # intra-EU supply, exempt
    G = "G"  # export outside the EU, exempt
    O = "O"  # noqa: E741 - outside the scope of VAT; the EN 16931 code is a capital O


@dataclass(frozen=True)
class VatRate:
    """One VAT treatment a line can have: category, rate and the wording it requires.

    ``valid_from`` / ``valid_to`` (inclusive) bound the period the rate is in force; None means
    open-ended. The rate applied is the one in force at the chargeable event (RATE-02).
    """

    code: str
    category: VatCategory
    rate: Decimal
    label_fr: str
    label_en: str
    exemption_reason_fr: str = ""
    exemption_reason_en: str = ""
    vatex: str = ""  # EN 16931 VATEX exemption reason code (BT-121); empty when VAT is due
    valid_from: date | None = None
    valid_to: date | None = None

    def in_force(self, on: date) -> bool:
        """Whether the rate applies to a chargeable event on that day.

        >>> vat_rate("FR-20").in_force(date(2013, 12, 31))
        False
        """
        starts_ok = self.valid_from is None or self.valid_from <= on
        return starts_ok and (self.valid_to is None or on <= self.valid_to)


# The 2014 reform (loi 2012-1510) set 20 % and 10 %; before, 19.6 % and 7 % applied.
_REFORM_2014 = date(2014, 1, 1)

FRENCH_VAT_RATES: tuple[VatRate, ...] = (
    VatRate("FR-20", VatCategory.S, Decimal("20.00"), "TVA 20\u00a0%", "VAT 20%",
            valid_from=_REFORM_2014),
    VatRate("FR-10", VatCategory.S, Decimal("10.00"), "TVA 10\u00a0%", "VAT 10%",
            valid_from=_REFORM_2014),
    VatRate("FR-5.5", VatCategory.S, Decimal("5.50"), "TVA 5,5\u00a0%", "VAT 5.5%"),
    VatRate("FR-2.1", VatCategory.S, Decimal("2.10"), "TVA 2,1\u00a0%", "VAT 2.1%"),
    VatRate(
        "FR-0-FRANCHISE", VatCategory.E, Decimal("0.00"),
        "Franchise en base de TVA", "VAT exemption for small businesses",
        exemption_reason_fr="TVA non applicable, art. 293 B du CGI",
        exemption_reason_en="VAT not applicable, art. 293 B of the French tax code (CGI)",
        # XP Z12-012 code; LEGAL-FR marks it [VERIFY] (VATM-01).
        vatex="VATEX-FR-FRANCHISE",
    ),
    VatRate(
        "FR-0-AE", VatCategory.AE, Decimal("0.00"), "Autoliquidation", "Reverse charge",
        exemption_reason_fr="Autoliquidation – article 196 de la directive 2006/112/CE",
        exemption_reason_en="Reverse charge – article 196 of Directive 2006/112/EC",
        vatex="VATEX-EU-AE",
    ),
    VatRate(
        "FR-0-K", VatCategory.K, Decimal("0.00"),
        "Livraison intracommunautaire", "Intra-community supply",
        exemption_reason_fr="Exonération de TVA, article 262 ter I du CGI",
        exemption_reason_en="VAT exemption, article 262 ter I of the French tax code (CGI)",
        vatex="VATEX-EU-IC",
    ),
    VatRate(
        "FR-0-G", VatCategory.G, Decimal("0.00"), "Exportation", "Export outside the EU",
        # LEGAL-FR marks the article cited for exports [VERIFY] (VATM-04).
        exemption_reason_fr="Exonération de TVA, article 262 I du CGI",
        exemption_reason_en="VAT exemption, article 262 I of the French tax code (CGI)",
        vatex="VATEX-EU-G",
    ),
    VatRate(
        "FR-0-E", VatCategory.E, Decimal("0.00"), "Exonération de TVA", "VAT exempt",
        exemption_reason_fr="Exonération de TVA, article 261 du CGI",
        exemption_reason_en="VAT exemption, article 261 of the French tax code (CGI)",
        # Article 261 covers several directive articles (132, 135…), so no single VATEX
        # code fits; the reason text (BT-120) alone satisfies BR-E-10.
    ),
)  # fmt: skip

_BY_CODE: dict[str, VatRate] = {rate.code: rate for rate in FRENCH_VAT_RATES}

# BR-FR-16: the rates the French CTC schematron accepts (current, historic and overseas).
ALLOWED_FR_RATES: frozenset[Decimal] = frozenset(
    Decimal(rate)
    for rate in (
        "0", "0.9", "1.05", "1.75", "2.1", "5.5", "7", "8.5",
        "9.2", "9.6", "10", "13", "19.6", "20", "20.6",
    )
)  # fmt: skip

# BR-FR-15: L (Canary Islands IGIC) and M (Ceuta and Melilla IPSI) are refused in France.
ALLOWED_FR_CATEGORIES: frozenset[VatCategory] = frozenset(VatCategory)

# VATM-05: print only when the seller actually opted; a wrong mention is itself fined.
DEBITS_OPTION_FR = "Option pour le paiement de la taxe d'après les débits"
DEBITS_OPTION_EN = "Option for payment of VAT on debits (VAT due on invoicing)"


def vat_rate(code: str) -> VatRate:
    """The French VAT treatment with that code.

    >>> vat_rate("FR-0-AE").exemption_reason_fr
    'Autoliquidation – article 196 de la directive 2006/112/CE'
    >>> vat_rate("FR-19")
    Traceback (most recent call last):
    ...
    ValueError: unknown VAT rate code: 'FR-19'
    """
    try:
        return _BY_CODE[code]
    except KeyError:
        raise ValueError(f"unknown VAT rate code: {code!r}") from None


def vat_category(code: str) -> VatCategory:
    """Parse a category code, refusing the ones France does not accept.

    >>> vat_category("AE")
    <VatCategory.AE: 'AE'>
    >>> vat_category("L")
    Traceback (most recent call last):
    ...
    ValueError: VAT category not allowed in France: 'L'
    """
    try:
        category = VatCategory(code)
    except ValueError:
        raise ValueError(f"VAT category not allowed in France: {code!r}") from None
    if category not in ALLOWED_FR_CATEGORIES:
        raise ValueError(f"VAT category not allowed in France: {code!r}")
    return category


def check_rate(category: VatCategory | str, rate: Decimal) -> None:
    """Refuse a (category, rate) pair that EN 16931 or the French rules would reject.

    Only S carries VAT (BR-S-05); every other category has rate 0 (BR-Z/E/AE/IC/G-05,
    BR-O-05 for O); rates come from the French list (BR-FR-16).

    >>> check_rate("S", Decimal("5.5"))
    >>> check_rate("S", Decimal("0"))
    Traceback (most recent call last):
    ...
    ValueError: VAT rate of category S must be above 0: 0
    >>> check_rate(VatCategory.K, Decimal("20"))
    Traceback (most recent call last):
    ...
    ValueError: VAT rate of category K must be 0: 20
    """
    checked = vat_category(category)
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise ValueError(f"VAT rate is not a decimal number: {rate!r}")
    if checked is VatCategory.S and rate == 0:
        raise ValueError(f"VAT rate of category S must be above 0: {rate}")
    if checked is not VatCategory.S and rate != 0:
        raise ValueError(f"VAT rate of category {checked} must be 0: {rate}")
    if rate not in ALLOWED_FR_RATES:
        raise ValueError(f"VAT rate not allowed in France: {rate}")
