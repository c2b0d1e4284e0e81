"""The pure billing-run plan: which periods of one subscription to invoice or skip today.

A function of (schedule, periods already handled, today), in the manner of Kill Bill's
invoice generator: it looks back over every due period, not only at today's billing day,
so the first run after any downtime catches up (Lago and ERPNext miss a skipped day), and
re-running it with its own result recorded plans nothing (invariant 5, exactly once per
period). The caller persists the plan under a unique (subscription, period start) key.

>>> from facturier.core.recurrence import PRESETS
>>> s = Schedule(date(2026, 1, 31), PRESETS["monthly"])
>>> plan = plan_billing(s, today=date(2026, 3, 31), invoiced_starts=[date(2026, 1, 31)],
...                     pauses=[PauseWindow(date(2026, 2, 10), date(2026, 3, 1))])
>>> [(p.period.start.isoformat(), p.action, p.reason) for p in plan]
[('2026-02-28', 'skip', 'paused'), ('2026-03-31', 'invoice', '')]
>>> starts = [date(2026, 1, 31)] + [p.period.start for p in plan]
>>> plan_billing(s, today=date(2026, 3, 31), invoiced_starts=starts)
[]
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from facturier.core.recurrence import (
    ONE_DAY,
    Period,
    Schedule,
    billing_date,
    first_index,
    index_after,
    period_or_none,
    periods_due,
)


@dataclass(frozen=True)
class PauseWindow:
    """A pause ``[start, end]`` (inclusive); ``end`` None means until resumed.

    >>> PauseWindow(date(2026, 2, 1), date(2026, 1, 1))
    Traceback (most recent call last):
    ...
    ValueError: pause end must not be before its start
    """

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError("pause end must not be before its start")

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class PlannedPeriod:
    """One due period and what the run must record for it."""

    period: Period
    billing_date: date  # when it came due; a catch-up invoice is still issued today (invariant 2)
    action: Literal["invoice", "skip"]
    reason: str = ""  # why a period is skipped, kept with the skip record


def plan_billing(
    schedule: Schedule,
    *,
    today: date,
    invoiced_starts: Collection[date],
    pauses: Sequence[PauseWindow] = (),
    cancelled_from: date | None = None,
) -> list[PlannedPeriod]:
    """Every period due on ``today`` not yet handled, in order, invoiced or skipped.

    ``invoiced_starts`` holds the starts of the periods already invoiced or recorded as
    skipped: a skip is a record too, so that a resumed subscription does not bill its pause.
    Periods starting on or after ``cancelled_from`` are not part of the plan at all.
    """
    handled = frozenset(invoiced_starts)  # the caller may pass a list; look-ups stay O(1)
    plan: list[PlannedPeriod] = []
    for period in periods_due(schedule, today=today):
        if cancelled_from is not None and period.start >= cancelled_from:
            break  # starts only increase: every later period is cancelled too
        if period.start in handled:
            continue
        paused = any(pause.covers(period.start) for pause in pauses)
        plan.append(
            PlannedPeriod(
                period=period,
                billing_date=billing_date(schedule, period),
                action="skip" if paused else "invoice",
                reason="paused" if paused else "",
            )
        )
    return plan


def periods_for_invoices(
    schedule: Schedule, invoices: int, pauses: Sequence[PauseWindow]
) -> int | None:
    """How many periods an "after N invoices" end rule spans once paused periods (which are
    skipped, not invoiced) are left out: the N-th billable period is the last one. None when
    the N-th invoice never comes: a pause until resumed (or the end of the calendar) comes
    first, so the schedule has no end for now.

    Jumps over each pause and each run of billable periods: O(pauses), however long a pause
    or large N is.

    >>> from facturier.core.recurrence import PRESETS
    >>> s = Schedule(anchor=date(2026, 1, 1), frequency=PRESETS["monthly"])
    >>> periods_for_invoices(s, 3, [PauseWindow(date(2026, 2, 1), date(2026, 3, 31))])
    5
    >>> periods_for_invoices(s, 3, [PauseWindow(date(2026, 2, 1))]) is None
    True
    """
    if not pauses:
        return invoices
    first = first_index(schedule)
    index, billable = first, 0
    while (period := period_or_none(schedule, index)) is not None:
        start = period.start
        covering = [p for p in pauses if p.covers(start)]
        if covering:
            ends = [p.end for p in covering if p.end is not None]
            if len(ends) < len(covering):
                return None  # paused until resumed: no N-th invoice yet
            index = max(index + 1, index_after(schedule, max(ends)))
            continue
        # Every period from here to the next pause's start is billable.
        later = [p.start for p in pauses if p.start > start]
        run = None if not later else index_after(schedule, min(later) - ONE_DAY) - index
        if run is None or billable + run >= invoices:
            last = index + invoices - billable - 1
            return None if period_or_none(schedule, last) is None else last - first + 1
        billable += run
        index += run
    return None  # the calendar ends first
