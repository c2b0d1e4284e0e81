"""Recurrence engine: frequencies, occurrences and service periods of a subscription.

Pure date arithmetic, no I/O, no clock: every function takes the dates it needs.

Occurrence ``k`` is always computed from the anchor, never from occurrence ``k - 1``:
chaining "+1 month" makes a 31st drift to the 28th for good after February (the bug of
Invoice Ninja and OCA contract). Periods are contiguous: a period ends the day before the
next one starts.

>>> s = Schedule(anchor=date(2026, 1, 31), frequency=PRESETS["monthly"])
>>> [p.start.isoformat() for p in periods(s, until=date(2026, 5, 31))]
['2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30', '2026-05-31']
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

ONE_DAY = timedelta(days=1)


class Unit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    SEMI_MONTHLY = "semi_monthly"


@dataclass(frozen=True)
class Frequency:
    """How often a subscription recurs: every ``interval`` units, or twice a month.

    >>> Frequency(Unit.MONTH, 0)
    Traceback (most recent call last):
    ...
    ValueError: interval must be >= 1, got 0
    """

    unit: Unit
    interval: int = 1
    # Only read by SEMI_MONTHLY; a day past the month end clamps to the month's last day.
    semi_monthly_days: tuple[int, int] = (1, 15)

    def __post_init__(self) -> None:
        # Accept the plain string stored in a database column ("month") as well as Unit.MONTH.
        object.__setattr__(self, "unit", Unit(self.unit))
        if isinstance(self.interval, bool) or not isinstance(self.interval, int):
            raise ValueError(f"interval must be a whole number, got {self.interval!r}")
        if self.interval < 1:
            raise ValueError(f"interval must be >= 1, got {self.interval}")
        if self.unit is Unit.SEMI_MONTHLY:
            self._check_semi_monthly()

    def _check_semi_monthly(self) -> None:
        first, second = self.semi_monthly_days
        if self.interval != 1:
            raise ValueError(f"semi-monthly frequency needs interval 1, got {self.interval}")
        if not 1 <= first < second <= 31:
            raise ValueError(
                f"semi-monthly days need 1 <= first < second <= 31, got {first, second}"
            )
        # Both days must stay distinct once clamped to a 28-day February, or a period is empty.
        if first > 27:
            raise ValueError(f"semi-monthly first day must be <= 27, got {first}")


PRESETS: dict[str, Frequency] = {
    "weekly": Frequency(Unit.WEEK),
    "biweekly": Frequency(Unit.WEEK, 2),
    "semi_monthly": Frequency(Unit.SEMI_MONTHLY),
    "monthly": Frequency(Unit.MONTH),
    "bimonthly": Frequency(Unit.MONTH, 2),
    "quarterly": Frequency(Unit.MONTH, 3),
    "half_yearly": Frequency(Unit.MONTH, 6),
    "yearly": Frequency(Unit.YEAR),
}

PRESET_LABELS_FR: dict[str, str] = {
    "weekly": "hebdomadaire",
    "biweekly": "toutes les deux semaines",
    "semi_monthly": "deux fois par mois",
    "monthly": "mensuelle",
    "bimonthly": "bimestrielle",
    "quarterly": "trimestrielle",
    "half_yearly": "semestrielle",
    "yearly": "annuelle",
}


def _month_number(d: date) -> int:
    """Months since year 0, so that month arithmetic is plain integer arithmetic."""
    return d.year * 12 + d.month - 1


def _clamped_date(month_number: int, day: int) -> date:
    """The date ``day`` of a month, or that month's last day when the month is shorter."""
    year, month0 = divmod(month_number, 12)
    if not 1 <= year <= 9999:
        # Same error as date + timedelta, so callers handle the calendar's end in one way.
        raise OverflowError("date value out of range")
    return date(year, month0 + 1, min(day, calendar.monthrange(year, month0 + 1)[1]))


