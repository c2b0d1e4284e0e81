"""Recurrence engine: exact calendar examples, then Hypothesis properties over 2000-2100."""

import calendar
import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from facturier.core.recurrence import (
    PRESET_LABELS_FR,
    PRESETS,
    EndRule,
    Frequency,
    Period,
    Schedule,
    Unit,
    add_months,
    billing_date,
    next_billing_date,
    occurrence_start,
    period_at,
    periods,
    periods_due,
    prorate,
)

D = date
FAR = D(9999, 12, 31)


def starts(schedule: Schedule, n: int) -> list[date]:
    return [p.start for p in itertools.islice(periods(schedule, until=FAR), n)]


def spans(schedule: Schedule, n: int) -> list[tuple[date, date]]:
    return [(p.start, p.end) for p in itertools.islice(periods(schedule, until=FAR), n)]


def monthly(anchor: date, **kwargs: object) -> Schedule:
    return Schedule(anchor, PRESETS["monthly"], **kwargs)  # type: ignore[arg-type]


# --- month arithmetic -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "months", "day", "expected"),
    [
        (D(2026, 1, 31), 1, None, D(2026, 2, 28)),
        (D(2024, 1, 31), 1, None, D(2024, 2, 29)),
        (D(2026, 2, 28), 1, 31, D(2026, 3, 31)),
        (D(2026, 1, 31), 2, None, D(2026, 3, 31)),
        (D(2026, 3, 31), -1, None, D(2026, 2, 28)),
        (D(2026, 11, 15), 3, None, D(2027, 2, 15)),
        (D(2026, 1, 15), -13, None, D(2024, 12, 15)),
        (D(2026, 5, 10), 0, 31, D(2026, 5, 31)),
    ],
)
def test_add_months(d: date, months: int, day: int | None, expected: date) -> None:
    assert add_months(d, months, day=day) == expected


def test_add_months_refuses_a_day_outside_1_31() -> None:
    with pytest.raises(ValueError, match="day must be between 1 and 31"):
        add_months(D(2026, 1, 1), 1, day=32)


# --- frequencies ------------------------------------------------------------------------------


def test_presets_and_french_labels() -> None:
    assert PRESETS["quarterly"] == Frequency(Unit.MONTH, 3)
    assert PRESETS["biweekly"] == Frequency(Unit.WEEK, 2)
    assert PRESETS["half_yearly"] == Frequency(Unit.MONTH, 6)
    assert PRESETS.keys() == PRESET_LABELS_FR.keys()
    assert PRESET_LABELS_FR["semi_monthly"] == "deux fois par mois"


def test_unit_accepts_the_stored_string() -> None:
    assert Frequency("month", 2).unit is Unit.MONTH  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit": Unit.MONTH, "interval": 0}, "interval must be >= 1"),
        ({"unit": Unit.DAY, "interval": True}, "whole number"),
        ({"unit": Unit.SEMI_MONTHLY, "interval": 2}, "needs interval 1"),
        ({"unit": Unit.SEMI_MONTHLY, "semi_monthly_days": (15, 1)}, "first < second"),
        ({"unit": Unit.SEMI_MONTHLY, "semi_monthly_days": (0, 15)}, "first < second"),
        ({"unit": Unit.SEMI_MONTHLY, "semi_monthly_days": (28, 31)}, "must be <= 27"),
        ({"unit": "fortnight"}, "not a valid Unit"),
    ],
)
def test_frequency_refuses_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Frequency(**kwargs)  # type: ignore[arg-type]


# --- occurrences: exact examples ---------------------------------------------------------------


def test_monthly_from_the_31st_clamps_without_drift() -> None:
    assert starts(monthly(D(2026, 1, 31)), 5) == [
        D(2026, 1, 31),
        D(2026, 2, 28),
        D(2026, 3, 31),
        D(2026, 4, 30),
        D(2026, 5, 31),
    ]
    assert spans(monthly(D(2026, 1, 31)), 2) == [
        (D(2026, 1, 31), D(2026, 2, 27)),
        (D(2026, 2, 28), D(2026, 3, 30)),
    ]


def test_monthly_from_the_31st_in_a_leap_year() -> None:
    assert occurrence_start(D(2024, 1, 31), PRESETS["monthly"], 1) == D(2024, 2, 29)


