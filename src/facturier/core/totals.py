"""Invoice arithmetic: line nets, VAT breakdown and totals, as EN 16931 checks them.

DOMAIN.md invariant 6 and RND-02: every line net is rounded once (half-up, to the currency's
minor unit); the VAT of each (category, rate) group is computed on the sum of its rounded
line nets, never by adding per-line VAT (BR-CO-17); the invoice VAT is the sum of the group
VAT (BR-CO-14); the invoice net is the sum of the line nets exactly (BR-CO-10).

>>> line = LineInput(Decimal("1"), Decimal("1.24"), VatCategory.S, Decimal("10"))
>>> totals = compute_totals([line, line])
>>> totals.net, totals.vat, totals.gross
(Decimal('2.48'), Decimal('0.25'), Decimal('2.73'))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from facturier.core.money import exponent, round_money
from facturier.core.vat import VatCategory, check_rate

__all__ = [
    "LineInput",
    "LineTotal",
    "Totals",
    "VatBreakdown",
    "compute_totals",
    "line_net",
    "validate_line",
]

# Exact products of a 4-decimal quantity and a 6-decimal price can exceed the default
# 28 significant digits; a wider context keeps them exact so that only the final rounding
# ever drops digits.
_EXACT_PRECISION = 60

# Scales the French CTC rules allow (BR-FR-DEC-01..04, INV-24, RND-03).
_QUANTITY_PLACES = 4
_PRICE_PLACES = 6
_AMOUNT_PLACES = 2
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class LineInput:
    """One invoice line as entered. Negative quantities make credit lines."""

    quantity: Decimal  # up to 4 decimals
    unit_price: Decimal  # excl. VAT, up to 6 decimals
    vat_category: VatCategory
    vat_rate: Decimal  # percent, e.g. Decimal("20")
    discount_percent: Decimal = Decimal(0)  # 0..100, applied first
    # Excl. VAT, applied after the percent, >= 0; it reduces the line's magnitude, so a
    # negated (credit) line gets the negated net.
    discount_amount: Decimal = Decimal(0)
    exemption_reason: str = ""


@dataclass(frozen=True)
class LineTotal:
    """Rounded amounts of one line: ``gross - discount == net``."""

    gross: Decimal  # round(quantity × unit price)
    discount: Decimal  # gross - net, so that the three always add up
    net: Decimal  # round(quantity × unit price × (1 - percent/100) ∓ discount amount)


@dataclass(frozen=True)
class VatBreakdown:
    """One (category, rate) group of the VAT breakdown (BG-23)."""

    category: VatCategory
    rate: Decimal
    base: Decimal  # Σ line nets of the group (BT-116)
    vat: Decimal  # round(base × rate / 100) (BT-117)
    exemption_reason: str


@dataclass(frozen=True)
class Totals:
    """Document totals: ``gross == net + vat``, ``vat == Σ breakdown vat``."""

    lines: tuple[LineTotal, ...]
    net: Decimal  # BT-106 = BT-109
    vat: Decimal  # BT-110
    gross: Decimal  # BT-112
    breakdown: tuple[VatBreakdown, ...]
    currency: str


def _places(value: Decimal) -> int:
    """Decimals the value needs (trailing zeros do not count): 1.2300 → 2."""
    exp = value.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _check_scale(name: str, value: Decimal, places: int) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} is not a decimal number: {value!r}")
    if _places(value) > places:
        raise ValueError(f"{name} has more than {places} decimals: {value}")


def _discounted(line: LineInput) -> Decimal:
    """Exact quantity × price after the percent discount (not rounded)."""
    with localcontext(prec=_EXACT_PRECISION):
        return line.quantity * line.unit_price * (1 - line.discount_percent / _HUNDRED)


def validate_line(line: LineInput) -> None:
    """Refuse a line the French e-invoicing rules would reject, naming the field.

    >>> validate_line(LineInput(Decimal("1.00001"), Decimal("1"), VatCategory.S, Decimal("20")))
    Traceback (most recent call last):
    ...
    ValueError: quantity has more than 4 decimals: 1.00001
    >>> validate_line(LineInput(Decimal("1"), Decimal("1"), VatCategory.AE, Decimal("20")))
    Traceback (most recent call last):
    ...
    ValueError: VAT rate of category AE must be 0: 20
    """
    _check_scale("quantity", line.quantity, _QUANTITY_PLACES)
    _check_scale("unit price", line.unit_price, _PRICE_PLACES)
    _check_scale("discount percent", line.discount_percent, _AMOUNT_PLACES)
    _check_scale("discount amount", line.discount_amount, _AMOUNT_PLACES)
    if not 0 <= line.discount_percent <= _HUNDRED:
        raise ValueError(f"discount percent must be between 0 and 100: {line.discount_percent}")
    if line.discount_amount < 0:
        raise ValueError(f"discount amount must not be negative: {line.discount_amount}")
    # A discount larger than the line would flip its sign: that is a credit line, which
    # must be entered as a negative quantity instead.
    if line.discount_amount > abs(_discounted(line)):
        raise ValueError(f"discount amount exceeds the line amount: {line.discount_amount}")
    check_rate(line.vat_category, line.vat_rate)
    if line.vat_category in (VatCategory.S, VatCategory.Z) and line.exemption_reason:
        # BR-S-10 / BR-Z-10: taxed lines carry no exemption reason.
        raise ValueError(f"exemption reason not allowed for VAT category {line.vat_category}")


def line_net(line: LineInput, currency: str = "EUR") -> LineTotal:
    """Round the line once: net = round(q × p × (1 − pct/100) ∓ discount amount).

    The discount amount is taken off the line's magnitude (subtracted from a positive line,
    added to a negative one), so negating the quantity negates every amount.

    >>> line_net(LineInput(Decimal("3"), Decimal("19.99"), VatCategory.S, Decimal("20"),
    ...                    discount_percent=Decimal("10")))
    LineTotal(gross=Decimal('59.97'), discount=Decimal('6.00'), net=Decimal('53.97'))
    >>> line_net(LineInput(Decimal("-2"), Decimal("10"), VatCategory.S, Decimal("20"),
    ...                    discount_amount=Decimal("1.50")))
    LineTotal(gross=Decimal('-20.00'), discount=Decimal('-1.50'), net=Decimal('-18.50'))
    """
    with localcontext(prec=_EXACT_PRECISION):
        exact_gross = line.quantity * line.unit_price
        discounted = _discounted(line)
        fixed = -line.discount_amount if discounted < 0 else line.discount_amount
        gross = round_money(exact_gross, currency)
        net = round_money(discounted - fixed, currency)
        return LineTotal(gross=gross, discount=gross - net, net=net)


def _zero(currency: str) -> Decimal:
    return Decimal(0).scaleb(-exponent(currency))


def _group_reason(lines: Sequence[LineInput]) -> str:
    """The exemption reason of a (category, rate) group: EN 16931 allows one per group."""
    reasons = {line.exemption_reason for line in lines if line.exemption_reason}
    if len(reasons) > 1:
        first = lines[0]
        raise ValueError(
            f"lines of VAT category {first.vat_category} at {first.vat_rate} % "
            f"have different exemption reasons: {sorted(reasons)}"
        )
    return reasons.pop() if reasons else ""


def _breakdown(
    lines: Sequence[LineInput], nets: Sequence[Decimal], currency: str
) -> tuple[VatBreakdown, ...]:
    groups: dict[tuple[VatCategory, Decimal], list[int]] = {}
    for index, line in enumerate(lines):
        # Decimal("20") and Decimal("20.00") hash alike, so they share a group.
        groups.setdefault((VatCategory(line.vat_category), line.vat_rate), []).append(index)
    result = []
    for (category, rate), indexes in groups.items():
        base = sum((nets[i] for i in indexes), _zero(currency))
        with localcontext(prec=_EXACT_PRECISION):
            vat = round_money(base * rate / _HUNDRED, currency)
        reason = _group_reason([lines[i] for i in indexes])
        result.append(VatBreakdown(category, rate.quantize(Decimal("0.01")), base, vat, reason))
    result.sort(key=lambda group: (-group.rate, str(group.category)))
    return tuple(result)


def compute_totals(lines: Sequence[LineInput], currency: str = "EUR") -> Totals:
    """Validate the lines, then compute line nets, VAT breakdown and document totals.

    The breakdown has one group per (category, rate), sorted by rate descending, then by
    category code. Every amount has the currency's number of decimals.

    >>> totals = compute_totals([
    ...     LineInput(Decimal("1"), Decimal("100"), VatCategory.S, Decimal("20")),
    ...     LineInput(Decimal("1"), Decimal("100"), VatCategory.S, Decimal("5.5")),
    ... ])
    >>> [(group.rate, group.base, group.vat) for group in totals.breakdown]
    [(Decimal('20.00'), Decimal('100.00'), Decimal('20.00')), \
(Decimal('5.50'), Decimal('100.00'), Decimal('5.50'))]
    >>> totals.gross
    Decimal('225.50')
    """
    for number, line in enumerate(lines, start=1):
        try:
            validate_line(line)
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
    line_totals = tuple(line_net(line, currency) for line in lines)
    nets = [total.net for total in line_totals]
    breakdown = _breakdown(lines, nets, currency)
    net = sum(nets, _zero(currency))
    vat = sum((group.vat for group in breakdown), _zero(currency))
    return Totals(
        lines=line_totals,
        net=net,
        vat=vat,
        gross=net + vat,
        breakdown=breakdown,
        currency=currency,
    )