def add_months(d: date, months: int, *, day: int | None = None) -> date:
    """``d`` moved by ``months`` months, aiming at ``day`` (default ``d.day``), clamped.

    Pass the anchor's day as ``day`` so that a 31st comes back after a short month.
    This is the project's only month arithmetic.

    >>> add_months(date(2026, 1, 31), 1)
    datetime.date(2026, 2, 28)
    >>> add_months(date(2026, 2, 28), 1, day=31)
    datetime.date(2026, 3, 31)
    >>> add_months(date(2024, 3, 31), -1)
    datetime.date(2024, 2, 29)
    """
    target = d.day if day is None else day
    if not 1 <= target <= 31:
        raise ValueError(f"day must be between 1 and 31, got {target}")
    return _clamped_date(_month_number(d) + months, target)


def _semi_monthly_slot(anchor: date, days: tuple[int, int]) -> int:
    """Half-month slot number (2 per month) of the first chosen day on or after ``anchor``."""
    base = _month_number(anchor) * 2
    first, second = (_clamped_date(_month_number(anchor), d).day for d in days)
    if anchor.day <= first:
        return base
    return base + 1 if anchor.day <= second else base + 2


def _occurrence(anchor: date, freq: Frequency, k: int) -> date:
    """Start of occurrence ``k``, for any integer ``k`` (negative ones precede the anchor)."""
    if freq.unit is Unit.DAY:
        return anchor + timedelta(days=k * freq.interval)
    if freq.unit is Unit.WEEK:
        return anchor + timedelta(weeks=k * freq.interval)
    if freq.unit is Unit.MONTH:
        return add_months(anchor, k * freq.interval)
    if freq.unit is Unit.YEAR:
        return add_months(anchor, 12 * k * freq.interval)
    month_number, half = divmod(_semi_monthly_slot(anchor, freq.semi_monthly_days) + k, 2)
    return _clamped_date(month_number, freq.semi_monthly_days[half])


def occurrence_start(anchor: date, freq: Frequency, k: int) -> date:
    """Start of occurrence ``k`` (``k >= 0``), computed from the anchor.

    >>> occurrence_start(date(2024, 2, 29), PRESETS["yearly"], 4)
    datetime.date(2028, 2, 29)
    >>> twice = Frequency(Unit.SEMI_MONTHLY, semi_monthly_days=(5, 20))
    >>> occurrence_start(date(2026, 1, 20), twice, 1)
    datetime.date(2026, 2, 5)
    """
    if k < 0:
        raise ValueError(f"occurrence number must be >= 0, got {k}")
    return _occurrence(anchor, freq, k)


def _estimate_index(anchor: date, freq: Frequency, day: date) -> int:
    """A guess, off by at most a few, of the last occurrence starting on or before ``day``."""
    if freq.unit in (Unit.DAY, Unit.WEEK):
        step = freq.interval * (7 if freq.unit is Unit.WEEK else 1)
        return (day - anchor).days // step
    months = _month_number(day) - _month_number(anchor)
    if freq.unit is Unit.SEMI_MONTHLY:
        return 2 * months - 2
    return months // (freq.interval * (12 if freq.unit is Unit.YEAR else 1))


def _index_on_or_before(anchor: date, freq: Frequency, day: date) -> int:
    """Largest ``k`` (maybe negative) whose occurrence starts on or before ``day``.

    Jumps with arithmetic, then corrects by a few steps: billing runs stay O(1) per
    subscription however old the anchor is.
    """
    k = _estimate_index(anchor, freq, day)
    while _after(anchor, freq, k, day):
        k -= 1
    while True:
        try:
            if _occurrence(anchor, freq, k + 1) > day:
                return k
        except OverflowError:  # the next occurrence is past year 9999
            return k
        k += 1


def _after(anchor: date, freq: Frequency, k: int, day: date) -> bool:
    """Whether occurrence ``k`` starts after ``day``; one past the calendar's end does."""
    try:
        return _occurrence(anchor, freq, k) > day
    except OverflowError:
        return k > 0


