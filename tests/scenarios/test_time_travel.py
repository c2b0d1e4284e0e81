"""Two years of daily billing runs, clock driven by time-machine (DOMAIN "Recurrence",
invariants 1, 2, 3 and 5).

The company is in Europe/Paris. The main run of each day happens at 00:30 Paris time, which
is 23:30 UTC (winter) or 22:30 UTC (summer) *the day before*: a run that took the UTC date
for "today" would bill a day late, and the assertions below would see it. Extra runs on
some days, around both DST changes and at the year end, must find nothing left to bill.

The expected periods are computed here from `facturier.core.recurrence` with schedules
written out by hand (not from the Subscription rows), and the first ones are also spelled
out literally, so that neither the ORM mapping nor month arithmetic can drift unnoticed.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from facturier.billing.models import (
    BilledPeriod,
    BillingRun,
    Customer,
    Invoice,
    InvoiceStatus,
    Subscription,
)
from facturier.billing.services import audit_verify
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.core import recurrence as rec
from tests.actors import SYS

PARIS = ZoneInfo("Europe/Paris")
FIRST_DAY = date(2027, 1, 1)
LAST_DAY = date(2028, 12, 31)
# Last Sunday of March (CET → CEST at 01:00 UTC) and of October (CEST → CET at 01:00 UTC).
SPRING = (date(2027, 3, 28), date(2028, 3, 26))
AUTUMN = (date(2027, 10, 31), date(2028, 10, 29))
D = Decimal


def paris(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A Paris wall-clock time, as the UTC instant the clock will return."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=PARIS).astimezone(
        UTC
    )


def utc(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def test_paris_helpers_cross_the_date_line() -> None:
    # The main run of 1 January is on 31 December in UTC; in summer, two hours before.
    assert paris(date(2028, 1, 1), 0, 30) == utc(date(2027, 12, 31), 23, 30)
    assert paris(date(2027, 7, 14), 0, 30) == utc(date(2027, 7, 13), 22, 30)
    # Both DST changes happen at 01:00 UTC on those Sundays.
    for day in SPRING:
        assert paris(day, 3) == utc(day, 1)
        assert day.weekday() == 6 and (day + timedelta(days=7)).month == 4
    for day in AUTUMN:
        assert utc(day, 0, 30).astimezone(PARIS).hour == utc(day, 1, 30).astimezone(PARIS).hour
        assert day.weekday() == 6 and (day + timedelta(days=7)).month == 11


@dataclass(frozen=True)
class Plan:
    """A subscription to create and the schedule `core` should give it, written separately."""

    name: str
    options: dict[str, Any]
    schedule: rec.Schedule


def _plans() -> list[Plan]:
    monthly, yearly = rec.Frequency(rec.Unit.MONTH), rec.Frequency(rec.Unit.YEAR)
    return [
        Plan(
            "monthly on the 31st",
            {"frequency_unit": "month", "anchor": date(2027, 1, 31)},
            rec.Schedule(date(2027, 1, 31), monthly),
        ),
        Plan(
            "monthly on the 29th",
            {"frequency_unit": "month", "anchor": date(2027, 1, 29)},
            rec.Schedule(date(2027, 1, 29), monthly),
        ),
        Plan(
            "weekly on Sundays (every DST change)",
            {"frequency_unit": "week", "anchor": date(2027, 1, 3)},
            rec.Schedule(date(2027, 1, 3), rec.Frequency(rec.Unit.WEEK)),
        ),
        Plan(
            "daily",
            {"frequency_unit": "day", "anchor": FIRST_DAY},
            rec.Schedule(FIRST_DAY, rec.Frequency(rec.Unit.DAY)),
        ),
        Plan(
            "semi-monthly on the 15th and the last day",
            {
                "frequency_unit": "semi_monthly",
                "anchor": date(2027, 1, 15),
                "semi_monthly_day1": 15,
                "semi_monthly_day2": 31,
            },
            rec.Schedule(
                date(2027, 1, 15), rec.Frequency(rec.Unit.SEMI_MONTHLY, semi_monthly_days=(15, 31))
            ),
        ),
        Plan(
            "semi-monthly 1st and 15th",
            {"frequency_unit": "semi_monthly", "anchor": FIRST_DAY},
            rec.Schedule(FIRST_DAY, rec.Frequency(rec.Unit.SEMI_MONTHLY)),
        ),
        Plan(
            "quarterly in arrears",
            {"frequency_unit": "month", "interval": 3, "anchor": FIRST_DAY, "timing": "arrears"},
            rec.Schedule(FIRST_DAY, rec.Frequency(rec.Unit.MONTH, 3), timing="arrears"),
        ),
        Plan(
            "yearly on 29 February, prorated stub from 1 March 2027",
            {"frequency_unit": "year", "anchor": date(2028, 2, 29), "start": date(2027, 3, 1)},
            rec.Schedule(date(2028, 2, 29), yearly, start=date(2027, 3, 1)),
        ),
        Plan(
            "monthly 3 days before the 31st, until 15 June 2028 prorated",
            {
                "frequency_unit": "month",
                "anchor": date(2027, 3, 31),
                "days_before": 3,
                "end_kind": "until",
                "end_date": date(2028, 6, 15),
                "prorate_last": True,
            },
            rec.Schedule(
                date(2027, 3, 31),
                monthly,
                end=rec.EndRule("until", until=date(2028, 6, 15), prorate_last=True),
                days_before=3,
            ),
        ),
        Plan(
            "every two weeks from the autumn DST change, 10 invoices",
            {
                "frequency_unit": "week",
                "interval": 2,
                "anchor": AUTUMN[0],
                "end_kind": "count",
                "end_count": 10,
            },
            rec.Schedule(AUTUMN[0], rec.Frequency(rec.Unit.WEEK, 2), rec.EndRule("count", 10)),
        ),
        Plan(
            "every 10 days in arrears",
            {
                "frequency_unit": "day",
                "interval": 10,
                "anchor": date(2027, 3, 20),
                "timing": "arrears",
            },
            rec.Schedule(date(2027, 3, 20), rec.Frequency(rec.Unit.DAY, 10), timing="arrears"),
        ),
    ]


def _expected(schedule: rec.Schedule) -> list[tuple[rec.Period, date]]:
    """Every period whose billing date falls on a day of the scenario, with that date."""
    out = []
    for period in rec.periods(schedule, until=LAST_DAY + timedelta(days=400)):
        due = rec.billing_date(schedule, period)
        if due <= LAST_DAY:
            assert due >= FIRST_DAY, "a plan bills before the scenario starts"
            out.append((period, due))
    return out


def _extra_runs(day: date) -> list[datetime]:
    """Runs after the 00:30 one: they must find nothing left to bill that day."""
    extra = []
    if day in SPRING:  # 01:59:59 CET, then 03:00 CEST one second later
        extra += [utc(day, 0, 59, 59), utc(day, 1)]
    if day in AUTUMN:  # 02:30 CEST, then 02:30 CET an hour later
        extra += [utc(day, 0, 30), utc(day, 1, 30)]
    if day.weekday() == 5:  # Saturdays: evening runs, the last one a second before midnight
        extra += [paris(day, 18), paris(day, 23, 59, 59)]
    if day.day in (1, 15, 28, 29, 30, 31):  # busy billing days: a noon run
        extra.append(paris(day, 12))
    if (day.month, day.day) == (12, 31):
        extra.append(paris(day, 23, 59, 59))
    return sorted(set(extra))


def _create(customer: Customer, plans: list[Plan]) -> dict[int, Plan]:
    subs = {}
    for k, plan in enumerate(plans, start=1):
        sub = subscription_create(
            customer=customer,
            name=plan.name,
            actor=SYS,
            lines=[SubscriptionLineData(description=plan.name, unit_price=D(10 * k))],
            **plan.options,
        )
        subs[sub.pk] = plan
    return subs


@pytest.mark.slow
def test_two_years_of_daily_runs(customer: Customer) -> None:
    plans = _plans()
    expected = {plan.name: _expected(plan.schedule) for plan in plans}
    due_on: Counter[date] = Counter(due for rows in expected.values() for _p, due in rows)

    runs = 0
    with time_machine.travel(paris(FIRST_DAY, 0) - timedelta(hours=12), tick=False) as clock:
        subs = _create(customer, plans)
        day = FIRST_DAY
        while day <= LAST_DAY:
            clock.move_to(paris(day, 0, 30))
            summary = billing_run()
            runs += 1
            assert (summary.issued, summary.failed, summary.drafted, summary.skipped) == (
                due_on[day], 0, 0, 0
            ), f"00:30 Paris run of {day}: {summary.outcomes}"  # fmt: skip
            for instant in _extra_runs(day):
                clock.move_to(instant)
                again = billing_run()
                runs += 1
                assert again.due == again.failed == 0, f"run at {instant}: {again.outcomes}"
            day += timedelta(days=1)

    _check_ledger(subs, expected)
    _check_numbers()
    assert audit_verify() == []
    _check_drift(subs)
    _check_state_after(subs)
    # 731 days, about 1,100 runs, 1,100 invoices (its speed is bench/'s business, not a test's).
    assert BillingRun.objects.count() == runs > 1000


def _check_ledger(
    subs: dict[int, Plan], expected: dict[str, list[tuple[rec.Period, date]]]
) -> None:
    """Exactly once per period, contiguous, issued by the run of the billing day itself."""
    run_day = {run.pk: run.started_at.astimezone(PARIS).date() for run in BillingRun.objects.all()}
    for sub_id, plan in subs.items():
        rows = list(
            BilledPeriod.objects.filter(subscription_id=sub_id)
            .select_related("invoice")
            .order_by("start")
        )
        want = expected[plan.name]
        assert [(r.start, r.end, r.index) for r in rows] == [
            (p.start, p.end, p.index) for p, _due in want
        ], plan.name
        for row, (period, due) in zip(rows, want, strict=True):
            inv = row.invoice
            assert row.outcome == "invoiced" and inv is not None, (plan.name, row.start)
            assert row.billing_date == due, (plan.name, row.start)
            assert inv.status == InvoiceStatus.ISSUED
            assert inv.subscription_id == sub_id
            assert (inv.period_start, inv.period_end) == (period.start, period.end)
            # Issued on its billing day (no run was missed, DST or not), by a run of that
            # Paris day; never back-dated, never early.
            assert inv.issue_date == due == run_day[row.run_id], (plan.name, row.start)
            assert inv.issued_at.astimezone(PARIS).date() == due
        for before, after in itertools.pairwise(rows):
            assert before.end + timedelta(days=1) == after.start, (plan.name, after.start)
        invoices = Invoice.objects.filter(subscription_id=sub_id)
        assert invoices.count() == len(rows), f"{plan.name}: an invoice outside the ledger"
    assert not Invoice.objects.filter(status=InvoiceStatus.DRAFT).exists()
    assert Invoice.objects.count() == BilledPeriod.objects.count()


def _check_numbers() -> None:
    """Gapless per yearly series, numbered in the year of issue, dates never going back."""
    issued = list(Invoice.objects.filter(status=InvoiceStatus.ISSUED).order_by("issued_at", "pk"))
    by_year: dict[int, list[Invoice]] = defaultdict(list)
    for inv in issued:
        by_year[inv.series_year].append(inv)
    assert sorted(by_year) == [2027, 2028]
    for year, invoices in by_year.items():
        invoices.sort(key=lambda i: i.sequence)
        assert [i.sequence for i in invoices] == list(range(1, len(invoices) + 1)), year
        assert [i.number for i in invoices] == [f"F{year}-{i.sequence:05d}" for i in invoices]
        assert {i.issue_date.year for i in invoices} == {year}
        for before, after in itertools.pairwise(invoices):
            assert before.issue_date <= after.issue_date, (before.number, after.number)
            assert before.issued_at <= after.issued_at, (before.number, after.number)
    # The first run of 2028 happens on 31 December 2027 in UTC: its invoices are F2028.
    first_2028 = by_year[2028][0]
    assert (first_2028.number, first_2028.issue_date) == ("F2028-00001", date(2028, 1, 1))
    assert first_2028.issued_at == utc(date(2027, 12, 31), 23, 30)
    assert by_year[2027][-1].issue_date == date(2027, 12, 31)


def _starts(subs: dict[int, Plan], name: str) -> list[date]:
    sub_id = next(pk for pk, plan in subs.items() if plan.name == name)
    return list(
        BilledPeriod.objects.filter(subscription_id=sub_id)
        .order_by("start")
        .values_list("start", flat=True)
    )


def _check_drift(subs: dict[int, Plan]) -> None:
    """The dates themselves, spelled out: month ends come back after short months."""
    m31 = _starts(subs, "monthly on the 31st")
    assert [d.isoformat() for d in m31[:7]] == [
        "2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30",
        "2027-07-31",
    ]  # fmt: skip
    assert [d.isoformat() for d in m31[12:16]] == [
        "2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30",
    ]  # fmt: skip
    assert len(m31) == 24 and m31[-1] == date(2028, 12, 31)
    m29 = _starts(subs, "monthly on the 29th")
    assert [d.isoformat() for d in m29[:3]] == ["2027-01-29", "2027-02-28", "2027-03-29"]
    assert date(2028, 2, 29) in m29 and len(m29) == 24
    assert all(d.day == 29 for d in m29 if d.month != 2)
    semi = _starts(subs, "semi-monthly on the 15th and the last day")
    assert [d.isoformat() for d in semi[:6]] == [
        "2027-01-15", "2027-01-31", "2027-02-15", "2027-02-28", "2027-03-15", "2027-03-31",
    ]  # fmt: skip
    assert date(2028, 2, 29) in semi and len(semi) == 48
    weekly = _starts(subs, "weekly on Sundays (every DST change)")
    assert {*SPRING, *AUTUMN} <= set(weekly)
    assert all(d.weekday() == 6 for d in weekly)
    quarterly = BilledPeriod.objects.filter(subscription__name="quarterly in arrears").order_by(
        "start"
    )
    assert [(p.start, p.end, p.billing_date) for p in quarterly[:2]] == [
        (date(2027, 1, 1), date(2027, 3, 31), date(2027, 4, 1)),
        (date(2027, 4, 1), date(2027, 6, 30), date(2027, 7, 1)),
    ]
    assert quarterly.count() == 7  # Q4 2028 is billed on 1 January 2029
    yearly = list(
        BilledPeriod.objects.filter(subscription__name__startswith="yearly").order_by("start")
    )
    assert [(p.start, p.end, p.billing_date) for p in yearly] == [
        (date(2027, 3, 1), date(2028, 2, 28), date(2027, 3, 1)),  # the prorated stub
        (date(2028, 2, 29), date(2029, 2, 27), date(2028, 2, 29)),
    ]
    stub, full = (p.invoice for p in yearly)
    assert stub.total_net < full.total_net  # 365 of 366 days
    ending = list(
        BilledPeriod.objects.filter(subscription__name__startswith="monthly 3 days").order_by(
            "start"
        )
    )
    assert (ending[0].start, ending[0].billing_date) == (date(2027, 3, 31), SPRING[0])
    assert (ending[-1].start, ending[-1].end) == (date(2028, 5, 31), date(2028, 6, 15))
    assert ending[-1].invoice.total_net < ending[-2].invoice.total_net


def _check_state_after(subs: dict[int, Plan]) -> None:
    """After the last day, each subscription waits for its next period (or has finished)."""
    for sub in Subscription.objects.filter(pk__in=subs):
        schedule = subs[sub.pk].schedule
        handled = set(sub.billed_periods.values_list("start", flat=True))
        upcoming = [
            p
            for p in rec.periods(schedule, until=LAST_DAY + timedelta(days=800))
            if p.start not in handled
        ]
        if upcoming:
            assert sub.status == "active", sub.name
            assert sub.next_billing_date == rec.billing_date(schedule, upcoming[0]), sub.name
            assert sub.next_billing_date > LAST_DAY
        else:
            assert (sub.status, sub.next_billing_date) == ("finished", None), sub.name


@pytest.mark.parametrize(
    "first, last",
    [
        (date(2027, 3, 24), date(2027, 4, 2)),  # spring DST change on Sunday 28 March
        (date(2027, 10, 27), date(2027, 11, 4)),  # autumn DST change on Sunday 31 October
        (date(2027, 12, 28), date(2028, 1, 4)),  # the year end
    ],
    ids=["spring-dst", "autumn-dst", "new-year"],
)
def test_worker_ticking_hourly_bills_at_the_company_hour(
    customer: Customer, first: date, last: date
) -> None:
    """The worker bills a company from its local billing hour (06:00 Paris by default): with a
    tick at every whole UTC hour, each invoice is issued at 06:00 Paris on its billing day,
    whatever the UTC offset that day."""
    import threading

    from facturier.worker.loop import Worker

    assert customer.company.billing_hour == 6
    sunday = first + timedelta(days=6 - first.weekday())
    plans = {
        "daily": {"frequency_unit": "day", "anchor": first},
        "weekly": {"frequency_unit": "week", "anchor": sunday},
        "monthly": {"frequency_unit": "month", "anchor": rec.add_months(first.replace(day=1), 1)},
        "arrears": {"frequency_unit": "day", "interval": 3, "anchor": first, "timing": "arrears"},
    }
    worker = Worker(name="ticker", stop=threading.Event())
    with time_machine.travel(utc(first, 0) - timedelta(days=1), tick=False) as clock:
        for name, options in plans.items():
            subscription_create(
                customer=customer,
                name=name,
                actor=SYS,
                lines=[SubscriptionLineData(description=name, unit_price=D(5))],
                **options,
            )
        instant = utc(first, 0)
        while instant < utc(last + timedelta(days=1), 0):
            clock.move_to(instant)
            worker.bill_due_companies()
            instant += timedelta(hours=1)

    rows = list(BilledPeriod.objects.select_related("invoice", "subscription"))
    assert {r.subscription.name for r in rows} == set(plans)
    for row in rows:
        inv = row.invoice
        assert row.outcome == "invoiced" and inv is not None
        assert first <= row.billing_date <= last
        assert inv.issue_date == row.billing_date, (row.subscription.name, row.start)
        assert inv.issued_at == paris(row.billing_date, 6), (row.subscription.name, row.start)
    daily = [r.start for r in rows if r.subscription.name == "daily"]
    assert sorted(daily) == [first + timedelta(days=k) for k in range((last - first).days + 1)]
    _check_numbers_per_year()
    assert audit_verify() == []


def _check_numbers_per_year() -> None:
    invoices = Invoice.objects.order_by("series_year", "sequence")
    for year in {i.series_year for i in invoices}:
        group = [i for i in invoices if i.series_year == year]
        assert [i.sequence for i in group] == list(range(1, len(group) + 1))
        assert {i.issue_date.year for i in group} == {year}
        for before, after in itertools.pairwise(group):
            assert before.issued_at <= after.issued_at
