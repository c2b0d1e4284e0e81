"""The billing run: exactly once, catch-up, drafts to confirm, failures isolated, dry run."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from facturier.billing.models import (
    BilledPeriod,
    BillingRun,
    Invoice,
    OutboxMessage,
    RunItem,
    SeriesCounter,
)
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    draft_confirm,
    subscription_create,
)
from tests.actors import SYS

D = Decimal


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 9, tzinfo=UTC), tick=False)


@pytest.fixture
def monthly(customer):
    return subscription_create(
        customer=customer, name="Hébergement", actor=SYS, frequency_unit="month",
        anchor=date(2026, 1, 31),
        lines=[SubscriptionLineData(description="Hébergement", unit_price=D("100.00"))],
    )  # fmt: skip


def test_run_twice_bills_once(monthly):
    with at(date(2026, 1, 31)):
        first = billing_run()
        second = billing_run()
    assert (first.issued, second.issued) == (1, 0)
    inv = Invoice.objects.get()
    assert (inv.number, inv.period_start, inv.period_end) == (
        "F2026-00001",
        date(2026, 1, 31),
        date(2026, 2, 27),
    )
    assert inv.subscription_id == monthly.pk
    assert inv.total_gross == D("120.00")
    monthly.refresh_from_db()
    assert monthly.next_billing_date == date(2026, 2, 28)


def test_catch_up_after_downtime_issues_today_with_periods(monthly):
    with at(date(2026, 5, 3)):  # nothing ran since January
        summary = billing_run()
    assert summary.issued == 4
    invoices = list(Invoice.objects.order_by("sequence"))
    assert [i.period_start for i in invoices] == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30),
    ]  # fmt: skip
    assert {i.issue_date for i in invoices} == {date(2026, 5, 3)}  # issued today, never back-dated
    assert [i.sequence for i in invoices] == [1, 2, 3, 4]


def test_dry_run_changes_nothing(monthly):
    with at(date(2026, 3, 31)):
        summary = billing_run(dry_run=True)
    assert summary.issued == 3
    assert not Invoice.objects.exists()
    assert not BilledPeriod.objects.exists()
    assert not BillingRun.objects.exists()
    assert not SeriesCounter.objects.filter(last_value__gt=0).exists()


def test_one_failure_does_not_stop_the_others(monthly, consumer, customer):
    other = subscription_create(
        customer=consumer, name="Box", actor=SYS, frequency_unit="month",
        anchor=date(2026, 1, 1), lines=[SubscriptionLineData(description="Box", unit_price=D(10))],
    )  # fmt: skip
    type(customer).objects.filter(pk=customer.pk).update(siren="")  # now unbillable
    with at(date(2026, 2, 1)):
        summary = billing_run()
    assert (summary.issued, summary.failed) == (2, 1)
    failed = RunItem.objects.get(outcome="failed")
    assert failed.subscription_id == monthly.pk
    assert "SIREN" in failed.reason
    assert not BilledPeriod.objects.filter(subscription=monthly).exists()  # retried next run
    assert BilledPeriod.objects.filter(subscription=other).count() == 2
    run = BillingRun.objects.get()
    assert (run.issued, run.failed, run.finished_at is not None) == (2, 1, True)
    # Fixed: the next run bills what failed, nothing twice.
    type(customer).objects.filter(pk=customer.pk).update(siren="443061841")
    with at(date(2026, 2, 1)):
        assert billing_run().issued == 1
    assert Invoice.objects.count() == 3


def test_review_before_issue_keeps_a_draft_and_notifies(customer, company):
    from facturier.billing.services import user_create

    rep = user_create(
        company=company, username="rep", password="x-123456", role="sales", email="rep@x.fr"
    )
    sub = subscription_create(
        customer=customer, name="Audit", actor=SYS, frequency_unit="month",
        anchor=date(2026, 3, 1), review_before_issue=True, sales_rep=rep,
        lines=[SubscriptionLineData(description="Audit", unit_price=D(500))],
    )  # fmt: skip
    with at(date(2026, 3, 1)):
        summary = billing_run()
    assert (summary.issued, summary.drafted) == (0, 1)
    draft = Invoice.objects.get()
    assert draft.number is None  # nothing numbered in advance
    msg = OutboxMessage.objects.get()
    assert msg.payload["to"] == ["rep@x.fr"]
    assert msg.payload["invoice_id"] == draft.pk
    with at(date(2026, 3, 2)):
        issued = draft_confirm(draft, actor=SYS)
    assert issued.number == "F2026-00001"
    assert BilledPeriod.objects.get(subscription=sub).outcome == "invoiced"


def test_to_confirm_line_keeps_draft(customer):
    subscription_create(
        customer=customer, name="Régie", actor=SYS, frequency_unit="month",
        anchor=date(2026, 3, 1),
        lines=[SubscriptionLineData(description="Jours de régie", quantity=D(5),
                                    unit_price=D(600), mode="to_confirm")],
    )  # fmt: skip
    with at(date(2026, 3, 1)):
        assert billing_run().drafted == 1
    assert Invoice.objects.get().status == "draft"


def test_metered_usage_in_arrears_idempotent_and_late_usage_not_lost(customer):
    from facturier.billing.services.subscriptions import usage_record

    sub = subscription_create(
        customer=customer, name="API", actor=SYS, frequency_unit="month",
        anchor=date(2026, 3, 1), timing="arrears",
        lines=[SubscriptionLineData(description="Appels", quantity=D(0),
                                    unit_price=D("0.50"), mode="metered")],
    )  # fmt: skip
    line = sub.lines.get()
    assert usage_record(line, occurred_on=date(2026, 3, 5), quantity=D(10), idempotency_key="a")[1]
    assert not usage_record(
        line, occurred_on=date(2026, 3, 5), quantity=D(10), idempotency_key="a"
    )[1]
    usage_record(line, occurred_on=date(2026, 3, 20), quantity=D(30), idempotency_key="b")
    with at(date(2026, 4, 1)):
        billing_run()
    first = Invoice.objects.get()
    assert first.lines.get().quantity == D(40)
    assert first.total_net == D("20.00")
    # Usage of March arriving after March was invoiced goes on the next invoice.
    usage_record(line, occurred_on=date(2026, 3, 31), quantity=D(4), idempotency_key="late")
    usage_record(line, occurred_on=date(2026, 4, 10), quantity=D(6), idempotency_key="c")
    with at(date(2026, 5, 1)):
        billing_run()
    second = Invoice.objects.order_by("-sequence").first()
    assert second.lines.get().quantity == D(10)


def test_ended_subscription_finishes(customer):
    sub = subscription_create(
        customer=customer, name="3 mois", actor=SYS, frequency_unit="month",
        anchor=date(2026, 1, 1), end_kind="count", end_count=3,
        lines=[SubscriptionLineData(description="x", unit_price=D(10))],
    )  # fmt: skip
    with at(date(2026, 12, 1)):
        assert billing_run().issued == 3
    sub.refresh_from_db()
    assert (sub.status, sub.next_billing_date) == ("finished", None)


def test_twice_a_month_from_the_4th_bills_the_stub_then_the_halves(customer):
    """Days 1 and 15, service from the 4th: the 4th-14th is billed (11 of 14 days), then
    every half-month; no day from the start is left unbilled."""
    with at(date(2026, 12, 4)):
        sub = subscription_create(
            customer=customer, name="Ménage", actor=SYS, frequency_unit="semi_monthly",
            anchor=date(2026, 12, 4),
            lines=[SubscriptionLineData(description="Ménage", unit_price=D("140.00"))],
        )  # fmt: skip
        assert sub.next_billing_date == date(2026, 12, 4)
        assert billing_run().issued == 1
    with at(date(2026, 12, 15)):
        assert billing_run().issued == 1
    stub, half = Invoice.objects.filter(subscription=sub).order_by("period_start")
    assert (stub.period_start, stub.period_end, stub.total_net) == (
        date(2026, 12, 4), date(2026, 12, 14), D("110.00"),
    )  # fmt: skip
    line = stub.lines.get()
    assert (line.unit_price, line.description) == (D("110.000000"), "Ménage (prorata 11/14 j)")
    assert (half.period_start, half.period_end, half.total_net) == (
        date(2026, 12, 15), date(2026, 12, 31), D("140.00"),
    )  # fmt: skip
    assert list(BilledPeriod.objects.filter(subscription=sub).values_list("index", "start")) == [
        (-1, date(2026, 12, 4)), (0, date(2026, 12, 15)),
    ]  # fmt: skip


def test_catch_up_bills_each_usage_record_once(customer):
    """Two periods caught up by one run: the usage of January goes on February's invoice
    (in advance, usage is billed with the next period), not on March's as well."""
    sub = subscription_create(
        customer=customer, name="Téléphonie", actor=SYS, frequency_unit="month",
        anchor=date(2026, 1, 1),
        lines=[SubscriptionLineData(description="Ligne", unit_price=D("10.00")),
               SubscriptionLineData(description="Appels", unit_price=D("0.10"), mode="metered")],
    )  # fmt: skip
    from facturier.billing.services.subscriptions import usage_record

    with at(date(2026, 1, 1)):
        billing_run()
    with at(date(2026, 1, 20)):
        usage_record(sub.lines.get(position=2), occurred_on=date(2026, 1, 20),
                     quantity=D(50), idempotency_key="jan")  # fmt: skip
    with at(date(2026, 3, 1)):
        assert billing_run().issued == 2
    totals = Invoice.objects.filter(subscription=sub).order_by("period_start")
    assert [i.total_net for i in totals] == [D("10.00"), D("15.00"), D("10.00")]
