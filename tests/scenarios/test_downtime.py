"""Nothing runs for a while, then one run catches up (DOMAIN invariants 2 and 5).

Every due period is billed once by the first run after the downtime, each catch-up invoice
is issued on the day of that run (never back-dated) and states the period it covers; a second
run adds nothing; a pause over the downtime leaves skipped periods, not invoices.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import QuerySet

from facturier.billing.models import (
    BilledPeriod,
    BillingRun,
    Customer,
    Invoice,
    InvoiceStatus,
    RunItem,
    Subscription,
)
from facturier.billing.services import NotAllowed, audit_verify
from facturier.billing.services.billing_run import RunSummary, billing_run
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_cancel,
    subscription_create,
    subscription_pause,
    subscription_resume,
)
from facturier.core import recurrence as rec
from tests.actors import SYS

PARIS = ZoneInfo("Europe/Paris")
D = Decimal


def paris(day: date, hour: int = 0, minute: int = 30) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def run_on(day: date, hour: int = 0, minute: int = 30) -> RunSummary:
    """One billing run at that Paris wall-clock time (00:30 by default: the UTC day before)."""
    with time_machine.travel(paris(day, hour, minute), tick=False):
        return billing_run()


def make(customer: Customer, name: str, unit: str, anchor: date, **options: Any) -> Subscription:
    with time_machine.travel(paris(anchor - timedelta(days=10), 12), tick=False):
        return subscription_create(
            customer=customer,
            name=name,
            actor=SYS,
            frequency_unit=unit,
            anchor=anchor,
            lines=[SubscriptionLineData(description=name, unit_price=D("25.00"))],
            **options,
        )


def starts(sub: Subscription) -> list[date]:
    return list(sub.billed_periods.order_by("start").values_list("start", flat=True))


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(first: str, last: str, step: int = 1) -> list[date]:
    out, day = [], d(first)
    while day <= d(last):
        out.append(day)
        day += timedelta(days=step)
    return out


def assert_catch_up(
    summary: RunSummary, today: date, expected: dict[Subscription, list[date]]
) -> QuerySet[Invoice]:
    """The run issued exactly the expected periods, all dated today, periods stated, in order."""
    got = sorted((o.subscription_id, o.period_start) for o in summary.outcomes)
    want = sorted((sub.pk, start) for sub, starts in expected.items() for start in starts)
    assert got == want
    assert summary.issued == len(want) and summary.failed == summary.skipped == 0
    invoices = Invoice.objects.filter(pk__in=[o.invoice_id for o in summary.outcomes])
    for inv in invoices:
        assert inv.status == InvoiceStatus.ISSUED
        assert inv.issue_date == today  # issued today, not on the missed billing day
        row = BilledPeriod.objects.get(invoice=inv)
        # It states the service period it covers, on the invoice and on its line.
        assert (inv.period_start, inv.period_end) == (row.start, row.end)
        line = inv.lines.get()
        assert (line.period_start, line.period_end) == (row.start, row.end)
        assert row.billing_date <= today
    return invoices


def assert_series_sound() -> None:
    """Invariants 1, 2 and 5 over everything issued so far, and the hash chains."""
    issued = list(Invoice.objects.filter(status=InvoiceStatus.ISSUED).order_by("issued_at", "pk"))
    for year in {i.series_year for i in issued}:
        in_issue_order = [i.sequence for i in issued if i.series_year == year]
        assert in_issue_order == list(range(1, len(in_issue_order) + 1)), f"gap in {year}"
    for before, after in itertools.pairwise(issued):
        assert before.issue_date <= after.issue_date
    # Each (subscription, start) once; each invoice in the ledger once; the chains intact.
    assert BilledPeriod.objects.values("subscription", "start").distinct().count() == (
        BilledPeriod.objects.count()
    )
    assert Invoice.objects.count() == BilledPeriod.objects.exclude(outcome="skipped").count()
    assert audit_verify() == []


def test_three_days_down_over_the_dst_weekend(customer: Customer) -> None:
    """Down Saturday to Monday (the spring DST change is on Sunday 28 March 2027)."""
    daily = make(customer, "daily", "day", d("2027-03-25"))
    weekly = make(customer, "weekly", "week", d("2027-03-28"))  # due on the DST Sunday
    weekly_in_arrears = make(customer, "weekly arrears", "week", d("2027-03-20"), timing="arrears")
    every_two_days = make(customer, "2 days", "day", d("2027-03-26"), interval=2)

    first = run_on(d("2027-03-25"))
    assert [(o.subscription_id, o.period_start) for o in first.outcomes] == [
        (daily.pk, d("2027-03-25"))
    ]
    run_on(d("2027-03-26"))  # Friday: the last run before the downtime
    assert Invoice.objects.count() == 3  # daily 25, 26; every two days 26
    # Saturday 27, Sunday 28, Monday 29: nothing runs. Tuesday 30 at 00:30 Paris:
    summary = run_on(d("2027-03-30"))
    assert_catch_up(
        summary,
        d("2027-03-30"),
        {
            daily: days("2027-03-27", "2027-03-30"),
            weekly: [d("2027-03-28")],
            weekly_in_arrears: [d("2027-03-20")],  # ended 26 March, due on Saturday 27
            every_two_days: [d("2027-03-28"), d("2027-03-30")],
        },
    )
    # One block of consecutive numbers (in claim order: oldest billing date first).
    numbers = sorted(o.number for o in summary.outcomes)
    assert numbers == [f"F2027-{n:05d}" for n in range(4, 4 + len(numbers))]
    # A second run, the same day, adds nothing.
    again = run_on(d("2027-03-30"), 15)
    assert (again.due, again.issued) == (0, 0)
    assert Invoice.objects.count() == 3 + 8
    # And the next day only that day's periods are billed.
    assert [(o.subscription_id, o.period_start) for o in run_on(d("2027-03-31")).outcomes] == [
        (daily.pk, d("2027-03-31"))
    ]
    assert starts(daily) == days("2027-03-25", "2027-03-31")
    for sub in (daily, weekly, weekly_in_arrears, every_two_days):
        sub.refresh_from_db()
        assert sub.next_billing_date > d("2027-03-31")
    assert_series_sound()


def test_two_months_down_then_one_run_catches_up(customer: Customer) -> None:
    monthly = make(customer, "monthly", "month", d("2027-01-31"))
    semi = make(customer, "semi-monthly", "semi_monthly", d("2027-02-01"))
    weekly = make(customer, "weekly", "week", d("2027-01-31"))
    quarterly_arrears = make(
        customer, "quarterly arrears", "month", d("2027-01-01"), interval=3, timing="arrears"
    )
    run_on(d("2027-01-31"))
    assert Invoice.objects.count() == 2  # monthly and weekly
    # Down from 1 February to 1 April; the first run is on 2 April at 10:00.
    summary = run_on(d("2027-04-02"), 10)
    invoices = assert_catch_up(
        summary,
        d("2027-04-02"),
        {
            monthly: [d("2027-02-28"), d("2027-03-31")],  # clamped, then back to the 31st
            semi: [*(d(f"2027-{m:02}-{x:02}") for m in (2, 3) for x in (1, 15)), d("2027-04-01")],
            weekly: days("2027-02-07", "2027-03-28", 7),
            quarterly_arrears: [d("2027-01-01")],  # ended 31 March, due 1 April
        },
    )
    assert len(invoices) == 2 + 5 + 8 + 1
    ends = {inv.period_start: inv.period_end for inv in invoices.filter(subscription=monthly)}
    assert ends == {d("2027-02-28"): d("2027-03-30"), d("2027-03-31"): d("2027-04-29")}
    quarter = invoices.get(subscription=quarterly_arrears)
    assert (quarter.period_start, quarter.period_end) == (d("2027-01-01"), d("2027-03-31"))
    assert {i.number for i in invoices} == {f"F2027-{n:05}" for n in range(3, 3 + 16)}
    # The same run again: nothing new, nothing twice.
    again = run_on(d("2027-04-02"), 23, 59)
    assert (again.due, again.issued, again.skipped) == (0, 0, 0)
    assert Invoice.objects.count() == 18
    # Continuous from there, on the same anchors.
    assert {o.period_start for o in run_on(d("2027-04-04")).outcomes} == {d("2027-04-04")}
    assert starts(monthly) == [d("2027-01-31"), d("2027-02-28"), d("2027-03-31")]
    run_on(d("2027-04-30"))
    assert starts(monthly)[-1] == d("2027-04-30")
    for sub in (monthly, semi, weekly):
        rows = list(sub.billed_periods.order_by("start"))
        for before, after in itertools.pairwise(rows):
            assert before.end + rec.ONE_DAY == after.start
    assert_series_sound()


def test_catch_up_across_the_new_year_is_numbered_in_the_new_year(customer: Customer) -> None:
    monthly = make(customer, "monthly", "month", d("2027-11-30"))
    weekly = make(customer, "weekly", "week", d("2027-12-06"))
    run_on(d("2027-12-06"))
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        "F2027-00001",
        "F2027-00002",
    ]
    # Down from 7 December to 3 January; the 00:30 run of 4 January is on 3 January in UTC.
    summary = run_on(d("2028-01-04"))
    assert_catch_up(
        summary,
        d("2028-01-04"),
        {monthly: [d("2027-12-30")], weekly: days("2027-12-13", "2028-01-03", 7)},
    )
    catch_up = Invoice.objects.filter(issue_date=d("2028-01-04")).order_by("sequence")
    # December periods issued in January carry January's date and a 2028 number.
    assert [i.number for i in catch_up] == [f"F2028-{n:05}" for n in range(1, 6)]
    december = catch_up.filter(subscription=weekly, period_end__lt=d("2028-01-01"))
    assert [(i.period_start, i.period_end) for i in december] == [
        (d("2027-12-13"), d("2027-12-19")),
        (d("2027-12-20"), d("2027-12-26")),
    ]
    assert run_on(d("2028-01-04"), 8).issued == 0
    assert_series_sound()


def test_pause_over_the_downtime_records_skipped_periods(customer: Customer) -> None:
    bounded = make(customer, "paused for March", "month", d("2027-01-31"))
    weekly = make(customer, "weekly paused", "week", d("2027-01-31"))
    open_pause = make(customer, "paused until resumed", "semi_monthly", d("2027-02-01"))
    control = make(customer, "never paused", "month", d("2027-03-31"))
    run_on(d("2027-01-31"))
    run_on(d("2027-02-01"))
    with time_machine.travel(paris(d("2027-02-05"), 11), tick=False):
        subscription_pause(bounded, start=d("2027-03-01"), end=d("2027-04-29"), actor=SYS)
        subscription_pause(weekly, start=d("2027-02-10"), end=d("2027-03-10"), actor=SYS)
        subscription_pause(open_pause, start=d("2027-02-10"), actor=SYS)
    # Down from 6 February to 4 May.
    summary = run_on(d("2027-05-05"))
    skipped = {(o.subscription_id, o.period_start): o.reason for o in summary.outcomes
               if o.outcome == "skipped"}  # fmt: skip
    assert skipped == {
        (bounded.pk, d("2027-03-31")): "paused",
        **{(weekly.pk, day): "paused" for day in days("2027-02-14", "2027-03-07", 7)},
    }
    invoiced = sorted(
        (o.subscription_id, o.period_start) for o in summary.outcomes if o.outcome == "invoiced"
    )
    assert invoiced == sorted(
        [
            (bounded.pk, d("2027-02-28")),  # before the pause
            (bounded.pk, d("2027-04-30")),  # after it: the same anchor, the 30th
            (weekly.pk, d("2027-02-07")),  # due before the pause, billed late
            *((weekly.pk, day) for day in days("2027-03-14", "2027-05-02", 7)),
            (control.pk, d("2027-03-31")),
            (control.pk, d("2027-04-30")),
        ]
    )
    for sub_id, start in skipped:
        row = BilledPeriod.objects.get(subscription_id=sub_id, start=start)
        assert (row.outcome, row.reason, row.invoice_id) == ("skipped", "paused", None)
        assert RunItem.objects.get(subscription_id=sub_id, period_start=start).outcome == "skipped"
    for inv in Invoice.objects.filter(issue_date=d("2027-05-05")):
        assert not BilledPeriod.objects.filter(invoice=inv, outcome="skipped").exists()
    # The subscription paused until resumed bills nothing while paused; once resumed, the
    # next run records its pause as skipped periods and continues on the same anchor.
    assert not Invoice.objects.filter(subscription=open_pause, period_start__gt=d("2027-02-09"))
    assert starts(open_pause) == [d("2027-02-01")]
    with time_machine.travel(paris(d("2027-05-05"), 14), tick=False):
        subscription_resume(open_pause, on=d("2027-05-10"), actor=SYS)
    resumed = run_on(d("2027-05-15"))
    by_outcome = {
        outcome: [o.period_start for o in resumed.outcomes if o.subscription_id == open_pause.pk
                  and o.outcome == outcome]
        for outcome in ("skipped", "invoiced")
    }  # fmt: skip
    assert by_outcome == {
        "skipped": [d("2027-02-15"), *days("2027-03-01", "2027-03-15", 14),
                    d("2027-04-01"), d("2027-04-15"), d("2027-05-01")],
        "invoiced": [d("2027-05-15")],
    }  # fmt: skip
    # A second run adds nothing.
    again = run_on(d("2027-05-15"), 9)
    assert (again.due, again.issued, again.skipped) == (0, 0, 0)
    assert BillingRun.objects.filter(skipped__gt=0).count() == 2
    assert_series_sound()


# -- pauses "until resumed" (two bugs found by these scenarios, now fixed) --------------------


def test_periods_before_a_pause_until_resumed_are_still_billed(customer: Customer) -> None:
    sub = make(customer, "monthly", "month", d("2027-01-01"))
    run_on(d("2027-01-01"))
    with time_machine.travel(paris(d("2027-01-05"), 11), tick=False):
        subscription_pause(sub, start=d("2027-04-10"), actor=SYS)  # from 10 April, open-ended
    # Down from 2 January to 9 March: the run of 10 March owes February and March.
    summary = run_on(d("2027-03-10"))
    assert starts(sub) == [d("2027-01-01"), d("2027-02-01"), d("2027-03-01")], summary.outcomes
    assert {i.issue_date for i in Invoice.objects.filter(period_start__gt=d("2027-01-01"))} == {
        d("2027-03-10")
    }


def test_a_subscription_paused_until_resumed_stays_paused_and_can_be_cancelled(
    customer: Customer,
) -> None:
    sub = make(customer, "monthly", "month", d("2027-01-01"))
    run_on(d("2027-01-01"))
    with time_machine.travel(paris(d("2027-01-10"), 11), tick=False):
        subscription_pause(sub, start=d("2027-01-15"), actor=SYS)
    sub.refresh_from_db()
    paused = sub.status
    # Down until 10 March; the customer cancels while it is paused, effective at once.
    run_on(d("2027-03-10"))
    with time_machine.travel(paris(d("2027-03-10"), 11), tick=False):
        subscription_cancel(sub, actor=SYS, at_period_end=False, on=d("2027-03-10"))
    sub.refresh_from_db()
    cancelled = (sub.status, sub.cancelled_from)
    with (
        time_machine.travel(paris(d("2027-03-12"), 11), tick=False),
        pytest.raises(NotAllowed, match="cancelled"),
    ):
        subscription_resume(sub, on=d("2027-04-01"), actor=SYS)
    run_on(d("2027-04-02"))
    assert (paused, cancelled) == ("paused", ("cancelled", d("2027-03-10")))
    assert starts(sub)[-1] < d("2027-03-10")  # nothing billed after the cancellation
