"""The recurrence engine at the end of the calendar (9999-12-31) and over long pauses: it
stops gracefully instead of raising OverflowError, and jumps instead of walking."""

import itertools
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.core.billing_plan import PauseWindow, periods_for_invoices, plan_billing
from facturier.core.recurrence import (
    PRESETS,
    EndRule,
    Frequency,
    Schedule,
    Unit,
    billing_date,
    first_index,
    index_after,
    next_billing_date,
    period_or_none,
    periods,
    periods_due,
    periods_from,
)
from tests.core.test_recurrence import TIMINGS, frequencies

D = date
MAX = date.max
YEARLY = PRESETS["yearly"]
late_anchors = st.dates(D(9985, 1, 1), D(9999, 12, 31))


def _schedule(anchor: date, freq: Frequency, timing: str, days_before: int) -> Schedule | None:
    try:
        return Schedule(anchor, freq, timing=timing, days_before=days_before)  # type: ignore[arg-type]
    except (ValueError, OverflowError):
        return None


@settings(max_examples=60)
@given(late_anchors, frequencies(), st.sampled_from(TIMINGS), st.integers(0, 40))
def test_the_last_day_of_the_calendar_plans_without_overflow(
    anchor: date, freq: Frequency, timing: str, days_before: int
) -> None:
    schedule = _schedule(anchor, freq, timing, days_before)
    if schedule is None:
        return
    due = periods_due(schedule, today=MAX)
    # Exactly the periods that fit in the calendar, contiguous, all due on the last day.
    assert due == list(periods(schedule, until=MAX)) == list(periods_from(schedule))
    for before, after in itertools.pairwise(due):
        assert after.start == before.end + timedelta(days=1)
    assert all(p.end <= MAX and billing_date(schedule, p) <= MAX for p in due)
    assert next_billing_date(schedule, invoiced_through=MAX) is None
    plan = plan_billing(schedule, today=MAX, invoiced_starts=[p.start for p in due[:1]])
    assert [p.period for p in plan] == due[1:]


def test_a_yearly_period_ending_past_the_calendar_does_not_exist() -> None:
    schedule = Schedule(D(9999, 6, 1), YEARLY)
    assert period_or_none(schedule, 0) is None
    assert periods_due(schedule, today=MAX) == []
    assert next_billing_date(schedule, invoiced_through=None) is None
    assert list(periods_from(schedule)) == []
    assert index_after(schedule, MAX) == 1


def test_days_before_near_the_end_of_the_calendar() -> None:
    schedule = Schedule(D(9999, 11, 1), PRESETS["monthly"], days_before=40)
    assert [p.start for p in periods_due(schedule, today=D(9999, 12, 30))] == [D(9999, 11, 1)]


def test_an_open_pause_makes_an_after_n_invoices_rule_open_ended() -> None:
    # The QA case: yearly, "after 3 invoices", paused until resumed after the first one.
    schedule = Schedule(D(2026, 12, 1), YEARLY)
    assert periods_for_invoices(schedule, 3, [PauseWindow(D(2027, 12, 1))]) is None
    # Resumed later: the pause has an end and pushes the rule by the periods it skipped.
    resumed = [PauseWindow(D(2027, 12, 1), D(2030, 1, 1))]
    assert periods_for_invoices(schedule, 3, resumed) == 6


def test_a_pause_until_the_end_of_the_calendar() -> None:
    daily = Schedule(D(2026, 1, 1), Frequency(Unit.DAY))
    # 2.9 million daily periods inside the pause: jumped over, not walked.
    assert periods_for_invoices(daily, 5, [PauseWindow(D(2026, 1, 3), MAX)]) is None
    # 2 invoices before the pause, 3 after it: the last period is the one of 9000-01-04.
    spanned = periods_for_invoices(daily, 5, [PauseWindow(D(2026, 1, 3), D(9000, 1, 1))])
    assert spanned == (D(9000, 1, 4) - D(2026, 1, 1)).days + 1


def test_a_huge_invoice_count_with_pauses_is_computed_not_walked() -> None:
    daily = Schedule(D(2026, 1, 1), Frequency(Unit.DAY))
    pauses = [PauseWindow(D(2026, 1, 2), D(2026, 1, 2)), PauseWindow(D(2026, 1, 5), D(2026, 1, 6))]
    assert periods_for_invoices(daily, 1_000_000, pauses) == 1_000_003
    # More invoices than the calendar holds: the rule never ends it.
    assert periods_for_invoices(daily, 10**9, pauses) is None


@given(st.dates(D(2000, 1, 1), D(2100, 12, 31)), frequencies(), st.integers(1, 40))
def test_periods_for_invoices_equals_counting_one_by_one(
    anchor: date, freq: Frequency, invoices: int
) -> None:
    schedule = Schedule(anchor, freq)
    pauses = [
        PauseWindow(anchor + timedelta(days=20), anchor + timedelta(days=75)),
        PauseWindow(anchor + timedelta(days=200), anchor + timedelta(days=200)),
    ]
    spanned = billable = 0
    for period in periods_from(schedule, first_index(schedule)):
        spanned += 1
        if not any(p.covers(period.start) for p in pauses):
            billable += 1
            if billable == invoices:
                break
    assert periods_for_invoices(schedule, invoices, pauses) == spanned


def test_an_end_rule_ending_at_the_last_day() -> None:
    schedule = Schedule(D(9999, 1, 1), PRESETS["monthly"], EndRule("until", until=MAX))
    assert len(periods_due(schedule, today=MAX)) == 11  # December would end in year 10000
