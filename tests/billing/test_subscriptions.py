"""Subscriptions: validation, pause and resume, cancel, changes prorated by days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from facturier.billing.models import BilledPeriod, Invoice, Subscription
from facturier.billing.services import InvalidInput, NotAllowed
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_pause,
    subscription_resume,
)
from tests.actors import SYS

D = Decimal


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 9, tzinfo=UTC), tick=False)


def make(customer, **kw):
    defaults = {
        "name": "Service", "actor": SYS, "frequency_unit": "month", "anchor": date(2026, 1, 1),
        "lines": [SubscriptionLineData(description="Service", quantity=D(3), unit_price=D(10))],
    }  # fmt: skip
    return subscription_create(customer=customer, **{**defaults, **kw})


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"name": " "}, "name"), ({"interval": 0}, "frequency"), ({"lines": []}, "lines"),
     ({"lines": [SubscriptionLineData(description="x", unit_price=D(-1))]}, "lines[1].unit_price"),
     ({"end_kind": "count"}, "frequency"), ({"colour": "red"}, "colour")],
)  # fmt: skip
def test_bad_input_refused_and_nothing_saved(customer, kw, field):
    with pytest.raises(InvalidInput) as err:
        make(customer, **kw)
    assert err.value.field == field
    assert not Subscription.objects.exists()


def test_pause_skips_and_resume_keeps_the_anchor(customer):
    sub = make(customer)
    with at(date(2026, 1, 15)):
        billing_run()
    subscription_pause(sub, start=date(2026, 2, 1), actor=SYS)
    with at(date(2026, 4, 10)):
        assert billing_run().issued == 0  # paused: nothing billed, nothing recorded yet
        subscription_resume(sub, on=date(2026, 4, 1), actor=SYS)
        summary = billing_run()
    assert (summary.issued, summary.skipped) == (1, 2)
    skipped = BilledPeriod.objects.filter(outcome="skipped").order_by("start")
    assert [p.start for p in skipped] == [date(2026, 2, 1), date(2026, 3, 1)]
    assert all(p.reason == "paused" for p in skipped)
    assert Invoice.objects.order_by("-sequence").first().period_start == date(2026, 4, 1)


def test_cancel_at_period_end_and_now(customer):
    sub = make(customer)
    with at(date(2026, 1, 20)):
        billing_run()
        subscription_cancel(sub, actor=SYS)
    sub.refresh_from_db()
    assert (sub.cancelled_from, sub.status) == (date(2026, 2, 1), "cancelled")
    with at(date(2026, 6, 1)):
        assert billing_run().issued == 0
    other = make(customer, anchor=date(2026, 3, 1))
    subscription_cancel(other, actor=SYS, at_period_end=False, on=date(2026, 3, 1))
    other.refresh_from_db()
    assert other.next_billing_date is None


def test_change_inside_current_period_splits_the_line(customer):
    sub = make(customer, timing="arrears", anchor=date(2026, 4, 1))
    subscription_change(sub.lines.get(), effective=date(2026, 4, 21), quantity=D(5), actor=SYS)
    with at(date(2026, 5, 1)):
        billing_run()
    lines = list(Invoice.objects.get().lines.order_by("position"))
    assert [(line.quantity, line.unit_price) for line in lines] == [
        (D(3), D("6.666667")), (D(5), D("3.333333")),
    ]  # fmt: skip
    assert "prorata 20/30 j" in lines[0].description
    assert Invoice.objects.get().total_net == D("36.67")  # 20.00 + 16.67


def test_change_inside_billed_period_adjusts_next_invoice_once(customer):
    sub = make(customer, anchor=date(2026, 4, 1))  # in advance
    with at(date(2026, 4, 1)):
        billing_run()  # April billed for 3 seats
    subscription_change(sub.lines.get(), effective=date(2026, 4, 21), quantity=D(5), actor=SYS)
    with at(date(2026, 5, 1)):
        billing_run()
    may = Invoice.objects.order_by("-sequence").first()
    lines = list(may.lines.order_by("position"))
    assert [(line.quantity, line.unit_price) for line in lines] == [
        (D(5), D(10)), (D(1), D("6.666667")),  # May at 5 seats + 10 days of 2 more seats
    ]  # fmt: skip
    assert lines[1].description.startswith("Ajustement")
    with at(date(2026, 6, 1)):
        billing_run()
    june = Invoice.objects.order_by("-sequence").first()
    assert june.lines.count() == 1  # adjusted once only


def test_pause_refused_over_billed_periods(customer):
    sub = make(customer)
    with at(date(2026, 3, 1)):
        billing_run()
    with pytest.raises(NotAllowed):
        subscription_pause(sub, start=date(2026, 2, 1), actor=SYS)


def test_change_adjusted_once_when_catching_up_several_periods(customer):
    sub = make(customer, anchor=date(2026, 4, 1))
    with at(date(2026, 4, 1)):
        billing_run()  # April billed for 3 seats
    subscription_change(sub.lines.get(), effective=date(2026, 4, 21), quantity=D(5), actor=SYS)
    with at(date(2026, 6, 1)):
        billing_run()  # May and June in one catch-up run
    may, june = Invoice.objects.order_by("sequence")[1:]
    assert may.lines.count() == 2  # May + the April adjustment
    assert june.lines.count() == 1
    assert june.total_net == D("50.00")


def test_cancel_now_with_prorated_credit_note(customer):
    sub = make(customer, anchor=date(2026, 4, 1))  # 3 × 10 € per month, in advance
    with at(date(2026, 4, 1)):
        billing_run()
    with at(date(2026, 4, 21)):
        subscription_cancel(sub, actor=SYS, at_period_end=False, credit=True)
    april = Invoice.objects.get(doc_type="invoice")
    note = Invoice.objects.get(doc_type="credit_note")
    assert note.corrects_id == april.pk
    assert note.total_net == D("10.00")  # 10 of 30 days of 30 €
    april.refresh_from_db()
    assert april.balance == april.total_gross - note.total_gross
    sub.refresh_from_db()
    assert (sub.status, sub.cancelled_from) == ("cancelled", date(2026, 4, 21))
