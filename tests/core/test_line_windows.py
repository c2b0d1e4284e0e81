"""A line added or removed from a date (its billing window) is billed for exactly the days
of its window, across any periods, prorated inside a period: no day twice, none missed."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from facturier.core.recurrence import PRESETS, Schedule, periods
from facturier.core.subscription_lines import PlanLine, period_lines

FAR = date(9999, 12, 31)


@given(
    st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    st.sampled_from(["weekly", "semi_monthly", "monthly", "quarterly"]),
    st.integers(0, 400),
    st.none() | st.integers(0, 400),
)
def test_a_line_is_billed_for_the_days_of_its_window_only(
    anchor: date, preset: str, start_after: int, length: int | None
) -> None:
    schedule = Schedule(anchor, PRESETS[preset])
    spans = list(itertools.islice(periods(schedule, until=FAR), 40))
    starts_on = anchor + timedelta(days=start_after)
    ends_on = None if length is None else starts_on + timedelta(days=length)
    line = PlanLine(1, "Option", Decimal(1), Decimal(10), starts_on=starts_on, ends_on=ends_on)
    billed = [d for p in spans for d in period_lines([line], [], p)]
    days = [x.period_start + timedelta(days=i) for x in billed
            for i in range((x.period_end - x.period_start).days + 1)]  # fmt: skip
    last = min(spans[-1].end, ends_on or FAR)
    expected = [starts_on + timedelta(days=i) for i in range((last - starts_on).days + 1)]
    assert days == expected  # every day of the window within the periods, once, in order
    for x in billed:  # a whole period at the full price, a part of one prorated by days
        period = next(p for p in spans if p.start <= x.period_start <= p.end)
        base = period.full_days or period.days
        served = (x.period_end - x.period_start).days + 1
        if served == base:
            assert (x.unit_price, x.note) == (Decimal(10), "")
        else:
            assert x.note == f"{served}/{base} d"
            exact = Decimal(10) * served / base
            assert x.unit_price == exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
