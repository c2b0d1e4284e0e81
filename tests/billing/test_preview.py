"""The subscription form's live preview: dates and amounts of the first invoices, no writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from facturier.billing.models import Invoice, Subscription, SubscriptionLine
from facturier.billing.preview import subscription_preview
from facturier.billing.services import InvalidInput
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from tests.actors import SYS

D = Decimal
TODAY = date(2026, 11, 28)
HOSTING = SubscriptionLineData(description="Hébergement", quantity=D(2), unit_price=D("49.90"))


def _preview(customer, lines=(HOSTING,), **kwargs):
    kwargs.setdefault("frequency_unit", "month")
    kwargs.setdefault("anchor", date(2027, 1, 31))
    return subscription_preview(customer=customer, lines=list(lines), today=TODAY, **kwargs)


def test_monthly_from_the_31st_six_invoices(customer):
    items = _preview(customer)
    assert [i.billing_date for i in items] == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31),
        date(2027, 4, 30), date(2027, 5, 31), date(2027, 6, 30),
    ]  # fmt: skip
    assert items[0].period_end == date(2027, 2, 27)
    assert {(i.net, i.vat, i.gross) for i in items} == {(D("99.80"), D("19.96"), D("119.76"))}
    assert not any(i.prorated or i.metered or i.to_confirm for i in items)
    assert not Subscription.objects.exists()
    assert not SubscriptionLine.objects.exists()


def test_stub_end_count_and_arrears(customer):
    one = SubscriptionLineData(description="Service", quantity=D(1), unit_price=D(100))
    items = _preview(
        customer, [one], anchor=date(2027, 2, 1), start=date(2027, 1, 15),
        end_kind="count", end_count=3, timing="arrears",
    )  # fmt: skip
    assert [(i.period_start, i.period_end, i.billing_date) for i in items] == [
        (date(2027, 1, 15), date(2027, 1, 31), date(2027, 2, 1)),
        (date(2027, 2, 1), date(2027, 2, 28), date(2027, 3, 1)),
        (date(2027, 3, 1), date(2027, 3, 31), date(2027, 4, 1)),
    ]
    assert items[0].prorated and items[0].net == D("54.84")  # 100 × 17/31
    assert items[1].net == D("100.00")


def test_until_date_prorates_the_last_period(customer):
    one = SubscriptionLineData(description="Service", quantity=D(1), unit_price=D(300))
    items = _preview(
        customer, [one], anchor=date(2027, 1, 1), frequency_unit="month", interval=3,
        end_kind="until", end_date=date(2027, 5, 15), prorate_last=True, days_before=10,
    )  # fmt: skip
    assert [(i.billing_date, i.period_end, i.net) for i in items] == [
        (date(2026, 12, 22), date(2027, 3, 31), D("300.00")),
        (date(2027, 3, 22), date(2027, 5, 15), D("148.35")),  # 300 × 45/91
    ]


def test_past_periods_are_issued_by_the_next_run(customer):
    items = _preview(customer, anchor=date(2026, 9, 1), frequency_unit="month")
    assert [i.issue_on for i in items[:4]] == [TODAY, TODAY, TODAY, date(2026, 12, 1)]
    assert items[0].billing_date == date(2026, 9, 1)


def test_semi_monthly_weekly_and_yearly(customer):
    twice = _preview(customer, frequency_unit="semi_monthly", anchor=date(2027, 1, 1))
    assert [i.billing_date.day for i in twice] == [1, 15, 1, 15, 1, 15]
    weekly = _preview(customer, frequency_unit="week", interval=2, anchor=date(2027, 1, 4))
    assert weekly[1].billing_date == date(2027, 1, 18)
    yearly = _preview(customer, frequency_unit="year", anchor=date(2028, 2, 29))
    assert yearly[1].billing_date == date(2029, 2, 28)


def test_metered_and_to_confirm_flags(customer):
    metered = SubscriptionLineData(description="Appels", quantity=D(0), unit_price=D("0.01"),
                                   mode="metered")  # fmt: skip
    confirm = SubscriptionLineData(description="Heures", quantity=D(3), unit_price=D(80),
                                   mode="to_confirm", vat_code="FR-10")  # fmt: skip
    items = _preview(customer, [HOSTING, metered, confirm])
    assert all(i.metered and i.to_confirm for i in items)
    # 99.80 + 240.00 net; VAT 19.96 + 24.00; the usage is not known yet.
    assert (items[0].net, items[0].vat) == (D("339.80"), D("43.96"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lines": []}, "lines"),
        ({"end_kind": "count"}, "end_count"),
        ({"end_kind": "until", "end_date": date(2026, 1, 1)}, "end_date"),
        ({"frequency_unit": "semi_monthly", "semi_monthly_day1": 20, "semi_monthly_day2": 10},
         "semi_monthly_day1"),
        ({"interval": 0}, "interval"),
        ({"frequency_unit": "fortnight"}, "frequency_unit"),
        ({"start": date(2026, 1, 1)}, "start"),
        ({"end_kind": "sometime"}, "end_kind"),
        ({"lines": [SubscriptionLineData(description="x", unit_price=D(-1))]},
         "lines[1].unit_price"),
        ({"lines": [SubscriptionLineData(description="", unit_price=D(1))]},
         "lines[1].description"),
        ({"lines": [SubscriptionLineData(description="x", quantity=D("1.00001"),
                                         unit_price=D(1))]}, "lines[1].quantity"),
        ({"lines": [SubscriptionLineData(description="x", unit_price=D(1), mode="odd")]},
         "lines[1].mode"),
        ({"colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_refusals_name_the_field(customer, kwargs, field):
    with pytest.raises(InvalidInput) as caught:
        _preview(customer, **kwargs)
    assert caught.value.field == field
    assert not Subscription.objects.exists()


def test_the_billing_run_issues_what_the_preview_shows(customer, company):
    lines = [
        HOSTING,
        SubscriptionLineData(description="Support", quantity=D(1), unit_price=D("15.50"),
                             vat_code="FR-10", discount_percent=D(10)),
    ]  # fmt: skip
    options = {"frequency_unit": "month", "anchor": date(2026, 6, 30), "start": date(2026, 6, 10)}
    shown = subscription_preview(customer=customer, lines=lines, today=TODAY, **options)
    subscription_create(customer=customer, name="Pack", lines=lines, actor=SYS, **options)
    billing_run(as_of=date(2026, 11, 30), company=company)
    issued = Invoice.objects.filter(subscription__isnull=False).order_by("period_start")[:6]
    assert issued[0].total_net == D("73.39")  # stub 10-29 June, 20/31 d: 64.39 + 9.00
    assert [(i.period_start, i.period_end, i.total_net, i.total_vat) for i in issued] == [
        (s.period_start, s.period_end, s.net, s.vat) for s in shown
    ]


def test_twice_a_month_from_the_4th_previews_the_stub(customer):
    """What the user typed (the 4th) is what the first invoice covers, prorated by days."""
    items = _preview(customer, frequency_unit="semi_monthly", anchor=date(2027, 1, 4))
    first, second = items[:2]
    assert (first.period_start, first.period_end, first.prorated) == (
        date(2027, 1, 4), date(2027, 1, 14), True,
    )  # fmt: skip
    assert (second.period_start, second.period_end, second.prorated) == (
        date(2027, 1, 15), date(2027, 1, 31), False,
    )  # fmt: skip
