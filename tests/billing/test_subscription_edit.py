"""Editing a subscription: what was invoiced never changes; lines and prices change from a
period not billed yet; header fields follow onto drafts; one audit event per edit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from facturier.billing.models import (
    AuditEvent,
    BilledPeriod,
    Invoice,
    ScheduledChange,
    Subscription,
    SubscriptionLine,
)
from facturier.billing.services import InvalidInput, NotAllowed, user_create
from facturier.billing.services.actors import Actor
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.drafts import invoice_update_draft, line_data_of
from facturier.billing.services.subscription_edit import LineChange, subscription_update
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_cancel,
    subscription_create,
    usage_record,
)
from tests.actors import SYS


@pytest.fixture(autouse=True)
def _english():
    """Messages asserted in English (the services speak the active language)."""
    with translation.override("en"):
        yield


D = Decimal
JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 9, tzinfo=UTC), tick=False)


def make(customer, **kw):
    defaults = {
        "name": "Hébergement", "actor": SYS, "frequency_unit": "month", "anchor": JAN,
        "lines": [SubscriptionLineData(description="Hébergement", quantity=D(1),
                                       unit_price=D("100.00"))],
    }  # fmt: skip
    with at(JAN):
        return subscription_create(customer=customer, **{**defaults, **kw})


def nets(sub) -> list[tuple[date, Decimal]]:
    return list(
        Invoice.objects.filter(subscription=sub)
        .order_by("period_start")
        .values_list("period_start", "total_net")
    )


def snapshot(sub) -> tuple:
    """Everything an edit may write, to check that a refusal wrote nothing."""
    fresh = Subscription.objects.get(pk=sub.pk)
    return (
        {f.name: getattr(fresh, f.name) for f in Subscription._meta.concrete_fields},
        list(SubscriptionLine.objects.filter(subscription=sub).values()),
        list(ScheduledChange.objects.filter(line__subscription=sub).values()),
        list(Invoice.objects.filter(subscription=sub).values("customer_po", "total_net")),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def billed_jan(customer):
    """Billed for January (issued); February not billed yet."""
    sub = make(customer)
    with at(JAN):
        billing_run()
    return sub


def test_add_a_line_from_the_next_period_leaves_january_as_invoiced(billed_jan):
    support = SubscriptionLineData(description="Support", quantity=D(2), unit_price=D("25.00"))
    with at(date(2026, 1, 20)):
        sub = subscription_update(billed_jan, actor=SYS, effective=FEB, add_lines=[support])
    line = sub.lines.get(position=2)
    assert (line.starts_on, line.ends_on, line.description) == (FEB, None, "Support")
    with at(MAR):
        billing_run()
    assert nets(sub) == [(JAN, D("100.00")), (FEB, D("150.00")), (MAR, D("150.00"))]
    event = AuditEvent.objects.filter(action="subscription.updated").get()
    assert event.data["changes"] == {"line 2": {"before": None, "after": "Support; 2 × 25"}}
    assert event.data["effective"] == "2026-02-01"


def test_remove_a_line_from_a_period_and_add_one_inside_a_period_prorated(billed_jan):
    with at(date(2026, 1, 20)):
        subscription_update(
            billed_jan, actor=SYS, effective=date(2026, 2, 15),
            add_lines=[SubscriptionLineData(description="Option", unit_price=D("28.00"))],
        )  # fmt: skip
        subscription_update(billed_jan, actor=SYS, effective=MAR, remove_lines=[1])
    with at(APR):
        billing_run()
    # February: hosting + 14 of 28 days of the option; from March the option alone.
    assert nets(billed_jan) == [
        (JAN, D("100.00")), (FEB, D("114.00")), (MAR, D("28.00")), (APR, D("28.00")),
    ]  # fmt: skip
    feb = Invoice.objects.get(subscription=billed_jan, period_start=FEB)
    assert [(x.description, x.period_start, x.period_end) for x in feb.lines.all()] == [
        ("Hébergement", FEB, date(2026, 2, 28)),
        ("Option (prorata 14/28 j)", date(2026, 2, 15), date(2026, 2, 28)),
    ]
    assert billed_jan.lines.get(position=1).ends_on == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        # January is invoiced: lines change from February at the earliest.
        ({"effective": date(2026, 1, 15), "remove_lines": [1]}, "effective"),
        ({"effective": date(2026, 1, 15),
          "add_lines": [SubscriptionLineData(description="x", unit_price=D(1))]}, "effective"),
        ({"add_lines": [SubscriptionLineData(description="x", unit_price=D(1))]}, "effective"),
        ({"effective": FEB, "remove_lines": [1]}, "remove_lines"),  # no line left
        ({"effective": FEB, "remove_lines": [7]}, "line[7]"),
        ({"effective": FEB,
          "add_lines": [SubscriptionLineData(description="x", unit_price=D(-1))]},
         "add_lines[1].unit_price"),
        ({"effective": date(2025, 12, 1), "line_changes": [LineChange(1, quantity=D(2))]},
         "effective"),
        ({"effective": FEB, "line_changes": [LineChange(1, quantity=D(-2))]},
         "line[1].quantity"),
        ({"name": "  "}, "name"),
        ({"payment_terms_days": 61}, "payment_terms_days"),
        ({"customer_po": "x" * 51}, "customer_po"),
        ({"end_kind": "count", "end_count": 0}, "end_count"),
        ({"end_kind": "until", "end_date": date(2025, 12, 31)}, "end_date"),
        ({"colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_refusals_name_the_field_and_write_nothing(billed_jan, kw, field):
    before = snapshot(billed_jan)
    with at(date(2026, 1, 20)), pytest.raises(InvalidInput) as err:
        subscription_update(billed_jan, actor=SYS, **kw)
    assert err.value.field == field
    assert snapshot(billed_jan) == before


def test_the_end_rule_cannot_end_before_what_was_billed(billed_jan):
    with at(MAR):
        billing_run()  # January, February, March invoiced
    before = snapshot(billed_jan)
    with at(MAR), pytest.raises(InvalidInput) as err:
        subscription_update(billed_jan, actor=SYS, end_kind="count", end_count=2)
    assert (err.value.field, "3 invoices were already billed" in err.value.message) == (
        "end_count", True,
    )  # fmt: skip
    with at(MAR), pytest.raises(InvalidInput) as err:
        subscription_update(billed_jan, actor=SYS, end_kind="until",
                            end_date=date(2026, 3, 20), prorate_last=True)  # fmt: skip
    assert err.value.field == "end_date"
    assert "end on 31/03/2026 at the earliest" in err.value.message
    assert snapshot(billed_jan) == before
    # Ending with the period already billed (whole) is fine: nothing more is billed.
    with at(MAR):
        sub = subscription_update(billed_jan, actor=SYS, end_kind="until",
                                  end_date=date(2026, 3, 20))  # fmt: skip
    assert (sub.status, sub.next_billing_date) == ("finished", None)


def test_a_finished_subscription_goes_on_when_its_count_grows(customer):
    sub = make(customer, end_kind="count", end_count=1)
    with at(FEB):
        billing_run()
    sub.refresh_from_db()
    assert sub.status == "finished"
    with at(FEB):
        sub = subscription_update(sub, actor=SYS, end_kind="count", end_count=3)
    assert (sub.status, sub.next_billing_date) == ("active", FEB)
    with at(APR):
        billing_run()
    assert [start for start, _net in nets(sub)] == [JAN, FEB, MAR]
    event = AuditEvent.objects.filter(action="subscription.updated").get()
    assert event.data["changes"] == {"end_count": {"before": 1, "after": 3}}


def test_header_fields_follow_onto_drafts_not_edited_by_hand(customer):
    sub = make(customer, review_before_issue=True, customer_po="PO-1", payment_terms_days=30)
    with at(FEB):
        billing_run()  # two drafts, January and February
    jan, feb = Invoice.objects.filter(subscription=sub).order_by("period_start")
    invoice_update_draft(feb, lines=[line_data_of(x) for x in feb.lines.all()], actor=SYS,
                         customer_po="PO-FEB")  # fmt: skip
    with at(FEB):
        subscription_update(sub, actor=SYS, customer_po="PO-2", payment_terms_days=45,
                            name="Hébergement Pro", send_invoices=False)  # fmt: skip
    jan.refresh_from_db()
    feb.refresh_from_db()
    assert (jan.customer_po, jan.payment_terms_days) == ("PO-2", 45)
    assert (feb.customer_po, feb.payment_terms_days) == ("PO-FEB", 45)
    with at(MAR):
        billing_run()
    mar = Invoice.objects.get(subscription=sub, period_start=MAR)
    assert (mar.customer_po, mar.payment_terms_days) == ("PO-2", 45)
    event = AuditEvent.objects.filter(action="subscription.updated").get()
    assert event.data["changes"] == {
        "name": {"before": "Hébergement", "after": "Hébergement Pro"},
        "send_invoices": {"before": True, "after": False},
        "payment_terms_days": {"before": 30, "after": 45},
        "customer_po": {"before": "PO-1", "after": "PO-2"},
    }
    assert event.data["drafts_updated"] == 2


def test_a_price_change_inside_a_billed_period_goes_on_the_next_invoice(billed_jan):
    with at(date(2026, 1, 20)):
        subscription_update(billed_jan, actor=SYS, effective=date(2026, 1, 17),
                            line_changes=[LineChange(1, unit_price=D("131.00"))])  # fmt: skip
    with at(FEB):
        billing_run()
    # 15 of 31 days at 31 € more: 15 €, then February at the new price.
    assert nets(billed_jan) == [(JAN, D("100.00")), (FEB, D("146.00"))]
    event = AuditEvent.objects.filter(action="subscription.updated").get()
    assert event.data["changes"] == {
        "line 1 unit_price": {"before": "100", "after": "131"},
    }


def test_an_edit_that_changes_nothing_writes_nothing(billed_jan):
    before = snapshot(billed_jan)
    with at(date(2026, 1, 20)):
        subscription_update(
            billed_jan,
            actor=SYS,
            name="Hébergement",
            effective=FEB,
            line_changes=[LineChange(1, quantity=D(1), unit_price=D(100))],
        )
    assert snapshot(billed_jan) == before


def test_sales_rep_changing_amounts_puts_it_under_approval_header_does_not(billed_jan, company):
    rep = user_create(company=company, username="sam", password="Ut7!long-enough-pass",
                      role="sales", email="sam@example.com")  # fmt: skip
    actor = Actor.member(rep.membership)
    with at(date(2026, 1, 20)):
        sub = subscription_update(billed_jan, actor=actor, customer_po="PO-9", sales_rep=rep)
        assert not sub.awaiting_approval
        sub = subscription_update(sub, actor=actor, effective=FEB,
                                  line_changes=[LineChange(1, quantity=D(2))])  # fmt: skip
        assert sub.awaiting_approval
    with at(FEB):
        billing_run()
    feb = Invoice.objects.get(subscription=sub, period_start=FEB)
    assert (feb.status, feb.total_net) == ("draft", D("200.00"))
    assert BilledPeriod.objects.get(invoice=feb).reason == "awaiting approval"


def test_a_cancelled_subscription_keeps_its_lines(billed_jan):
    with at(date(2026, 1, 20)):
        subscription_cancel(billed_jan, actor=SYS)
    before = snapshot(billed_jan)
    with at(date(2026, 1, 20)), pytest.raises(NotAllowed):
        subscription_update(billed_jan, actor=SYS, effective=FEB, remove_lines=[1])
    assert snapshot(billed_jan) == before
    with at(date(2026, 1, 20)):
        assert subscription_update(billed_jan, actor=SYS, name="Ancien").name == "Ancien"


def test_a_removed_metered_line_still_bills_its_last_usage(customer):
    """In advance, usage of a period is billed with the next invoice: the line removed from
    March still bills February's usage on March's invoice, and nothing after."""
    sub = make(customer, lines=[
        SubscriptionLineData(description="Hébergement", unit_price=D("100.00")),
        SubscriptionLineData(description="Appels", unit_price=D("0.10"), mode="metered"),
    ])  # fmt: skip
    calls = sub.lines.get(position=2)
    with at(FEB):
        billing_run()
        subscription_update(sub, actor=SYS, effective=MAR, remove_lines=[2])
        usage_record(calls, occurred_on=date(2026, 2, 1), quantity=D(50), idempotency_key="a")
    with at(APR):
        billing_run()
    assert nets(sub) == [(JAN, D("100.00")), (FEB, D("100.00")), (MAR, D("105.00")),
                         (APR, D("100.00"))]  # fmt: skip
    calls.refresh_from_db()
    with at(APR), pytest.raises(InvalidInput) as err:
        usage_record(calls, occurred_on=date(2026, 3, 2), quantity=D(1), idempotency_key="b")
    assert err.value.field == "occurred_on"


def test_the_edit_preview_shows_the_next_invoices_as_edited_and_writes_nothing(billed_jan):
    from facturier.billing.preview import next_invoices, subscription_edit_preview

    before = snapshot(billed_jan)
    support = SubscriptionLineData(description="Support", quantity=D(2), unit_price=D("25.00"))
    with at(date(2026, 1, 20)):
        items = subscription_edit_preview(
            billed_jan, today=date(2026, 1, 20), count=3, effective=MAR, add_lines=[support],
            line_changes=[LineChange(1, quantity=D(2))],
        )  # fmt: skip
    assert [(i.period_start, i.net, i.was, i.issue_on) for i in items] == [
        (FEB, D("100.00"), None, FEB),
        (MAR, D("250.00"), D("100.00"), MAR),
        (APR, D("250.00"), D("100.00"), APR),
    ]
    assert snapshot(billed_jan) == before
    fresh = Subscription.objects.get(pk=billed_jan.pk)
    assert [i.net for i in next_invoices(fresh, today=date(2026, 1, 20), count=2)] == [
        D("100.00"), D("100.00"),
    ]  # fmt: skip
    with pytest.raises(InvalidInput) as err:
        subscription_edit_preview(billed_jan, today=date(2026, 1, 20), effective=JAN,
                                  remove_lines=[1])  # fmt: skip
    assert err.value.field == "effective"


def test_the_migration_keeps_what_twice_a_month_subscriptions_billed(customer):
    """Migration 0016: a twice-a-month subscription from the 4th already billed from the 15th
    (the old schedule) keeps its history (anchor moved to the 15th); one not billed yet gets
    its stub from the 4th (next billing date moved back to it)."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("facturier.billing.migrations.0018_subscription_edit")
    lines = [SubscriptionLineData(description="Ménage", unit_price=D(140))]
    with at(date(2026, 12, 1)):
        billed, waiting = (
            subscription_create(customer=customer, name=name, actor=SYS, lines=lines,
                                frequency_unit="semi_monthly", anchor=date(2026, 12, 4))
            for name in ("billed", "waiting")
        )  # fmt: skip
    BilledPeriod.objects.create(
        subscription=billed, index=0, start=date(2026, 12, 15), end=date(2026, 12, 31),
        billing_date=date(2026, 12, 15), outcome="invoiced",
    )  # fmt: skip
    Subscription.objects.filter(pk=waiting.pk).update(next_billing_date=date(2026, 12, 15))
    migration.semi_monthly_stubs(apps, None)
    billed.refresh_from_db()
    waiting.refresh_from_db()
    assert (billed.anchor, waiting.anchor) == (date(2026, 12, 15), date(2026, 12, 4))
    assert waiting.next_billing_date == date(2026, 12, 4)
    assert migration._next_chosen_day(date(2026, 12, 20), 1, 15) == date(2027, 1, 1)
    assert migration._next_chosen_day(date(2027, 2, 28), 15, 31) == date(2027, 2, 28)
