"""Tests of facturier.core.terms: due dates, L441-10 caps and late penalties (PAY-02)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.core.terms import (
    RECOVERY_INDEMNITY_EUR,
    check_terms,
    due_date,
    late_penalty,
)

DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@pytest.mark.parametrize(
    ("issue", "days", "end_of_month", "expected"),
    [
        (date(2026, 11, 28), 30, False, date(2026, 12, 28)),
        (date(2026, 11, 28), 0, False, date(2026, 11, 28)),
        (date(2026, 12, 31), 60, False, date(2027, 3, 1)),
        (date(2026, 1, 31), 45, True, date(2026, 3, 31)),
        (date(2026, 1, 10), 45, True, date(2026, 2, 28)),
        (date(2028, 1, 10), 45, True, date(2028, 2, 29)),
        (date(2026, 11, 28), 0, True, date(2026, 11, 30)),
    ],
)
def test_due_date(issue: date, days: int, end_of_month: bool, expected: date) -> None:
    assert due_date(issue, days=days, end_of_month=end_of_month) == expected


def test_due_date_refuses_negative_days() -> None:
    with pytest.raises(ValueError, match="days must not be negative: -1"):
        due_date(date(2026, 1, 1), days=-1)


@pytest.mark.parametrize(("days", "end_of_month"), [(0, False), (60, False), (0, True), (45, True)])
def test_terms_within_the_caps(days: int, end_of_month: bool) -> None:
    check_terms(days, end_of_month=end_of_month)


@pytest.mark.parametrize(
    ("days", "end_of_month", "message"),
    [
        (61, False, "at most 60 days (L441-10): 61"),
        (46, True, "at most 45 days end of month (L441-10): 46"),
        (-1, False, "days must not be negative: -1"),
        (-1, True, "days must not be negative: -1"),
    ],
)
def test_terms_beyond_the_caps(days: int, end_of_month: bool, message: str) -> None:
    with pytest.raises(ValueError) as error:
        check_terms(days, end_of_month=end_of_month)
    assert str(error.value) == f"payment terms: {message}"


@given(DATES, st.integers(min_value=-10, max_value=120))
@settings(max_examples=300, deadline=None)
def test_accepted_plain_terms_never_exceed_60_days(issue: date, days: int) -> None:
    try:
        check_terms(days, end_of_month=False)
    except ValueError:
        assert not 0 <= days <= 60
        return
    due = due_date(issue, days=days)
    assert timedelta(0) <= due - issue <= timedelta(days=60)


@given(DATES, st.integers(min_value=0, max_value=45))
@settings(max_examples=300, deadline=None)
def test_accepted_end_of_month_terms_follow_the_convention(issue: date, days: int) -> None:
    check_terms(days, end_of_month=True)
    due = due_date(issue, days=days, end_of_month=True)
    limit = issue + timedelta(days=45)
    # Convention: issue + N days, then the end of that month.
    assert due.day == calendar.monthrange(due.year, due.month)[1]
    assert issue + timedelta(days=days) <= due
    assert due <= limit.replace(day=calendar.monthrange(limit.year, limit.month)[1])


@pytest.mark.parametrize(
    ("amount", "rate", "days", "expected"),
    [
        ("1000.00", "12.15", 30, "9.99"),  # 9.986…
        ("1000.00", "10", 365, "100.00"),
        ("1000.00", "10", 366, "100.27"),  # 365-day basis even in leap years
        ("100.00", "3.65", 5, "0.05"),
        ("100.00", "7.3", 1, "0.02"),  # 0.02 exactly
        ("50.00", "3.65", 1, "0.01"),  # 0.005 rounds half-up
        ("1000.00", "10", 0, "0.00"),
        ("1000.00", "10", -5, "0.00"),
        ("0.00", "10", 30, "0.00"),
    ],
)
def test_late_penalty(amount: str, rate: str, days: int, expected: str) -> None:
    penalty = late_penalty(Decimal(amount), annual_rate_percent=Decimal(rate), days_late=days)
    assert str(penalty) == expected


def test_late_penalty_refuses_negative_inputs() -> None:
    with pytest.raises(ValueError, match="amount due must not be negative"):
        late_penalty(Decimal("-1"), annual_rate_percent=Decimal("10"), days_late=3)
    with pytest.raises(ValueError, match="penalty rate must not be negative"):
        late_penalty(Decimal("1"), annual_rate_percent=Decimal("-10"), days_late=3)


@given(
    st.integers(min_value=0, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2)),
    st.integers(min_value=0, max_value=3000).map(lambda r: Decimal(r).scaleb(-2)),
    st.integers(min_value=1, max_value=3650),
)
@settings(max_examples=200, deadline=None)
def test_late_penalty_is_the_rounded_exact_value(amount: Decimal, rate: Decimal, days: int) -> None:
    penalty = late_penalty(amount, annual_rate_percent=rate, days_late=days)
    assert penalty.as_tuple().exponent == -2
    exact = amount * rate * days / 36500  # default context: 28 digits are enough here
    assert abs(penalty - exact) <= Decimal("0.005")


def test_recovery_indemnity() -> None:
    assert Decimal("40.00") == RECOVERY_INDEMNITY_EUR
