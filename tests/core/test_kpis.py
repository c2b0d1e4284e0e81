"""KPI arithmetic: MRR normalisation, ageing, DSO, monthly series (no database)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facturier.core import kpis
from facturier.core.kpis import RecurringAmount

amounts = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@pytest.mark.parametrize(
    ("unit", "interval", "per_period", "monthly"),
    [
        ("month", 1, "49.90", "49.90"),
        ("month", 3, "300.00", "100.00"),  # quarterly
        ("month", 2, "100.00", "50.00"),  # bimonthly
        ("month", 6, "600.00", "100.00"),  # half-yearly
        ("year", 1, "1200.00", "100.00"),
        ("year", 2, "2400.00", "100.00"),
        ("week", 1, "12.00", "52.00"),  # 52 weeks a year
        ("week", 2, "12.00", "26.00"),
        ("day", 1, "1.00", "30.42"),  # 365 days a year
        ("day", 7, "7.00", "30.42"),
        ("semi_monthly", 1, "50.00", "100.00"),
    ],
)
def test_mrr_per_frequency(unit: str, interval: int, per_period: str, monthly: str) -> None:
    assert kpis.mrr([RecurringAmount(Decimal(per_period), unit, interval)]) == Decimal(monthly)


def test_mrr_rounds_once_on_the_total() -> None:
    # Three weekly 1.00 subscriptions: 3 × 4.333… = 13.00, not 3 × 4.33 = 12.99.
    weekly = [RecurringAmount(Decimal("1.00"), "week")] * 3
    assert kpis.mrr(weekly) == Decimal("13.00")


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError):
        kpis.periods_per_month("fortnight")


@given(st.lists(amounts, max_size=20))
def test_monthly_subscriptions_mrr_is_their_sum(values: list[Decimal]) -> None:
    items = [RecurringAmount(v, "month") for v in values]
    assert kpis.mrr(items) == sum(values, Decimal(0)).quantize(Decimal("0.01"))
    assert kpis.arr(kpis.mrr(items)) == 12 * kpis.mrr(items)


@given(st.lists(amounts, max_size=10))
def test_yearly_and_monthly_agree(values: list[Decimal]) -> None:
    yearly = [RecurringAmount(v * 12, "year") for v in values]
    monthly = [RecurringAmount(v, "month") for v in values]
    assert kpis.mrr(yearly) == kpis.mrr(monthly)


@given(st.integers(min_value=-400, max_value=400), days)
def test_bucket_due_dates_agree_with_ageing_bucket(late: int, today: date) -> None:
    due = today - timedelta(days=late)
    key = kpis.ageing_bucket(late)
    for bucket, _, _ in kpis.AGEING_BUCKETS:
        earliest, latest = kpis.bucket_due_dates(bucket, today)
        inside = due <= latest and (earliest is None or due >= earliest)
        assert inside == (bucket == key)


@given(st.lists(st.tuples(st.integers(-200, 200), amounts), max_size=30), days)
def test_ageing_keeps_every_balance_once(rows: list[tuple[int, Decimal]], today: date) -> None:
    balances = [(today - timedelta(days=late), value) for late, value in rows]
    result = kpis.ageing(balances, today=today)
    assert result.outstanding == sum((v for _, v in rows), Decimal(0))
    assert result.overdue == sum((v for late, v in rows if late > 0), Decimal(0))


def test_ageing_boundaries() -> None:
    today = date(2026, 11, 28)
    rows = [
        (today, Decimal(1)),
        (today - timedelta(days=30), Decimal(2)),
        (today - timedelta(days=31), Decimal(4)),
        (today - timedelta(days=91), Decimal(8)),
    ]
    result = kpis.ageing(rows, today=today)
    assert result.not_due == Decimal(1)
    assert result.buckets == {
        "0-30": Decimal(2),
        "31-60": Decimal(4),
        "61-90": Decimal(0),
        "90+": Decimal(8),
    }


def test_dso() -> None:
    assert kpis.dso(Decimal(0), Decimal(100)) == Decimal("0.0")
    assert kpis.dso(Decimal(50), Decimal(150)) == Decimal("30.0")
    assert kpis.dso(Decimal(50), Decimal(0)) is None
    assert kpis.dso(Decimal(10), Decimal(100), days=30) == Decimal("3.0")


def test_month_starts_across_a_year() -> None:
    months = kpis.month_starts(date(2026, 2, 15), back=3, ahead=1)
    assert months == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]


@given(st.lists(st.tuples(days, amounts), max_size=30), days)
def test_per_month_keeps_what_falls_in_the_months(
    rows: list[tuple[date, Decimal]], today: date
) -> None:
    months = kpis.month_starts(today, back=11)
    inside = sum(
        (v for d, v in rows if months[0] <= d < kpis.month_starts(today, ahead=1)[1]), Decimal(0)
    )
    assert sum(kpis.per_month(rows, months), Decimal(0)) == inside


def test_mrr_history_follows_starts_and_stops() -> None:
    months = kpis.month_starts(date(2026, 6, 1), back=5)  # Jan..Jun 2026
    spans = [
        kpis.SubscriptionSpan(Fraction(100), date(2026, 1, 31)),  # started on a month end
        kpis.SubscriptionSpan(Fraction(40), date(2026, 2, 1), stop=date(2026, 4, 1)),
        kpis.SubscriptionSpan(Fraction(7), date(2026, 3, 15), stop=date(2026, 3, 31)),
    ]
    assert kpis.mrr_history(spans, months) == [
        Decimal("100.00"),
        Decimal("140.00"),
        Decimal("140.00"),
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("100.00"),
    ]


@given(
    st.lists(st.tuples(days, amounts), max_size=20),
    st.lists(st.tuples(days, amounts), max_size=20),
    days,
)
def test_cash_expected_counts_overdue_now_and_nothing_past_the_horizon(
    open_items: list[tuple[date, Decimal]], future: list[tuple[date, Decimal]], today: date
) -> None:
    result = kpis.cash_expected(open_items, future, today=today, months=6)
    horizon = kpis.month_starts(today, ahead=6)[-1]
    expected = sum((v for d, v in open_items + future if d < horizon), Decimal(0))
    assert len(result) == 6
    assert sum(result, Decimal(0)) == expected