def test_yearly_from_29_february() -> None:
    assert starts(Schedule(D(2024, 2, 29), PRESETS["yearly"]), 5) == [
        D(2024, 2, 29),
        D(2025, 2, 28),
        D(2026, 2, 28),
        D(2027, 2, 28),
        D(2028, 2, 29),
    ]


def test_quarterly_from_30_november() -> None:
    assert starts(Schedule(D(2023, 11, 30), PRESETS["quarterly"]), 5) == [
        D(2023, 11, 30),
        D(2024, 2, 29),
        D(2024, 5, 30),
        D(2024, 8, 30),
        D(2024, 11, 30),
    ]


def test_semi_monthly_1_and_15() -> None:
    assert spans(Schedule(D(2026, 1, 1), PRESETS["semi_monthly"]), 4) == [
        (D(2026, 1, 1), D(2026, 1, 14)),
        (D(2026, 1, 15), D(2026, 1, 31)),
        (D(2026, 2, 1), D(2026, 2, 14)),
        (D(2026, 2, 15), D(2026, 2, 28)),
    ]


def test_semi_monthly_5_and_20() -> None:
    freq = Frequency(Unit.SEMI_MONTHLY, semi_monthly_days=(5, 20))
    assert spans(Schedule(D(2026, 1, 5), freq), 3) == [
        (D(2026, 1, 5), D(2026, 1, 19)),
        (D(2026, 1, 20), D(2026, 2, 4)),
        (D(2026, 2, 5), D(2026, 2, 19)),
    ]


def test_semi_monthly_15_and_31_clamps_to_month_end() -> None:
    freq = Frequency(Unit.SEMI_MONTHLY, semi_monthly_days=(15, 31))
    assert starts(Schedule(D(2026, 1, 15), freq), 8) == [
        D(2026, 1, 15),
        D(2026, 1, 31),
        D(2026, 2, 15),
        D(2026, 2, 28),
        D(2026, 3, 15),
        D(2026, 3, 31),
        D(2026, 4, 15),
        D(2026, 4, 30),
    ]


@pytest.mark.parametrize(
    ("anchor", "first"),
    [(D(2026, 1, 10), D(2026, 1, 15)), (D(2026, 1, 20), D(2026, 2, 1)), (D(2026, 1, 15), None)],
)
def test_semi_monthly_starts_on_the_first_chosen_day_from_the_anchor(
    anchor: date, first: date | None
) -> None:
    assert occurrence_start(anchor, PRESETS["semi_monthly"], 0) == (first or anchor)


def test_weekly_and_every_three_days() -> None:
    assert starts(Schedule(D(2026, 1, 5), PRESETS["weekly"]), 3) == [
        D(2026, 1, 5),
        D(2026, 1, 12),
        D(2026, 1, 19),
    ]
    assert spans(Schedule(D(2026, 2, 26), Frequency(Unit.DAY, 3)), 2) == [
        (D(2026, 2, 26), D(2026, 2, 28)),
        (D(2026, 3, 1), D(2026, 3, 3)),
    ]


def test_periods_stop_at_the_end_of_the_calendar() -> None:
    last = list(periods(Schedule(D(9990, 6, 30), PRESETS["yearly"]), until=FAR))[-1]
    assert last == Period(8, D(9998, 6, 30), D(9999, 6, 29))


def test_occurrence_start_refuses_a_negative_number() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        occurrence_start(D(2026, 1, 1), PRESETS["monthly"], -1)


# --- end rules, stub, proration -----------------------------------------------------------------


def test_count_gives_exactly_that_many_periods() -> None:
    s = monthly(D(2026, 1, 1), end=EndRule("count", count=3))
    assert starts(s, 10) == [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)]
    assert next_billing_date(s, invoiced_through=D(2026, 3, 1)) is None


def test_until_bills_the_period_containing_it_whole() -> None:
    s = monthly(D(2026, 1, 1), end=EndRule("until", until=D(2026, 3, 10)))
    assert list(periods(s, until=FAR))[-1] == Period(2, D(2026, 3, 1), D(2026, 3, 31))


def test_until_with_prorate_last_cuts_the_last_period() -> None:
    s = monthly(D(2026, 1, 1), end=EndRule("until", until=D(2026, 3, 10), prorate_last=True))
    last = list(periods(s, until=FAR))[-1]
    assert last == Period(2, D(2026, 3, 1), D(2026, 3, 10), prorated=True, full_days=31)
    assert prorate(Decimal("31.00"), last) == Decimal("10.00")


