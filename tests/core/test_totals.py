"""Tests of facturier.core.totals (and the VAT data it relies on): EN 16931 arithmetic."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.core.totals import LineInput, Totals, VatBreakdown, compute_totals, line_net
from facturier.core.vat import (
    ALLOWED_FR_CATEGORIES,
    ALLOWED_FR_RATES,
    DEBITS_OPTION_FR,
    FRENCH_VAT_RATES,
    VatCategory,
    check_rate,
    vat_rate,
)

S = VatCategory.S


def line(quantity: str, price: str, rate: str = "20", **extra: object) -> LineInput:
    category = extra.pop("category", S if Decimal(rate) else VatCategory.E)
    return LineInput(Decimal(quantity), Decimal(price), category, Decimal(rate), **extra)  # type: ignore[arg-type]


# --- exact examples ---------------------------------------------------------------------


def test_vat_is_computed_on_the_group_base_not_per_line() -> None:
    # RND-02 hand case: per-line VAT would give 0.12 + 0.12 = 0.24.
    totals = compute_totals([line("1", "1.24", "10"), line("1", "1.24", "10")])
    assert totals.breakdown == (
        VatBreakdown(S, Decimal("10.00"), Decimal("2.48"), Decimal("0.25"), ""),
    )
    assert (totals.net, totals.vat, totals.gross) == (
        Decimal("2.48"),
        Decimal("0.25"),
        Decimal("2.73"),
    )


def test_percent_discount() -> None:
    totals = compute_totals([line("3", "19.99", "20", discount_percent=Decimal("10"))])
    assert totals.lines[0].gross == Decimal("59.97")
    assert totals.lines[0].net == Decimal("53.97")  # 53.973 rounded once
    assert totals.lines[0].discount == Decimal("6.00")
    assert (totals.net, totals.vat, totals.gross) == (
        Decimal("53.97"),
        Decimal("10.79"),
        Decimal("64.76"),
    )


def test_discount_amount_comes_after_the_percent_and_rounds_once() -> None:
    result = line_net(
        line("1.5", "10.333333", discount_percent=Decimal("5"), discount_amount=Decimal("0.01"))
    )
    # 1.5 × 10.333333 = 15.4999995; × 0.95 = 14.724999525; − 0.01 = 14.714999525
    assert result == type(result)(
        gross=Decimal("15.50"), discount=Decimal("0.79"), net=Decimal("14.71")
    )


def test_mixed_rates_are_sorted_by_rate_descending() -> None:
    totals = compute_totals(
        [
            line("1", "10", "5.5"),
            line("2", "50", "20"),
            line("1", "33.33", "10"),
            line("1", "100", "0", category=VatCategory.AE, exemption_reason="Autoliquidation"),
            line("1", "0.10", "5.5"),
        ]
    )
    rows = [(b.category, str(b.rate), str(b.base), str(b.vat)) for b in totals.breakdown]
    assert rows == [
        (S, "20.00", "100.00", "20.00"),
        (S, "10.00", "33.33", "3.33"),
        (S, "5.50", "10.10", "0.56"),
        (VatCategory.AE, "0.00", "100.00", "0.00"),
    ]
    assert totals.breakdown[-1].exemption_reason == "Autoliquidation"
    assert (totals.net, totals.vat, totals.gross) == (
        Decimal("243.43"),
        Decimal("23.89"),
        Decimal("267.32"),
    )


def test_zero_rate_groups_are_ordered_by_category() -> None:
    totals = compute_totals(
        [
            line("1", "1", "0", category=VatCategory.K),
            line("1", "1", "0", category=VatCategory.E),
            line("1", "1", "0", category=VatCategory.AE),
        ]
    )
    assert [b.category for b in totals.breakdown] == [VatCategory.AE, VatCategory.E, VatCategory.K]


def test_negative_line_reduces_the_group() -> None:
    totals = compute_totals([line("2", "100"), line("-1", "30", discount_amount=Decimal("5"))])
    assert totals.lines[1].net == Decimal("-25.00")
    assert totals.lines[1].discount == Decimal("-5.00")
    assert (totals.net, totals.vat, totals.gross) == (
        Decimal("175.00"),
        Decimal("35.00"),
        Decimal("210.00"),
    )


def test_credit_note_of_an_invoice_has_negated_totals() -> None:
    invoice = [line("3", "19.99", discount_percent=Decimal("10")), line("1", "1.245", "5.5")]
    credit = [replace(item, quantity=-item.quantity) for item in invoice]
    assert compute_totals(credit) == negated(compute_totals(invoice))


def test_jpy_rounds_to_whole_yen() -> None:
    totals = compute_totals([line("3", "333.5", "10"), line("1", "0.5", "10")], currency="JPY")
    assert [t.net for t in totals.lines] == [Decimal("1001"), Decimal("1")]
    assert (totals.net, totals.vat, totals.gross) == (
        Decimal("1002"),
        Decimal("100"),
        Decimal("1102"),
    )
    assert totals.currency == "JPY"


def test_no_lines_gives_zero_totals() -> None:
    totals = compute_totals([])
    assert (str(totals.net), str(totals.vat), str(totals.gross)) == ("0.00", "0.00", "0.00")
    assert totals.breakdown == ()


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (line("1.00001", "1"), "quantity has more than 4 decimals: 1.00001"),
        (line("1", "1.0000001"), "unit price has more than 6 decimals"),
        (
            line("1", "1", discount_percent=Decimal("100.01")),
            "discount percent must be between 0 and 100",
        ),
        (
            line("1", "1", discount_percent=Decimal("-1")),
            "discount percent must be between 0 and 100",
        ),
        (line("1", "1", discount_amount=Decimal("-1")), "discount amount must not be negative"),
        (
            line("1", "1", discount_amount=Decimal("1.01")),
            "discount amount exceeds the line amount",
        ),
        (
            line("1", "1", discount_amount=Decimal("0.001")),
            "discount amount has more than 2 decimals",
        ),
        (line("1", "1", "0", category=S), "VAT rate of category S must be above 0"),
        (line("1", "1", "20", category=VatCategory.E), "VAT rate of category E must be 0"),
        (line("1", "1", "19"), "VAT rate not allowed in France: 19"),
        (
            line("1", "1", exemption_reason="Exonération"),
            "exemption reason not allowed for VAT category S",
        ),
        (line("NaN", "1"), "quantity is not a decimal number"),
    ],
)
def test_invalid_lines_are_refused_with_the_field_named(bad: LineInput, message: str) -> None:
    with pytest.raises(ValueError, match=f"^line 2: {message}"):
        compute_totals([line("1", "1"), bad])


def test_trailing_zeros_do_not_count_as_decimals() -> None:
    compute_totals([line("1.000000", "2.50000000")])


def test_different_exemption_reasons_in_one_group_are_refused() -> None:
    lines = [
        line("1", "1", "0", exemption_reason="Exonération de TVA, article 261 du CGI"),
        line("1", "1", "0", exemption_reason="TVA non applicable, art. 293 B du CGI"),
    ]
    with pytest.raises(ValueError, match="different exemption reasons"):
        compute_totals(lines)


# --- VAT data (RATE-01, REF-13, VATM-01..05) ---------------------------------------------


def test_every_configured_rate_is_accepted_in_france() -> None:
    for rate in FRENCH_VAT_RATES:
        assert rate.rate in ALLOWED_FR_RATES
        assert rate.category in ALLOWED_FR_CATEGORIES
        check_rate(rate.category, rate.rate)
        assert bool(rate.vatex) == (
            rate.category in (VatCategory.AE, VatCategory.K, VatCategory.G)
            or rate.code == "FR-0-FRANCHISE"
        )
        assert bool(rate.exemption_reason_fr) == (rate.category is not S)


def test_exact_wordings() -> None:
    assert vat_rate("FR-0-FRANCHISE").exemption_reason_fr == "TVA non applicable, art. 293 B du CGI"
    assert vat_rate("FR-0-FRANCHISE").vatex == "VATEX-FR-FRANCHISE"
    assert (
        vat_rate("FR-0-AE").exemption_reason_fr
        == "Autoliquidation – article 196 de la directive 2006/112/CE"
    )
    assert vat_rate("FR-0-K").exemption_reason_fr == "Exonération de TVA, article 262 ter I du CGI"
    assert vat_rate("FR-0-G").exemption_reason_fr == "Exonération de TVA, article 262 I du CGI"
    assert vat_rate("FR-0-E").category is VatCategory.E
    assert DEBITS_OPTION_FR == "Option pour le paiement de la taxe d'après les débits"


def test_categories() -> None:
    assert {c.value for c in ALLOWED_FR_CATEGORIES} == {"S", "E", "AE", "K", "G", "O", "Z"}
    assert VatCategory("AE") is VatCategory.AE
    with pytest.raises(ValueError, match="VAT category not allowed in France: 'L'"):
        check_rate("L", Decimal("0"))


# --- properties -------------------------------------------------------------------------

RATE_CHOICES = [(S, rate) for rate in sorted(ALLOWED_FR_RATES) if rate] + [
    (category, Decimal(0)) for category in VatCategory if category is not S
]


@st.composite
def line_inputs(draw: st.DrawFn) -> LineInput:
    category, rate = draw(st.sampled_from(RATE_CHOICES))
    quantity = Decimal(draw(st.integers(-(10**8), 10**8))).scaleb(-4)
    price = Decimal(draw(st.integers(0, 10**11))).scaleb(-6)
    percent = Decimal(draw(st.integers(0, 10_000))).scaleb(-2)
    discounted = abs(quantity * price * (1 - percent / 100))
    max_cents = int(discounted * 100)
    discount_amount = Decimal(draw(st.integers(0, max_cents))).scaleb(-2)
    return LineInput(quantity, price, category, rate, percent, discount_amount)


INVOICES = st.lists(line_inputs(), max_size=12)


def half_up(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def negated(totals: Totals) -> Totals:
    return replace(
        totals,
        lines=tuple(
            replace(t, gross=-t.gross, discount=-t.discount, net=-t.net) for t in totals.lines
        ),
        net=-totals.net,
        vat=-totals.vat,
        gross=-totals.gross,
        breakdown=tuple(replace(b, base=-b.base, vat=-b.vat) for b in totals.breakdown),
    )


@given(INVOICES)
@settings(max_examples=300, deadline=None)
def test_totals_follow_en16931_rules(lines: list[LineInput]) -> None:
    totals = compute_totals(lines)
    nets = [t.net for t in totals.lines]
    assert totals.net == sum(nets, Decimal(0))  # BR-CO-10
    for group in totals.breakdown:
        members = [t.net for t, li in zip(totals.lines, lines, strict=True)
                   if (li.vat_category, li.vat_rate) == (group.category, group.rate)]  # fmt: skip
        assert group.base == sum(members, Decimal(0))
        assert group.vat == half_up(group.base * group.rate / 100)  # BR-CO-17
    assert sum((b.base for b in totals.breakdown), Decimal(0)) == totals.net
    assert totals.vat == sum((b.vat for b in totals.breakdown), Decimal(0))  # BR-CO-14
    assert totals.gross == totals.net + totals.vat
    for t in totals.lines:
        assert t.gross - t.discount == t.net
    amounts = [totals.net, totals.vat, totals.gross]
    amounts += [a for t in totals.lines for a in (t.gross, t.discount, t.net)]
    amounts += [a for b in totals.breakdown for a in (b.base, b.vat)]
    assert all(a.as_tuple().exponent == -2 for a in amounts)
    keys = [(-b.rate, b.category.value) for b in totals.breakdown]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


@given(INVOICES)
@settings(max_examples=300, deadline=None)
def test_negating_every_quantity_negates_every_total(lines: list[LineInput]) -> None:
    credit = [replace(item, quantity=-item.quantity) for item in lines]
    assert compute_totals(credit) == negated(compute_totals(lines))
