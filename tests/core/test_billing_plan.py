"""Billing-run plan: catch-up, pauses, cancellation, and exactly-once over any run days."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facturier.core.billing_plan import PauseWindow, PlannedPeriod, plan_billing
from facturier.core.recurrence import (
    PRESETS,
    EndRule,
    Period,
    Schedule,
    billing_date,
    periods_due,
)
from tests.core.test_recurrence import schedules

D = date
MONTHLY = Schedule(D(2026, 1, 1), PRESETS["monthly"])


def planned(plan: list[PlannedPeriod]) -> list[tuple[date, str, str]]:
    return [(p.period.start, p.action, p.reason) for p in plan]


def test_first_run_after_downtime_catches_up_every_missed_period() -> None:
    plan = plan_billing(MONTHLY, today=D(2026, 4, 15), invoiced_starts=[D(2026, 1, 1)])
    assert plan == [
        PlannedPeriod(Period(1, D(2026, 2, 1), D(2026, 2, 28)), D(2026, 2, 1), "invoice"),
        PlannedPeriod(Period(2, D(2026, 3, 1), D(2026, 3, 31)), D(2026, 3, 1), "invoice"),
        PlannedPeriod(Period(3, D(2026, 4, 1), D(2026, 4, 30)), D(2026, 4, 1), "invoice"),
    ]


def test_running_again_with_the_plan_recorded_plans_nothing() -> None:
    plan = plan_billing(MONTHLY, today=D(2026, 4, 15), invoiced_starts=set())
    recorded = {p.period.start for p in plan}
    assert len(plan) == 4
    assert plan_billing(MONTHLY, today=D(2026, 4, 15), invoiced_starts=recorded) == []


def test_nothing_is_due_before_the_first_billing_date() -> None:
    assert plan_billing(MONTHLY, today=D(2025, 12, 31), invoiced_starts=()) == []


def test_periods_starting_inside_a_pause_are_skipped_bounds_included() -> None:
    pause = PauseWindow(D(2026, 2, 1), D(2026, 3, 1))
    plan = plan_billing(MONTHLY, today=D(2026, 4, 1), invoiced_starts=[], pauses=[pause])
    assert planned(plan) == [
        (D(2026, 1, 1), "invoice", ""),
        (D(2026, 2, 1), "skip", "paused"),
        (D(2026, 3, 1), "skip", "paused"),
        (D(2026, 4, 1), "invoice", ""),
    ]


def test_an_open_ended_pause_skips_until_resumed() -> None:
    pause = PauseWindow(D(2026, 1, 15))
    plan = plan_billing(MONTHLY, today=D(2026, 3, 1), invoiced_starts=[], pauses=[pause])
    assert [p.action for p in plan] == ["invoice", "skip", "skip"]


def test_cancelled_periods_are_not_planned() -> None:
    plan = plan_billing(
        MONTHLY, today=D(2026, 4, 1), invoiced_starts=[], cancelled_from=D(2026, 3, 1)
    )
    assert [p.period.start for p in plan] == [D(2026, 1, 1), D(2026, 2, 1)]


def test_in_arrears_a_period_is_due_the_day_after_it_ends() -> None:
    s = Schedule(D(2026, 1, 1), PRESETS["monthly"], timing="arrears")
    assert plan_billing(s, today=D(2026, 1, 31), invoiced_starts=[]) == []
    plan = plan_billing(s, today=D(2026, 2, 1), invoiced_starts=[])
    assert [(p.period.start, p.billing_date) for p in plan] == [(D(2026, 1, 1), D(2026, 2, 1))]


def test_the_stub_is_planned_first_and_the_end_rule_stops_the_plan() -> None:
    s = Schedule(D(2026, 2, 1), PRESETS["monthly"], EndRule("count", count=2), start=D(2026, 1, 20))
    plan = plan_billing(s, today=D(2026, 12, 31), invoiced_starts=[])
    assert [(p.period.index, p.period.start, p.period.prorated) for p in plan] == [
        (-1, D(2026, 1, 20), True),
        (0, D(2026, 2, 1), False),
    ]


def test_pause_window_refuses_an_end_before_its_start() -> None:
    with pytest.raises(ValueError, match="pause end must not be before its start"):
        PauseWindow(D(2026, 2, 1), D(2026, 1, 31))


# --- properties ---------------------------------------------------------------------------------

offsets = st.integers(-60, 800)


@st.composite
def pause_windows(draw: st.DrawFn, anchor: date) -> list[PauseWindow]:
    windows = []
    for _ in range(draw(st.integers(0, 2))):
        start = anchor + timedelta(days=draw(offsets))
        length = draw(st.none() | st.integers(0, 200))
        end = None if length is None else start + timedelta(days=length)
        windows.append(PauseWindow(start, end))
    return windows


@st.composite
def situations(draw: st.DrawFn) -> tuple[Schedule, list[PauseWindow], date | None]:
    schedule = draw(schedules())
    cancel = draw(st.none() | offsets)
    cancelled_from = None if cancel is None else schedule.anchor + timedelta(days=cancel)
    return schedule, draw(pause_windows(schedule.anchor)), cancelled_from


def due_starts(schedule: Schedule, today: date, cancelled_from: date | None) -> list[date]:
    due = periods_due(schedule, today=today)
    return [p.start for p in due if cancelled_from is None or p.start < cancelled_from]


@settings(max_examples=100, deadline=None)  # a run over ~800 daily periods: no flaky timing
@given(situations(), offsets, st.data())
def test_plan_is_idempotent_and_covers_every_due_period(
    situation: tuple[Schedule, list[PauseWindow], date | None], t: int, data: st.DataObject
) -> None:
    schedule, pauses, cancelled_from = situation
    today = schedule.anchor + timedelta(days=t)
    due = due_starts(schedule, today, cancelled_from)
    invoiced = data.draw(st.sets(st.sampled_from(due)) if due else st.just(set[date]()))
    kwargs = {"today": today, "pauses": pauses, "cancelled_from": cancelled_from}
    plan = plan_billing(schedule, invoiced_starts=invoiced, **kwargs)  # type: ignore[arg-type]

    assert [p.period.start for p in plan] == [d for d in due if d not in invoiced]
    for p in plan:
        paused = any(w.covers(p.period.start) for w in pauses)
        assert (p.action, p.reason) == (("skip", "paused") if paused else ("invoice", ""))
        assert p.billing_date == billing_date(schedule, p.period) <= today
    recorded = invoiced | {p.period.start for p in plan}
    assert plan_billing(schedule, invoiced_starts=recorded, **kwargs) == []  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)  # a run over ~800 daily periods: no flaky timing
@given(situations(), st.lists(offsets, min_size=1, max_size=8, unique=True))
def test_runs_on_any_days_handle_each_due_period_exactly_once(
    situation: tuple[Schedule, list[PauseWindow], date | None], run_offsets: list[int]
) -> None:
    """Runs on arbitrary days (downtime included) record each due period once, on time."""
    schedule, pauses, cancelled_from = situation
    run_days = sorted(schedule.anchor + timedelta(days=t) for t in run_offsets)
    recorded: list[date] = []
    previous_run = date.min
    for today in run_days:
        plan = plan_billing(
            schedule,
            today=today,
            invoiced_starts=recorded,
            pauses=pauses,
            cancelled_from=cancelled_from,
        )
        # Nothing waits for a later run: each period comes due after the previous run.
        assert all(previous_run < p.billing_date <= today for p in plan)
        recorded += [p.period.start for p in plan]
        previous_run = today

    assert recorded == due_starts(schedule, run_days[-1], cancelled_from)
    assert len(recorded) == len(set(recorded))
