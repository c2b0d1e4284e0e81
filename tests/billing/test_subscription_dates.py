"""Subscriptions: dates a user gives are checked (before the start, inside invoiced periods,
years ago, far in the future, overlapping) and the calendar's end never crashes a service.
Every refusal leaves the database as it was."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from facturier.billing.forecast import forecast
from facturier.billing.models import (
    AuditEvent,
    BilledPeriod,
    BillingRun,
    Invoice,
    ScheduledChange,
    Subscription,
    SubscriptionPause,
    UsageRecord,
)
from facturier.billing.services import InvalidInput, NotAllowed
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_pause,
    subscription_resume,
    usage_record,
)
from tests.actors import SYS

D = Decimal
TODAY = date(2026, 11, 28)


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 9, tzinfo=UTC), tick=False)


@pytest.fixture(autouse=True)
def _today():
    # The messages are checked in English (the French ones come from the catalog).
    with at(TODAY), translation.override("en"):
        yield


def make(customer, **kw):
    defaults = {
        "name": "Service", "actor": SYS, "frequency_unit": "month", "anchor": TODAY,
        "lines": [SubscriptionLineData(description="Service", quantity=D(3), unit_price=D(10))],
    }  # fmt: skip
    return subscription_create(customer=customer, **{**defaults, **kw})


def snapshot(sub: Subscription) -> tuple[object, ...]:
    """Everything a refused request could have written."""
    sub.refresh_from_db()
    return (
        sub.status, sub.next_billing_date, sub.cancelled_from, AuditEvent.objects.count(),
        SubscriptionPause.objects.count(), ScheduledChange.objects.count(),
        UsageRecord.objects.count(), BilledPeriod.objects.count(), Invoice.objects.count(),
        BillingRun.objects.count(),
    )  # fmt: skip


# --- 1. the end of the calendar ----------------------------------------------------------


@pytest.mark.parametrize("end", [{}, {"end_kind": "count", "end_count": 3}])
def test_an_open_ended_pause_of_a_yearly_subscription(customer, end):
    sub = make(customer, frequency_unit="year", **end)
    billing_run()  # the first year is billed
    subscription_pause(sub, start=date(2026, 12, 1), actor=SYS)  # was an OverflowError
    sub.refresh_from_db()
    assert (sub.status, sub.next_billing_date) == ("paused", None)
    subscription_resume(sub, on=date(2029, 1, 1), actor=SYS)
    sub.refresh_from_db()
    # 2027 and 2028 start inside the pause; "after 3 invoices" is pushed by those two.
    assert (sub.status, sub.next_billing_date) == ("active", date(2029, 11, 28))
    if end:
        assert sub.end_count == 3
        with at(date(2031, 12, 1)):
            summary = billing_run()
        assert (summary.issued, summary.skipped) == (2, 2)  # 2029, 2030; then finished
        sub.refresh_from_db()
        assert sub.status == "finished"


def test_a_pause_until_the_last_day_of_the_calendar(customer):
    sub = make(customer, frequency_unit="day")
    subscription_pause(sub, start=date(2026, 12, 1), end=date.max, actor=SYS)
    sub.refresh_from_db()
    assert (sub.status, sub.next_billing_date) == ("active", TODAY)
    billing_run()
    with at(date(2026, 12, 3)):
        billing_run()
    sub.refresh_from_db()
    # Periods of the pause wait to be recorded as skipped; nothing more is ever billed.
    assert sub.next_billing_date is None
    assert sub.status == "finished"


def test_a_long_closed_pause_resumes_after_it(customer):
    """A pause longer than ten years used to end the subscription (a guessed horizon)."""
    sub = make(customer)
    billing_run()
    subscription_pause(sub, start=date(2026, 12, 1), end=date(2040, 5, 31), actor=SYS)
    sub.refresh_from_db()
    assert (sub.status, sub.next_billing_date) == ("active", date(2040, 6, 28))


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_billing_run_far_ahead_is_refused(customer, dry_run):
    sub = make(customer, frequency_unit="year")
    before = snapshot(sub)
    with pytest.raises(InvalidInput, match="more than a year ahead") as err:
        billing_run(as_of=date(9999, 12, 31), dry_run=dry_run)
    assert err.value.field == "as_of"
    assert snapshot(sub) == before
    if dry_run:  # a dry run may look a year ahead
        assert billing_run(as_of=date(2027, 11, 28), dry_run=True).issued == 2
    else:  # a run that issues never does it ahead of time
        with pytest.raises(InvalidInput, match="make it a dry run"):
            billing_run(as_of=date(2027, 11, 28))
        assert snapshot(sub) == before


def test_a_forecast_far_ahead_is_refused(customer):
    make(customer)
    with pytest.raises(InvalidInput) as err:
        forecast(company=customer.company, today=date(9999, 12, 31))
    assert err.value.field == "as_of"
    with pytest.raises(InvalidInput) as err:
        forecast(company=customer.company, today=TODAY, months=10**6)
    assert err.value.field == "months"
    assert len(forecast(company=customer.company, today=date(2027, 11, 1), months=1)) == 14


# --- 2. cancel ---------------------------------------------------------------------------


def test_cancel_before_the_start_or_inside_invoiced_periods_is_refused(customer):
    sub = make(customer)
    billing_run()  # 28/11/2026 – 27/12/2026 invoiced
    before = snapshot(sub)
    with pytest.raises(InvalidInput, match="starts on 28/11/2026") as err:
        subscription_cancel(sub, actor=SYS, at_period_end=False, on=date(2020, 1, 1))
    assert err.value.field == "on"
    assert snapshot(sub) == before
    with at(date(2027, 1, 30)):
        billing_run()  # December and January invoiced
        before = snapshot(sub)
        with pytest.raises(InvalidInput, match="cancel from 28/01/2027 at the earliest"):
            subscription_cancel(sub, actor=SYS, at_period_end=False, on=date(2027, 1, 10))
        assert snapshot(sub) == before
        # Inside the last invoiced period: accepted, its unused days credited.
        subscription_cancel(sub, actor=SYS, at_period_end=False, on=date(2027, 2, 7), credit=True)
    sub.refresh_from_db()
    assert (sub.status, sub.cancelled_from) == ("cancelled", date(2027, 2, 7))
    assert Invoice.objects.filter(doc_type="credit_note").count() == 1


def test_cancel_now_before_the_first_period_cancels_from_its_start(customer):
    sub = make(customer, anchor=date(2027, 1, 1))
    subscription_cancel(sub, actor=SYS, at_period_end=False)
    sub.refresh_from_db()
    assert (sub.status, sub.cancelled_from, sub.next_billing_date) == (
        "cancelled", date(2027, 1, 1), None,
    )  # fmt: skip


def test_cancel_at_period_end_before_the_stub_cancels_everything(customer):
    sub = make(customer, anchor=date(2027, 1, 1), start=date(2026, 12, 15))
    subscription_cancel(sub, actor=SYS)
    sub.refresh_from_db()
    assert (sub.status, sub.cancelled_from) == ("cancelled", date(2026, 12, 15))
    with at(date(2027, 2, 1)):
        assert billing_run().issued == 0  # the stub is not billed either


def test_cancel_at_period_end_still_works(customer):
    sub = make(customer)
    billing_run()
    with at(date(2026, 12, 10)):
        subscription_cancel(sub, actor=SYS)
    sub.refresh_from_db()
    assert (sub.status, sub.cancelled_from) == ("cancelled", date(2026, 12, 28))


# --- 3. scheduled changes ----------------------------------------------------------------


def test_a_change_before_the_last_invoiced_period_is_refused(customer):
    sub = make(customer)
    line = sub.lines.get()
    with pytest.raises(InvalidInput, match="starts on 28/11/2026") as err:
        subscription_change(line, effective=date(2020, 1, 1), quantity=D(5), actor=SYS)
    assert err.value.field == "effective"
    with at(date(2027, 1, 30)):
        billing_run()  # up to the period from 28/01/2027
        before = snapshot(sub)
        with pytest.raises(InvalidInput, match="from 28/01/2027 at the earliest"):
            subscription_change(line, effective=date(2027, 1, 27), quantity=D(5), actor=SYS)
        assert snapshot(sub) == before
        # Inside the last invoiced period: the difference goes on the next invoice.
        subscription_change(line, effective=date(2027, 2, 12), quantity=D(5), actor=SYS)
    with at(date(2027, 2, 28)):
        billing_run()
    march = Invoice.objects.order_by("-sequence").first()
    adjustment = march.lines.get(description__startswith="Ajustement")
    assert adjustment.period_start == date(2027, 2, 12)


# --- 4. creation -------------------------------------------------------------------------


def test_a_first_period_years_ago_is_refused(customer):
    with pytest.raises(InvalidInput, match="start from the next period to invoice") as err:
        make(customer, anchor=date(2020, 1, 1))
    assert err.value.field == "anchor"
    with pytest.raises(InvalidInput, match="1900 is too far in the past") as err:
        make(customer, anchor=date(1900, 1, 1))  # outside the dates anyone may give
    assert err.value.field == "anchor"
    with pytest.raises(InvalidInput, match="more than a year ago") as err:
        make(customer, anchor=date(2025, 12, 15), start=date(2025, 11, 20))
    assert err.value.field == "start"
    assert not Subscription.objects.exists()
    assert not AuditEvent.objects.filter(action="subscription.created").exists()
    make(customer, anchor=date(2025, 12, 1))  # within a year: the run catches it up
    with pytest.raises(InvalidInput) as err:
        make(customer, frequency_unit="year", anchor=date(9999, 6, 1))
    assert err.value.field == "anchor"


def test_a_service_start_after_the_first_period_start_is_refused(customer):
    with pytest.raises(InvalidInput, match="before the first period start") as err:
        make(customer, anchor=date(2026, 12, 1), start=date(2026, 12, 15))
    assert err.value.field == "start"
    assert not Subscription.objects.exists()
    sub = make(customer, anchor=date(2026, 12, 1), start=date(2026, 11, 28))
    assert sub.next_billing_date == date(2026, 11, 28)  # the prorated stub first


# --- 5. pauses ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2027, 1, 15), None), (date(2027, 1, 1), date(2027, 1, 10)),
     (date(2027, 2, 10), date(2027, 3, 1)), (date(2026, 12, 1), date(2027, 3, 1))],
)  # fmt: skip
def test_an_overlapping_pause_is_refused(customer, start, end):
    sub = make(customer)
    subscription_pause(sub, start=date(2027, 1, 10), end=date(2027, 2, 10), actor=SYS)
    before = snapshot(sub)
    with pytest.raises(InvalidInput, match="overlaps the pause from 10/01/2027 to 10/02/2027"):
        subscription_pause(sub, start=start, end=end, actor=SYS)
    assert snapshot(sub) == before
    subscription_pause(sub, start=date(2027, 2, 11), end=date(2027, 3, 1), actor=SYS)


# --- 6. usage ----------------------------------------------------------------------------


def _metered(customer, **kw):
    lines = [
        SubscriptionLineData(description="Forfait", unit_price=D(10)),
        SubscriptionLineData(description="Appels", quantity=D(0), unit_price=D("0.5"),
                             mode="metered"),
    ]  # fmt: skip
    return make(customer, lines=lines, anchor=date(2026, 9, 1), **kw)


@pytest.mark.parametrize("timing", ["advance", "arrears"])
def test_late_usage_in_an_invoiced_period_goes_on_the_next_invoice(customer, timing):
    sub = _metered(customer, timing=timing)
    line = sub.lines.get(mode="metered")
    usage_record(line, occurred_on=date(2026, 9, 10), quantity=D(4), idempotency_key="a")
    with at(date(2026, 10, 5)):
        billing_run()
    first_usage = Invoice.objects.order_by("sequence").filter(lines__description__contains="Appels")
    usage_record(line, occurred_on=date(2026, 9, 15), quantity=D(6), idempotency_key="late")
    late = UsageRecord.objects.get(idempotency_key="late")
    with at(date(2026, 11, 5)):
        billing_run()
    late.refresh_from_db()
    assert late.invoice is not None  # billed, not forgotten
    assert late.invoice.period_start == (
        date(2026, 11, 1) if timing == "advance" else date(2026, 10, 1)
    )
    metered = late.invoice.lines.get(description__contains="Appels")
    assert metered.quantity == D(6)  # only the late record: September's first was billed
    if timing == "arrears":
        assert first_usage.first().lines.get(description__contains="Appels").quantity == D(4)
    assert UsageRecord.objects.filter(invoice__isnull=True).count() == 0


def test_usage_in_the_future_is_refused(customer):
    sub = _metered(customer)
    before = snapshot(sub)
    with pytest.raises(InvalidInput, match="after today") as err:
        usage_record(
            sub.lines.get(mode="metered"), occurred_on=date(2099, 1, 1), quantity=D(1),
            idempotency_key="x",
        )  # fmt: skip
    assert err.value.field == "occurred_on"
    assert snapshot(sub) == before
    usage_record(sub.lines.get(mode="metered"), occurred_on=TODAY, quantity=D(1),
                 idempotency_key="y")  # fmt: skip


def test_usage_after_the_last_invoice_of_a_cancelled_subscription_is_refused(customer):
    sub = _metered(customer, timing="arrears")
    with at(date(2026, 10, 5)):
        billing_run()
    subscription_cancel(sub, actor=SYS, at_period_end=False, on=date(2026, 10, 1))
    sub.refresh_from_db()
    assert sub.next_billing_date is None
    with pytest.raises(NotAllowed, match="never be billed") as err:
        usage_record(sub.lines.get(mode="metered"), occurred_on=TODAY, quantity=D(1),
                     idempotency_key="z")  # fmt: skip
    assert err.value.field == "line" and not UsageRecord.objects.exists()


# --- 7. field names ----------------------------------------------------------------------


def test_a_negative_price_names_the_price(customer):
    sub = make(customer)
    before = snapshot(sub)
    with pytest.raises(InvalidInput) as err:
        subscription_change(sub.lines.get(), effective=date(2026, 12, 1), unit_price=D(-2),
                            actor=SYS)  # fmt: skip
    assert err.value.field == "unit_price"
    assert snapshot(sub) == before
