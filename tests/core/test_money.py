"""Tests of facturier.core.money: rounding, parsing and formatting of amounts and dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.core.money import (
    CURRENCY_EXPONENTS,
    exponent,
    format_amount,
    format_date,
    format_decimal_fr,
    parse_amount,
    parse_date,
    round_money,
)

NBSP = "\u00a0"
CENTS = st.integers(min_value=-(10**12), max_value=10**12).map(lambda c: Decimal(c).scaleb(-2))


def test_exponents_follow_iso_4217() -> None:
    required = {
        "EUR",
        "USD",
        "GBP",
        "CHF",
        "JPY",
        "SEK",
        "DKK",
        "NOK",
        "PLN",
        "CZK",
        "HUF",
        "RON",
        "BGN",
    }
    assert required <= set(CURRENCY_EXPONENTS)
    assert exponent("EUR") == 2
    assert exponent("JPY") == 0


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown currency: 'EURO'"):
        exponent("EURO")
    with pytest.raises(ValueError, match="unknown currency"):
        round_money(Decimal("1"), "eur")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.245", "EUR", "0.25"),
        ("0.244", "EUR", "0.24"),
        ("-0.245", "EUR", "-0.25"),
        ("2.5", "JPY", "3"),
        ("-2.5", "JPY", "-3"),
        ("1.0005", "TND", "1.001"),
        ("7", "EUR", "7.00"),
        ("-0.004", "EUR", "0.00"),
    ],
)
def test_round_money_is_half_up_to_the_minor_unit(
    amount: str, currency: str, expected: str
) -> None:
    result = round_money(Decimal(amount), currency)
    assert str(result) == expected


def test_round_money_refuses_floats_and_nan() -> None:
    with pytest.raises(TypeError):
        round_money(0.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a finite number"):
        round_money(Decimal("NaN"))


@given(CENTS, st.integers(min_value=0, max_value=9999))
@settings(max_examples=200, deadline=None)
def test_round_money_is_symmetric(cents: Decimal, extra: int) -> None:
    amount = cents + Decimal(extra).scaleb(-6)
    assert round_money(-amount) == -round_money(amount)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1 234,56 €", "1234.56"),
        (f"1{NBSP}234,56{NBSP}€", "1234.56"),
        ("1\u202f234\u202f567,89", "1234567.89"),
        ("1234,5", "1234.5"),
        ("-12,00", "-12.00"),
        ("  42 ", "42"),
        ("€12.5", "12.5"),
        ("12,50 EUR", "12.50"),
        ("\u221212,00", "-12.00"),
        ("-0,00", "0.00"),
    ],
)
def test_parse_amount_accepts_french_and_plain_notations(text: str, expected: str) -> None:
    assert str(parse_amount(text)) == expected


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1,234.56", "1.234,56", "12 34,5", "1,2,3", "12.", ".5", "€12 €", "12 XYZ", "1e5",
     "12,5 euros", "٣"],
)  # fmt: skip
def test_parse_amount_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not an amount: "):
        parse_amount(text)


def test_format_amount_french() -> None:
    assert format_amount(Decimal("1234.56")) == f"1{NBSP}234,56{NBSP}€"
    assert format_amount(Decimal("-1234.56")) == f"-1{NBSP}234,56{NBSP}€"
    assert format_amount(Decimal("0.5"), "USD") == f"0,50{NBSP}$"
    assert format_amount(Decimal("1234567"), "JPY") == f"1{NBSP}234{NBSP}567{NBSP}JPY"
    assert format_amount(Decimal("12"), "CHF", locale="fr-FR") == f"12,00{NBSP}CHF"


def test_format_amount_english() -> None:
    assert format_amount(Decimal("1234.56"), locale="en") == "€1,234.56"
    assert format_amount(Decimal("-1234.56"), locale="en") == "-€1,234.56"
    assert format_amount(Decimal("3"), "GBP", locale="en-GB") == "£3.00"
    assert format_amount(Decimal("3"), "SEK", locale="en") == f"SEK{NBSP}3.00"


def test_format_amount_refuses_unknown_locale() -> None:
    with pytest.raises(ValueError, match="unsupported locale: 'de'"):
        format_amount(Decimal("1"), locale="de")


@given(CENTS)
@settings(max_examples=200, deadline=None)
def test_french_format_parses_back(amount: Decimal) -> None:
    assert parse_amount(format_amount(amount)) == amount


def test_format_decimal_fr() -> None:
    assert format_decimal_fr(Decimal("1234.5"), 4) == f"1{NBSP}234,5000"
    assert format_decimal_fr(Decimal("20"), 0) == "20"
    assert format_decimal_fr(Decimal("-0.00001"), 2) == "0,00"
    with pytest.raises(ValueError, match="places must not be negative"):
        format_decimal_fr(Decimal("1"), -1)


def test_dates() -> None:
    day = date(2026, 11, 28)
    assert format_date(day) == "28/11/2026"
    assert format_date(day, locale="en") == "28 Nov 2026"
    assert format_date(date(2027, 1, 5)) == "05/01/2027"
    assert parse_date("28/11/2026") == day
    assert parse_date("2026-11-28") == day
    assert parse_date(" 5/1/2027 ") == date(2027, 1, 5)


@pytest.mark.parametrize("text", ["", "28-11-2026", "2026/11/28", "29/02/2026", "28/11/26", "x"])
def test_parse_date_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a date: "):
        parse_date(text)


@given(st.dates(min_value=date(1000, 1, 1)))
@settings(max_examples=200, deadline=None)
def test_french_date_parses_back(day: date) -> None:
    assert parse_date(format_date(day)) == day