def test_until_on_a_period_end_is_not_prorated() -> None:
    s = monthly(D(2026, 1, 1), end=EndRule("until", until=D(2026, 2, 28), prorate_last=True))
    assert list(periods(s, until=FAR))[-1] == Period(1, D(2026, 2, 1), D(2026, 2, 28))


def test_stub_before_the_anchor_comes_first_and_counts() -> None:
    s = monthly(D(2026, 2, 1), start=D(2026, 1, 15), end=EndRule("count", count=3))
    stub, *rest = periods(s, until=FAR)
    assert stub == Period(-1, D(2026, 1, 15), D(2026, 1, 31), prorated=True, full_days=31)
    assert [p.start for p in rest] == [D(2026, 2, 1), D(2026, 3, 1)]
    assert billing_date(s, stub) == D(2026, 1, 15)
    assert prorate(Decimal("62"), stub) == Decimal("34")


def test_a_stub_of_a_whole_period_is_not_prorated() -> None:
    s = monthly(D(2026, 2, 1), start=D(2026, 1, 1))
    assert period_at(s, -1) == Period(-1, D(2026, 1, 1), D(2026, 1, 31))


def test_prorate_keeps_the_amount_of_a_whole_period() -> None:
    assert prorate(Decimal("9.99"), Period(0, D(2026, 1, 1), D(2026, 1, 31))) == Decimal("9.99")


def test_period_at_refuses_an_index_outside_the_schedule() -> None:
    s = monthly(D(2026, 1, 1), end=EndRule("count", count=2))
    with pytest.raises(ValueError, match="outside the schedule"):
        period_at(s, 2)
    with pytest.raises(ValueError, match="outside the schedule"):
        period_at(s, -1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: EndRule("count"), "needs a count >= 1"),
        (lambda: EndRule("count", count=0), "needs a count >= 1"),
        (lambda: EndRule("until"), "needs an until date"),
        (lambda: EndRule("never", count=3), "takes neither"),
        (lambda: EndRule("forever"), "never, count or until"),  # type: ignore[arg-type]
        (lambda: monthly(D(2026, 1, 1), start=D(2026, 1, 2)), "not be after the anchor"),
        (lambda: monthly(D(2026, 2, 1), start=D(2025, 12, 31)), "within one period"),
        (lambda: monthly(D(2026, 1, 1), days_before=-1), "days_before must be >= 0"),
        (lambda: monthly(D(2026, 1, 1), timing="later"), "advance or arrears"),
        (
            lambda: monthly(D(2026, 1, 1), end=EndRule("until", until=D(2025, 12, 31))),
            "not be before the first period",
        ),
    ],
)
def test_schedule_refuses_bad_input(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


# --- billing dates ------------------------------------------------------------------------------


def test_arrears_bills_the_day_after_the_period_ends() -> None:
    s = monthly(D(2026, 1, 31), timing="arrears")
    assert billing_date(s, period_at(s, 0)) == D(2026, 2, 28)
    cut = monthly(
        D(2026, 1, 1),
        timing="arrears",
        end=EndRule("until", until=D(2026, 1, 20), prorate_last=True),
    )
    assert billing_date(cut, period_at(cut, 0)) == D(2026, 1, 21)


def test_days_before_moves_an_advance_billing_date() -> None:
    s = monthly(D(2026, 1, 1), days_before=5)
    assert billing_date(s, period_at(s, 0)) == D(2025, 12, 27)


def test_periods_due_in_advance_and_in_arrears() -> None:
    advance = monthly(D(2026, 1, 31), days_before=3)
    due = periods_due(advance, today=D(2026, 3, 28))
    assert [p.start for p in due] == [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31)]
    arrears = monthly(D(2026, 1, 31), timing="arrears")
    assert [p.start for p in periods_due(arrears, today=D(2026, 3, 30))] == [D(2026, 1, 31)]
    assert periods_due(arrears, today=D(2026, 2, 27)) == []


def test_periods_due_after_a_century_jumps_instead_of_walking() -> None:
    s = Schedule(D(2000, 1, 1), Frequency(Unit.DAY))
    due = periods_due(s, today=D(2100, 1, 3), after=D(2100, 1, 1))
    assert [p.start for p in due] == [D(2100, 1, 2), D(2100, 1, 3)]
    assert due[0].index == (D(2100, 1, 2) - D(2000, 1, 1)).days