@dataclass(frozen=True)
class Period:
    """A service period ``[start, end]`` (inclusive) covered by one invoice."""

    index: int  # occurrence number from the anchor; -1 for the aligned stub before it
    start: date
    end: date
    prorated: bool = False  # cut by the end date, or an aligned stub shorter than a period
    full_days: int = 0  # days of the uncut period, the proration denominator; 0 if not prorated

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class EndRule:
    """When a subscription stops: never, after ``count`` invoices, or ``until`` a date.

    >>> EndRule("count")
    Traceback (most recent call last):
    ...
    ValueError: end rule 'count' needs a count >= 1
    """

    kind: Literal["never", "count", "until"] = "never"
    count: int | None = None  # invoices in total, the stub included
    until: date | None = None  # last day of service, inclusive
    # True: cut the last period at `until`, prorated; False: bill the period containing it whole.
    prorate_last: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("never", "count", "until"):
            raise ValueError(f"end rule kind must be never, count or until, got {self.kind!r}")
        if self.kind == "count" and (self.count is None or self.count < 1):
            raise ValueError("end rule 'count' needs a count >= 1")
        if self.kind == "until" and self.until is None:
            raise ValueError("end rule 'until' needs an until date")
        # A stray value of the other kind would silently change nothing: refuse it instead.
        if (self.count is not None and self.kind != "count") or (
            self.until is not None and self.kind != "until"
        ):
            raise ValueError(f"end rule {self.kind!r} takes neither another kind's count nor until")


@dataclass(frozen=True)
class Schedule:
    """Everything that decides a subscription's periods and billing dates."""

    # The billing anchor: occurrences are computed from it, and service starts on it (or on
    # `start`). Twice a month, an anchor between the two chosen days begins a prorated stub
    # up to the next chosen day; otherwise it is the start of the first full period.
    anchor: date
    frequency: Frequency
    end: EndRule = EndRule()  # frozen, so sharing the default is safe
    # Service start before the anchor: a prorated stub period [start, anchor - 1] comes first.
    start: date | None = None
    timing: Literal["advance", "arrears"] = "advance"
    days_before: int = 0  # in advance: issue this many days before the period start

    def __post_init__(self) -> None:
        if self.timing not in ("advance", "arrears"):
            raise ValueError(f"timing must be advance or arrears, got {self.timing!r}")
        if self.days_before < 0:
            raise ValueError(f"days_before must be >= 0, got {self.days_before}")
        if self.start is not None and self.start > self.anchor:
            raise ValueError("service start must not be after the anchor")
        # A stub longer than one period would have no meaningful proration denominator.
        if self.start is not None and self.start < _occurrence(self.anchor, self.frequency, -1):
            raise ValueError("service start must be within one period before the anchor")
        if self.end.until is not None and self.end.until < _first_start(self):
            raise ValueError("end date must not be before the first period start")


def _service_start(schedule: Schedule) -> date:
    """The first day of service: the service start when given, else the anchor."""
    return schedule.start if schedule.start is not None else schedule.anchor


def _has_stub(schedule: Schedule) -> bool:
    """Whether service starts before the first occurrence: with a service start before the
    anchor, or twice a month with an anchor between the two chosen days (4th with days 1
    and 15: occurrence 0 is the 15th, and the 4th-14th is a prorated stub, never dropped)."""
    return _service_start(schedule) < _occurrence(schedule.anchor, schedule.frequency, 0)


def _first_index(schedule: Schedule) -> int:
    return -1 if _has_stub(schedule) else 0


def _first_start(schedule: Schedule) -> date:
    if _has_stub(schedule):
        return _service_start(schedule)
    return _occurrence(schedule.anchor, schedule.frequency, 0)


def first_index(schedule: Schedule) -> int:
    """Index of the schedule's first period: -1 with a stub before the anchor, else 0."""
    return _first_index(schedule)


