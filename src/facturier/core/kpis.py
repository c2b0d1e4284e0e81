"""KPI arithmetic of the dashboard: MRR, ARR, receivables ageing, DSO, monthly series.

Pure functions over plain values; `facturier.billing.kpis` feeds them from SQL aggregates.

Conventions (docs/web.md):

* MRR is the recurring amount excl. VAT of each active subscription normalised to one month,
  counting a year as 12 months, 52 weeks or 365 days; it is rounded once, on the total.
* Ageing puts each unpaid balance in a bucket by days past its due date: not yet due (due
  today or later), 1–30 ("0–30"), 31–60, 61–90, more than 90.
* DSO = receivables ÷ amount invoiced over the last 90 days × 90 (the "countback-free"
  simple formula); none when nothing was invoiced in those 90 days.

>>> monthly = [RecurringAmount(Decimal("49.90"), "month", 1),
...            RecurringAmount(Decimal("1200"), "year", 1)]
>>> mrr(monthly), arr(mrr(monthly))
(Decimal('149.90'), Decimal('1798.80'))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from facturier.core.forecast import add_months_first
from facturier.core.money import round_money
from facturier.core.recurrence import Unit

# Periods of each unit in one month, for an interval of 1 (a year = 12 months = 52 weeks =
# 365 days). Fractions keep "every 3 weeks" exact until the one rounding of the total.
_PER_MONTH: dict[Unit, Fraction] = {
    Unit.DAY: Fraction(365, 12),
    Unit.WEEK: Fraction(52, 12),
    Unit.MONTH: Fraction(1),
    Unit.YEAR: Fraction(1, 12),
    Unit.SEMI_MONTHLY: Fraction(2),
}


@dataclass(frozen=True)
class RecurringAmount:
    """What one subscription bills per period (excl. VAT), and how often."""

    amount: Decimal
    unit: str  # a recurrence Unit value: "day", "week", "month", "year", "semi_monthly"
    interval: int = 1


def periods_per_month(unit: str, interval: int = 1) -> Fraction:
    """How many periods of "every `interval` `unit`" fit in one month.

    >>> periods_per_month("week", 2), periods_per_month("month", 3), periods_per_month("day")
    (Fraction(13, 6), Fraction(1, 3), Fraction(365, 12))
    >>> periods_per_month("month", 0)
    Traceback (most recent call last):
    ...
    ValueError: interval must be >= 1, got 0
    """
    if interval < 1:
        raise ValueError(f"interval must be >= 1, got {interval}")
    return _PER_MONTH[Unit(unit)] / interval


def monthly_amount(item: RecurringAmount) -> Fraction:
    """The exact monthly equivalent of one subscription (unrounded)."""
    return Fraction(item.amount) * periods_per_month(item.unit, item.interval)


def _to_money(value: Fraction, currency: str) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return round_money(exact, currency)


def mrr(items: Iterable[RecurringAmount], currency: str = "EUR") -> Decimal:
    """Monthly recurring revenue: Σ monthly equivalents, rounded once.

    >>> mrr([RecurringAmount(Decimal("10"), "week", 1)])
    Decimal('43.33')
    >>> mrr([RecurringAmount(Decimal("100"), "semi_monthly")]), mrr([])
    (Decimal('200.00'), Decimal('0.00'))
    """
    return _to_money(sum((monthly_amount(i) for i in items), Fraction(0)), currency)


def arr(monthly: Decimal) -> Decimal:
    """Annual recurring revenue: 12 × MRR."""
    return monthly * 12


# Ageing buckets by days past due: (key, first day, last day or None for "and more").
AGEING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("90+", 91, None),
)


def ageing_bucket(days_overdue: int) -> str | None:
    """The bucket of a balance `days_overdue` days past due; None when not yet overdue.

    >>> [ageing_bucket(d) for d in (-3, 0, 1, 30, 31, 90, 91)]
    [None, None, '0-30', '0-30', '31-60', '61-90', '90+']
    """
    for key, first, last in AGEING_BUCKETS:
        if days_overdue >= first and (last is None or days_overdue <= last):
            return key
    return None


def bucket_due_dates(key: str, today: date) -> tuple[date | None, date]:
    """The due dates (earliest or None, latest) whose balances fall in bucket `key` today.

    >>> bucket_due_dates("0-30", date(2026, 11, 28))
    (datetime.date(2026, 10, 29), datetime.date(2026, 11, 27))
    >>> bucket_due_dates("90+", date(2026, 11, 28))
    (None, datetime.date(2026, 8, 29))
    """
    for bucket, first, last in AGEING_BUCKETS:
        if bucket == key:
            earliest = None if last is None else today - timedelta(days=last)
            return earliest, today - timedelta(days=first)
    raise ValueError(f"unknown ageing bucket {key!r}")


@dataclass
class Ageing:
    """Unpaid balances of issued invoices, split by lateness."""

    not_due: Decimal = Decimal(0)
    buckets: dict[str, Decimal] = field(
        default_factory=lambda: {key: Decimal(0) for key, _, _ in AGEING_BUCKETS}
    )

    @property
    def overdue(self) -> Decimal:
        return sum(self.buckets.values(), Decimal(0))

    @property
    def outstanding(self) -> Decimal:
        return self.not_due + self.overdue


def ageing(balances: Iterable[tuple[date, Decimal]], *, today: date) -> Ageing:
    """Split (due date, unpaid balance) pairs into ageing buckets.

    >>> a = ageing([(date(2026, 12, 5), Decimal(100)), (date(2026, 11, 1), Decimal(40)),
    ...             (date(2026, 6, 1), Decimal(7))], today=date(2026, 11, 28))
    >>> a.not_due, a.buckets["0-30"], a.buckets["90+"], a.overdue, a.outstanding
    (Decimal('100'), Decimal('40'), Decimal('7'), Decimal('47'), Decimal('147'))
    """
    result = Ageing()
    for due, balance in balances:
        key = ageing_bucket((today - due).days)
        if key is None:
            result.not_due += balance
        else:
            result.buckets[key] += balance
    return result


DSO_WINDOW_DAYS = 90


def dso(receivables: Decimal, invoiced: Decimal, *, days: int = DSO_WINDOW_DAYS) -> Decimal | None:
    """Days sales outstanding: receivables ÷ invoiced over the last `days` days × `days`.

    >>> dso(Decimal(3000), Decimal(9000)), dso(Decimal(10), Decimal(0))
    (Decimal('30.0'), None)
    """
    if invoiced <= 0:
        return None
    return (receivables / invoiced * days).quantize(Decimal("0.1"))


def month_starts(today: date, *, back: int = 0, ahead: int = 0) -> list[date]:
    """First days of the months from `back` months before `today`'s to `ahead` after.

    >>> [f"{m:%Y-%m}" for m in month_starts(date(2026, 11, 28), back=2, ahead=1)]
    ['2026-09', '2026-10', '2026-11', '2026-12']
    """
    return [add_months_first(today, k) for k in range(-back, ahead + 1)]


def month_key(day: date) -> str:
    return f"{day:%Y-%m}"


def per_month(rows: Iterable[tuple[date, Decimal]], months: Sequence[date]) -> list[Decimal]:
    """Σ amounts per month of `months` (first days); rows outside them are left out.

    >>> per_month([(date(2026, 10, 3), Decimal(5)), (date(2026, 10, 30), Decimal(1)),
    ...            (date(2025, 1, 1), Decimal(9))], month_starts(date(2026, 11, 1), back=1))
    [Decimal('6'), Decimal('0')]
    """
    totals = {month_key(m): Decimal(0) for m in months}
    for day, value in rows:
        key = month_key(day)
        if key in totals:
            totals[key] += value
    return list(totals.values())


@dataclass(frozen=True)
class SubscriptionSpan:
    """A subscription's monthly amount over the time it was billed."""

    monthly: Fraction
    start: date
    stop: date | None = None  # first day without service (cancellation, end date); None: open

    def active_on(self, day: date) -> bool:
        return self.start <= day and (self.stop is None or day < self.stop)


