"""Dashboard figures from the database (facturier.billing.kpis), with exact values."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from facturier.billing import cash_projection, kpis
from facturier.billing.models import Company, Customer, Invoice
from facturier.billing.services import (
    LineData,
    invoice_create,
    invoice_issue,
    payment_record,
    user_create,
)
from facturier.billing.services.actors import Actor
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.parties import customer_update
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_cancel,
    subscription_change,
    subscription_create,
)
from facturier.core.kpis import month_starts
from tests.actors import SYS

TODAY = date(2026, 11, 28)
PARIS = ZoneInfo("Europe/Paris")


def at(day: date) -> Any:
    return time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=PARIS), tick=False)


@pytest.fixture
def today() -> Iterator[date]:
    with at(TODAY):
        yield TODAY


def _sub(
    customer: Customer,
    name: str,
    unit: str,
    anchor: date,
    *lines: SubscriptionLineData,
    **options: Any,
) -> Any:
    return subscription_create(
        customer=customer,
        name=name,
        lines=list(lines),
        frequency_unit=unit,
        anchor=anchor,
        actor=Actor.system("test"),
        **options,
    )


def line(price: str, quantity: str = "1", mode: str = "fixed") -> SubscriptionLineData:
    return SubscriptionLineData(
        description="x", quantity=Decimal(quantity), unit_price=Decimal(price), mode=mode
    )


@pytest.fixture
def subscriptions(customer: Customer, today: date) -> None:
    hosting = _sub(customer, "A", "month", date(2026, 9, 1), line("49.90", "2"))
    subscription_change(
        hosting.lines.get(), effective=date(2026, 11, 1), actor=SYS, unit_price=Decimal("59.90")
    )
    # A price change not yet in effect on TODAY: not in the MRR.
    subscription_change(
        hosting.lines.get(), effective=date(2027, 1, 1), actor=SYS, unit_price=Decimal("99.00")
    )
    _sub(customer, "B", "year", date(2026, 1, 15), line("1200"))
    _sub(customer, "C", "week", date(2026, 10, 5), line("10"), line("3", mode="metered"))
    _sub(customer, "D", "month", date(2027, 1, 1), line("500"))  # starts later
    old = _sub(customer, "E", "month", date(2026, 3, 1), line("30"))
    subscription_cancel(old, actor=SYS, at_period_end=False, on=date(2026, 6, 1))


@pytest.mark.django_db
def test_current_mrr(company: Company, subscriptions: None, today: date) -> None:
    # 2 × 59.90 + 1200 / 12 + 10 × 52 / 12 = 119.80 + 100 + 43.333… = 263.13
    assert kpis.current_mrr(company, today=today) == Decimal("263.13")


@pytest.mark.django_db
def test_mrr_history(company: Company, subscriptions: None, today: date) -> None:
    months = month_starts(today, back=11)  # Dec 2025 … Nov 2026
    history = dict(
        zip(
            [f"{m:%Y-%m}" for m in months],
            kpis.mrr_history(company, months, today=today),
            strict=True,
        )
    )
    assert history["2025-12"] == Decimal("0.00")
    assert history["2026-01"] == Decimal("100.00")  # B from 15 January
    assert history["2026-03"] == Decimal("130.00")  # + E (30) from 1 March
    assert history["2026-05"] == Decimal("130.00")
    assert history["2026-06"] == Decimal("100.00")  # E cancelled from 1 June
    assert history["2026-09"] == Decimal("219.80")  # + A at today's price
    assert history["2026-10"] == Decimal("263.13")  # + C from 5 October
    assert history["2026-11"] == Decimal("263.13")


def _issue(customer: Customer, on: date, amount: str) -> Invoice:
    with at(on):
        draft = invoice_create(
            actor=SYS,
            company=customer.company,
            customer=customer,
            lines=[
                LineData(
                    description="S",
                    quantity=Decimal(1),
                    unit_price=Decimal(amount),
                    vat_code="FR-20",
                )
            ],
        )
        return invoice_issue(draft, actor=SYS)


@pytest.mark.django_db
def test_receivables_ageing_dso_and_monthly_series(company: Company, customer: Customer) -> None:
    _issue(customer, date(2026, 7, 1), "100")  # due 31/07: 120 days late
    _issue(customer, date(2026, 9, 15), "50")  # due 15/10: 44 days late
    late = _issue(customer, date(2026, 10, 20), "200")  # due 19/11: 9 days late
    _issue(customer, TODAY, "10")  # not yet due
    with at(TODAY):
        payment_record(
            customer=customer,
            amount=Decimal("40.00"),
            received_on=TODAY,
            method="transfer",
            allocations=[(late, Decimal("40.00"))],
            actor=SYS,
        )
        figures = kpis.dashboard_figures(company, today=TODAY)
    # Amounts incl. 20 % VAT.
    assert figures.ageing.not_due == Decimal("12.00")
    assert figures.ageing.buckets == {
        "0-30": Decimal("200.00"),
        "31-60": Decimal("60.00"),
        "61-90": Decimal("0.00"),
        "90+": Decimal("120.00"),
    }
    assert figures.ageing.outstanding == Decimal("392.00")
    # Invoiced over the last 90 days (from 31/08): 60 + 240 + 12 = 312 → 392 / 312 × 90.
    assert figures.dso == Decimal("113.1")
    assert figures.invoiced_this_month == Decimal("12.00")
    assert figures.collected_this_month == Decimal("40.00")
    by_month = dict(
        zip([f"{m:%m}" for m in figures.months], figures.invoiced_per_month, strict=True)
    )
    assert (by_month["07"], by_month["09"], by_month["10"]) == (
        Decimal("120.00"),
        Decimal("60.00"),
        Decimal("240.00"),
    )


@pytest.mark.django_db
def test_sales_rep_sees_only_own_customers(
    company: Company, customer: Customer, consumer: Customer, subscriptions: None
) -> None:
    rep = user_create(company=company, username="rep", password="Long-enough-1", role="sales")
    customer_update(consumer, sales_rep=rep)
    _issue(consumer, date(2026, 11, 2), "100")
    _issue(customer, date(2026, 11, 2), "999")
    with at(TODAY):
        mine = kpis.dashboard_figures(company, today=TODAY, sales_rep=rep)
        everyone = kpis.dashboard_figures(company, today=TODAY)
    assert mine.mrr == Decimal("0.00") and everyone.mrr == Decimal("263.13")
    assert mine.ageing.outstanding == Decimal("120.00")
    assert everyone.ageing.outstanding == Decimal("1318.80")


@pytest.mark.django_db
def test_cash_expected(company: Company, customer: Customer, subscriptions: None) -> None:
    _issue(customer, date(2026, 7, 1), "100")  # overdue: expected this month
    with at(TODAY):
        cash = cash_projection.cash_expected(company, today=TODAY, months=3)
    assert len(cash) == 3
    assert cash[0] >= Decimal("120.00")
    # Forecast invoices of the next months arrive at their due dates (issue + 30 days).
    assert cash[1] > 0 and cash[2] > 0


@pytest.mark.django_db
def test_empty_company(company: Company) -> None:
    figures = kpis.dashboard_figures(company, today=TODAY)
    assert figures.mrr == Decimal("0.00") and figures.dso is None
    assert figures.drafts == 0 and figures.next_billing_date is None
    assert figures.mrr_history == [Decimal("0.00")] * 12


@pytest.mark.django_db
def test_a_subscription_finished_after_its_invoices_leaves_the_history(
    company: Company, customer: Customer
) -> None:
    with at(TODAY):
        sub = _sub(customer, "F", "month", date(2026, 6, 1), line("80"), end_kind="count",
                   end_count=2)  # fmt: skip
        billing_run(as_of=TODAY, company=company)
        sub.refresh_from_db()
        assert sub.status == "finished"
        months = month_starts(TODAY, back=11)
        history = kpis.mrr_history(company, months, today=TODAY)
        assert kpis.current_mrr(company, today=TODAY) == Decimal("0.00")
    by_month = dict(zip([f"{m:%m}" for m in months], history, strict=True))
    assert (by_month["05"], by_month["06"], by_month["07"], by_month["08"]) == (
        Decimal("0.00"), Decimal("80.00"), Decimal("80.00"), Decimal("0.00"),
    )  # fmt: skip