def first_start(schedule: Schedule) -> date:
    """The day the schedule's first period starts (the stub's start when there is one).

    >>> first_start(Schedule(date(2026, 2, 1), PRESETS["monthly"], start=date(2026, 1, 15)))
    datetime.date(2026, 1, 15)
    >>> twice = Schedule(date(2026, 12, 4), PRESETS["semi_monthly"])
    >>> first_start(twice), period_at(twice, -1).end, period_at(twice, -1).full_days
    (datetime.date(2026, 12, 4), datetime.date(2026, 12, 14), 14)
    """
    return _first_start(schedule)


def index_after(schedule: Schedule, day: date) -> int:
    """Index of the first period starting after ``day`` (it may lie past the end rule or
    past the end of the calendar: `period_or_none` tells).

    >>> index_after(Schedule(date(2026, 1, 1), PRESETS["monthly"]), date(2026, 3, 15))
    3
    """
    return _index_starting_on_or_before(schedule, day) + 1


def _index_starting_on_or_before(schedule: Schedule, day: date) -> int:
    """Index of the last period starting on or before ``day`` (first index - 1 if none).

    The end rule is not applied: callers clamp with ``_last_index``.
    """
    if day < _first_start(schedule):
        return _first_index(schedule) - 1
    return _index_on_or_before(schedule.anchor, schedule.frequency, day)


def _last_index(schedule: Schedule) -> int | None:
    """Index of the last period the end rule allows; None when it never ends."""
    rule = schedule.end
    if rule.kind == "count" and rule.count is not None:
        return _first_index(schedule) + rule.count - 1
    if rule.kind == "until" and rule.until is not None:
        return _index_starting_on_or_before(schedule, rule.until)
    return None


def _clamp(schedule: Schedule, index: int) -> int:
    last = _last_index(schedule)
    return index if last is None else min(index, last)


def period_at(schedule: Schedule, index: int) -> Period:
    """Period number ``index`` (-1 is the stub), with the end rule's cut applied.

    >>> s = Schedule(date(2026, 2, 1), PRESETS["monthly"], start=date(2026, 1, 15))
    >>> period_at(s, -1)
    Period(index=-1, start=datetime.date(2026, 1, 15), end=datetime.date(2026, 1, 31), \
prorated=True, full_days=31)
    """
    last = _last_index(schedule)
    if index < _first_index(schedule) or (last is not None and index > last):
        raise ValueError(f"period {index} is outside the schedule")
    anchor, freq = schedule.anchor, schedule.frequency
    full_start = _occurrence(anchor, freq, index)
    next_start = _occurrence(anchor, freq, index + 1)
    start = _service_start(schedule) if index == -1 else full_start
    end = next_start - ONE_DAY
    rule = schedule.end
    if rule.prorate_last and rule.until is not None and rule.until < end:
        end = rule.until
    full_days = (next_start - full_start).days
    days = (end - start).days + 1
    return Period(index, start, end, days < full_days, full_days if days < full_days else 0)


def period_or_none(schedule: Schedule, index: int) -> Period | None:
    """Period number ``index``, or None past the end rule or past 9999-12-31 (the calendar
    stops at the last period that ends within it).

    >>> period_or_none(Schedule(date(9999, 6, 1), PRESETS["yearly"]), 0) is None
    True
    """
    if index < _first_index(schedule):
        raise ValueError(f"period {index} is outside the schedule")
    last = _last_index(schedule)
    if last is not None and index > last:
        return None
    try:
        return period_at(schedule, index)
    except OverflowError:
        return None


def periods_from(schedule: Schedule, index: int | None = None) -> Iterator[Period]:
    """Every period from number ``index`` (default the first) on, lazily, within the end
    rule: an open-ended schedule is read only as far as the caller goes, and stops at the
    end of the calendar.

    >>> s = Schedule(date(9997, 3, 1), PRESETS["yearly"])
    >>> [p.start.year for p in periods_from(s)]
    [9997, 9998]
    """
    index = _first_index(schedule) if index is None else index
    while (period := period_or_none(schedule, index)) is not None:
        yield period
        index += 1