def test_next_billing_date() -> None:
    s = monthly(D(2026, 1, 31), timing="arrears")
    assert next_billing_date(s, invoiced_through=None) == D(2026, 2, 28)
    assert next_billing_date(s, invoiced_through=D(2026, 2, 27)) == D(2026, 3, 31)


# --- properties ---------------------------------------------------------------------------------

anchors = st.dates(D(2000, 1, 1), D(2100, 12, 31))
TIMINGS: tuple[Literal["advance", "arrears"], ...] = ("advance", "arrears")


@st.composite
def frequencies(draw: st.DrawFn) -> Frequency:
    unit = draw(st.sampled_from(list(Unit)))
    if unit is Unit.SEMI_MONTHLY:
        first = draw(st.integers(1, 27))
        return Frequency(unit, semi_monthly_days=(first, draw(st.integers(first + 1, 31))))
    return Frequency(unit, draw(st.integers(1, 12)))


@st.composite
def schedules(draw: st.DrawFn, *, end: bool = True, stub: bool = True) -> Schedule:
    """Any valid schedule: optional stub, timing, days_before and end rule."""
    anchor, freq = draw(anchors), draw(frequencies())
    first = occurrence_start(anchor, freq, 0)
    start = None
    if stub and draw(st.booleans()):
        # About one period back; the few draws just past the previous occurrence are rejected.
        one_period = occurrence_start(anchor, freq, 1) - first
        start = draw(st.dates(min(first - one_period, anchor), anchor))
        try:
            Schedule(anchor, freq, start=start)
        except ValueError:
            assume(False)
    rule = EndRule()
    kind = draw(st.sampled_from(["never", "count", "until"])) if end else "never"
    if kind == "count":
        rule = EndRule("count", count=draw(st.integers(1, 30)))
    elif kind == "until":
        since = start if start is not None and start < first else first
        until = since + timedelta(days=draw(st.integers(0, 1500)))
        rule = EndRule("until", until=until, prorate_last=draw(st.booleans()))
    timing = draw(st.sampled_from(TIMINGS))
    return Schedule(anchor, freq, rule, start, timing, draw(st.integers(0, 40)))


@given(anchors, frequencies())
def test_first_120_periods_are_contiguous_and_never_empty(anchor: date, freq: Frequency) -> None:
    first_120 = list(itertools.islice(periods(Schedule(anchor, freq), until=FAR), 120))
    assert len(first_120) == 120
    assert all(p.days >= 1 for p in first_120)
    # Service starts on the anchor; only twice a month, an anchor between the chosen days
    # starts a stub (index -1) up to the next chosen day.
    assert first_120[0].start == anchor
    first = first_120[0].index
    assert first == (-1 if occurrence_start(anchor, freq, 0) > anchor else 0)
    for k, (p, q) in enumerate(itertools.pairwise(first_120), start=first):
        assert p.end + timedelta(days=1) == q.start
        assert p.index == k
        if k >= 0:
            assert p.start == occurrence_start(anchor, freq, k)


