"""The forecast: invoices to come, priced like the billing run would, never numbered."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from click.testing import CliRunner

from facturier.billing.forecast import forecast
from facturier.billing.models import Invoice, SeriesCounter
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_change,
    subscription_create,
    subscription_pause,
    usage_record,
)
from facturier.core.forecast import monthly_totals
from tests.actors import SYS

D = Decimal


def test_forecast_months_changes_pauses_and_nothing_numbered(customer, company):
    sub = subscription_create(
        customer=customer, name="Hébergement", actor=SYS, frequency_unit="month",
        anchor=date(2026, 12, 1), end_kind="count", end_count=5,
        lines=[SubscriptionLineData(description="Hébergement", quantity=D(2), unit_price=D(50))],
    )  # fmt: skip
    subscription_change(sub.lines.get(), effective=date(2027, 2, 1), quantity=D(3), actor=SYS)
    subscription_pause(sub, start=date(2027, 3, 1), end=date(2027, 3, 31), actor=SYS)
    items = forecast(company=company, today=date(2026, 11, 28), months=6)
    assert [(i.on, i.net) for i in items] == [
        (date(2026, 12, 1), D("100.00")), (date(2027, 1, 1), D("100.00")),
        (date(2027, 2, 1), D("150.00")), (date(2027, 4, 1), D("150.00")),
        (date(2027, 5, 1), D("150.00")),  # 5 invoices in all: the pause skipped March
    ]  # fmt: skip
    months = monthly_totals(items)
    assert months[0].month == "2026-12" and months[0].gross == D("120.00")
    assert not Invoice.objects.exists()
    assert not SeriesCounter.objects.exists()


def test_metered_estimate_from_recent_usage(customer, company):
    sub = subscription_create(
        customer=customer, name="API", actor=SYS, frequency_unit="month", timing="arrears",
        anchor=date(2026, 11, 1),
        lines=[SubscriptionLineData(description="Appels", quantity=D(0), unit_price=D(1),
                                    mode="metered")],
    )  # fmt: skip
    usage_record(
        sub.lines.get(), occurred_on=date(2026, 11, 10), quantity=D(90), idempotency_key="k"
    )
    [first, *_] = forecast(company=company, today=date(2026, 11, 28), months=1)
    assert first.on == date(2026, 12, 1)
    assert first.estimated
    assert first.net == D("30.00")  # 90 calls / 90 days × 30 days of November


def test_cli_forecast_json(customer, company):
    import json

    from facturier.cli import commands  # noqa: F401
    from facturier.cli.main import cli

    subscription_create(
        customer=customer, name="X", actor=SYS, frequency_unit="month", anchor=date(2026, 12, 1),
        lines=[SubscriptionLineData(description="X", unit_price=D(10))],
    )  # fmt: skip
    out = CliRunner().invoke(cli, ["forecast", "--months", "2", "--as-of", "28/11/2026", "--json"])
    data = json.loads(out.output)
    assert [m["month"] for m in data["months"]] == ["2026-12", "2027-01"]  # to 31/01
    assert data["invoices"][0]["total"] == "12.00"