def periods(schedule: Schedule, *, until: date) -> Iterator[Period]:
    """Every period starting on or before ``until``, in order, within the end rule.

    >>> s = Schedule(date(2026, 1, 1), Frequency(Unit.DAY, 3), EndRule("count", count=3))
    >>> [(p.start.day, p.end.day) for p in periods(s, until=date(2026, 12, 31))]
    [(1, 3), (4, 6), (7, 9)]
    """
    last = _clamp(schedule, _index_starting_on_or_before(schedule, until))
    for index in range(_first_index(schedule), last + 1):
        try:
            period = period_at(schedule, index)
        except OverflowError:  # this period would end after 9999-12-31: the calendar stops here
            return
        yield period


def billing_date(schedule: Schedule, period: Period) -> date:
    """The day the invoice for ``period`` is due to be issued.

    >>> s = Schedule(date(2026, 1, 1), PRESETS["monthly"], timing="arrears")
    >>> billing_date(s, period_at(s, 0))
    datetime.date(2026, 2, 1)
    """
    if schedule.timing == "arrears":
        return period.end + ONE_DAY
    return period.start - timedelta(days=schedule.days_before)


def periods_due(schedule: Schedule, *, today: date, after: date | None = None) -> list[Period]:
    """Periods billable on ``today`` (billing date <= today) starting after ``after``, if given.

    >>> s = Schedule(date(2000, 1, 31), PRESETS["monthly"], days_before=5)
    >>> [p.start for p in periods_due(s, today=date(2100, 2, 23), after=date(2100, 1, 1))]
    [datetime.date(2100, 1, 31), datetime.date(2100, 2, 28)]
    """
    lo = _first_index(schedule)
    if after is not None:
        lo = max(lo, _index_starting_on_or_before(schedule, after) + 1)
    horizon = today
    if schedule.timing == "advance":
        horizon = _plus_days(today, schedule.days_before)
    hi = _clamp(schedule, _index_starting_on_or_before(schedule, horizon))
    # In arrears the period containing today is not due yet; a cut last period may be.
    # A period ending past 9999-12-31 does not exist (as in `periods`): never due.
    while hi >= lo and (
        (last := period_or_none(schedule, hi)) is None or billing_date(schedule, last) > today
    ):
        hi -= 1
    return [period_at(schedule, index) for index in range(lo, hi + 1)]


def _plus_days(day: date, days: int) -> date:
    """``day`` + ``days``, or 9999-12-31 when that is past the calendar's end."""
    return day + timedelta(days=days) if (date.max - day).days > days else date.max


def next_billing_date(schedule: Schedule, *, invoiced_through: date | None) -> date | None:
    """Billing date of the first period starting after ``invoiced_through``; None once ended.

    >>> s = Schedule(date(2026, 1, 1), PRESETS["quarterly"], EndRule("count", count=2))
    >>> next_billing_date(s, invoiced_through=None)
    datetime.date(2026, 1, 1)
    >>> next_billing_date(s, invoiced_through=date(2026, 1, 1))
    datetime.date(2026, 4, 1)
    >>> next_billing_date(s, invoiced_through=date(2026, 6, 30)) is None
    True
    """
    index = _first_index(schedule)
    if invoiced_through is not None:
        index = max(index, _index_starting_on_or_before(schedule, invoiced_through) + 1)
    period = period_or_none(schedule, index)
    return None if period is None else billing_date(schedule, period)


def prorate(amount: Decimal, period: Period) -> Decimal:
    """``amount`` scaled by days served / days of the full period; not rounded (callers round).

    >>> prorate(Decimal("31.00"), Period(0, date(2026, 2, 15), date(2026, 2, 28), True, 28))
    Decimal('15.50')
    """
    if not period.prorated:
        return amount
    return amount * period.days / period.full_days