def mrr_history(
    spans: Iterable[SubscriptionSpan], months: Sequence[date], currency: str = "EUR"
) -> list[Decimal]:
    """MRR at the last day of each month of `months` (first days), from subscription spans.

    >>> spans = [SubscriptionSpan(Fraction(100), date(2026, 9, 15)),
    ...          SubscriptionSpan(Fraction(50), date(2026, 1, 1), stop=date(2026, 10, 1))]
    >>> mrr_history(spans, month_starts(date(2026, 10, 1), back=2))
    [Decimal('50.00'), Decimal('150.00'), Decimal('100.00')]
    """
    ends = [add_months_first(m, 1) - timedelta(days=1) for m in months]
    totals = [Fraction(0)] * len(ends)
    for span in spans:
        for i, end in enumerate(ends):
            if span.active_on(end):
                totals[i] += span.monthly
    return [_to_money(t, currency) for t in totals]


def cash_expected(
    receivables: Iterable[tuple[date, Decimal]],
    future: Iterable[tuple[date, Decimal]],
    *,
    today: date,
    months: int = 6,
) -> list[Decimal]:
    """Cash expected in each month from this one to `months` - 1 ahead.

    `receivables` are unpaid balances by due date: overdue ones are expected this month.
    `future` are forecast invoices (gross) by their due date.

    >>> cash_expected([(date(2026, 9, 1), Decimal(10)), (date(2026, 12, 10), Decimal(5))],
    ...               [(date(2027, 1, 1), Decimal(7)), (date(2027, 9, 1), Decimal(1))],
    ...               today=date(2026, 11, 28), months=3)
    [Decimal('10'), Decimal('5'), Decimal('7')]
    """
    starts = month_starts(today, ahead=months - 1)
    first = starts[0]
    rows = [(max(due, first), value) for due, value in receivables]
    rows += [(max(due, first), value) for due, value in future]
    return per_month(rows, starts)