@given(anchors, st.sampled_from([Unit.MONTH, Unit.YEAR]), st.integers(1, 12))
def test_no_drift_over_ten_years(anchor: date, unit: Unit, interval: int) -> None:
    months_per_step = interval * (12 if unit is Unit.YEAR else 1)
    for k in range(120 // months_per_step + 1):
        start = occurrence_start(anchor, Frequency(unit, interval), k)
        months = anchor.year * 12 + anchor.month - 1 + k * months_per_step
        assert start.year * 12 + start.month - 1 == months
        last_day = calendar.monthrange(start.year, start.month)[1]
        assert start.day == min(anchor.day, last_day)


semi_monthly = st.integers(1, 27).flatmap(
    lambda first: st.integers(first + 1, 31).map(
        lambda second: Frequency(Unit.SEMI_MONTHLY, semi_monthly_days=(first, second))
    )
)


@given(anchors, semi_monthly, st.integers(0, 31), st.booleans(), st.integers(1, 80))
def test_semi_monthly_covers_every_day_from_the_start_exactly_once(
    anchor: date, freq: Frequency, back: int, with_start: bool, count: int
) -> None:
    """Twice a month, whatever the anchor (on a chosen day or between them) and the service
    start: every day from the first day of service is in exactly one period, and a partial
    period is prorated against the half-month it is part of."""
    start = anchor - timedelta(days=back) if with_start else None
    try:
        schedule = Schedule(anchor, freq, start=start)
    except ValueError:
        assume(False)
        return
    first_day = start or anchor
    spans = list(itertools.islice(periods(schedule, until=FAR), count))
    days = [p.start + timedelta(days=d) for p in spans for d in range(p.days)]
    assert days[0] == first_day
    assert days == [first_day + timedelta(days=i) for i in range(len(days))]  # no gap, no repeat
    for p in spans:
        full = occurrence_start(anchor, freq, p.index + 1) - p.start
        assert p.prorated == (p.days < (p.full_days or full.days))
        if p.prorated:  # only the stub
            assert p.index == -1 and p.end + timedelta(days=1) == occurrence_start(anchor, freq, 0)


def test_semi_monthly_anchor_on_the_4th_bills_the_4th_to_the_14th() -> None:
    schedule = Schedule(D(2026, 12, 4), PRESETS["semi_monthly"])
    first, second = itertools.islice(periods(schedule, until=FAR), 2)
    assert (first.start, first.end, first.prorated, first.full_days) == (
        D(2026, 12, 4), D(2026, 12, 14), True, 14,
    )  # fmt: skip
    assert (second.start, second.end, second.prorated) == (D(2026, 12, 15), D(2026, 12, 31), False)
    assert prorate(Decimal("28.00"), first) == Decimal(22)  # 11 of 14 days


@given(anchors, semi_monthly)
def test_semi_monthly_has_two_starts_in_every_month(anchor: date, freq: Frequency) -> None:
    seen = [
        p.start.year * 12 + p.start.month
        for p in itertools.islice(periods(Schedule(anchor, freq), until=FAR), 49)
    ]
    # The first and last months seen may be partial; every month between holds exactly two.
    assert all(seen.count(month) == 2 for month in range(seen[0] + 1, seen[-1]))
    assert seen[-1] - seen[0] >= 23


@given(schedules().filter(lambda s: s.end.kind != "never"))
def test_end_rule_is_respected(schedule: Schedule) -> None:
    rule = schedule.end
    all_periods = list(periods(schedule, until=FAR))
    if rule.kind == "count":
        assert len(all_periods) == rule.count
    elif rule.kind == "until":
        assert rule.until is not None
        assert all(p.start <= rule.until for p in all_periods)
        *before, last = all_periods
        assert all(p.end < rule.until for p in before)
        if rule.prorate_last:
            assert last.end == rule.until
            assert not last.prorated or last.days < last.full_days
        else:
            assert last.start <= rule.until <= last.end


@given(schedules())
def test_stub_and_cut_periods_stay_contiguous_and_prorate_below_one(schedule: Schedule) -> None:
    some = list(itertools.islice(periods(schedule, until=FAR), 40))
    # Service starts on the service start or the anchor, billed from that very day.
    assert some[0].start == (schedule.start or schedule.anchor)
    for p, q in itertools.pairwise(some):
        assert p.end + timedelta(days=1) == q.start
    for p in some:
        assert p.days >= 1
        assert (p.full_days > p.days) if p.prorated else p.full_days == 0
        assert Decimal(0) < prorate(Decimal(100), p) <= Decimal(100)


@settings(max_examples=100, deadline=None)  # brute force over ~800 daily periods
@given(schedules(), st.integers(-60, 700), st.none() | st.integers(-60, 700))
def test_periods_due_matches_brute_force(schedule: Schedule, t: int, a: int | None) -> None:
    today = schedule.anchor + timedelta(days=t)
    after = None if a is None else schedule.anchor + timedelta(days=a)
    horizon = today + timedelta(days=schedule.days_before)
    expected = [
        p
        for p in periods(schedule, until=horizon)
        if billing_date(schedule, p) <= today and (after is None or p.start > after)
    ]
    assert periods_due(schedule, today=today, after=after) == expected
    following = (p for p in periods(schedule, until=FAR) if after is None or p.start > after)
    nxt = next_billing_date(schedule, invoiced_through=after)
    first = next(following, None)
    assert nxt == (None if first is None else billing_date(schedule, first))
