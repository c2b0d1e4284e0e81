"""The dashboard's fast cash projection agrees with the exact forecast on what it models."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from facturier.billing.cash_projection import future_invoices
from facturier.billing.forecast import forecast
from facturier.billing.models import Company, Customer
from facturier.billing.services.parties import customer_update
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_cancel,
    subscription_create,
)
from facturier.core import kpis
from tests.actors import SYS
from tests.billing.test_kpis import TODAY, at

MONTHS = 6


def _sub(customer: Customer, unit: str, anchor: date, *prices: tuple[str, str], **kw: Any) -> Any:
    lines = [
        SubscriptionLineData(description="x", unit_price=Decimal(p), vat_code=v) for p, v in prices
    ]
    return subscription_create(
        customer=customer, name="s", lines=lines, frequency_unit=unit, anchor=anchor,
        actor=SYS, **kw,
    )  # fmt: skip


@pytest.mark.django_db
def test_projection_matches_the_forecast(
    company: Company, customer: Customer, consumer: Customer
) -> None:
    customer_update(consumer, payment_terms_days=10)
    with at(TODAY):
        _sub(customer, "month", date(2026, 12, 1), ("49.90", "FR-20"), ("12.34", "FR-10"))
        _sub(customer, "month", date(2026, 10, 1), ("300", "FR-20"), interval=3, timing="arrears")
        _sub(consumer, "week", date(2026, 12, 7), ("19.99", "FR-5.5"))
        _sub(customer, "year", date(2027, 2, 1), ("1200", "FR-0-E"))
        _sub(customer, "month", date(2026, 12, 10), ("80", "FR-20"), end_kind="count", end_count=2)
        _sub(customer, "month", date(2026, 12, 20), ("70", "FR-20"), end_kind="until",
             end_date=date(2027, 3, 19))  # fmt: skip
        _sub(customer, "month", date(2026, 12, 5), ("60", "FR-20"), days_before=7,
             payment_terms_days=45)  # fmt: skip
        ending = _sub(customer, "month", date(2026, 12, 3), ("90", "FR-20"))
        subscription_cancel(ending, actor=SYS, at_period_end=False, on=date(2027, 2, 15))
        _sub(customer, "semi_monthly", date(2026, 12, 1), ("25", "FR-20"))
        exact = forecast(company=company, today=TODAY, months=MONTHS)
        fast = future_invoices(company, today=TODAY, months=MONTHS)

    def terms(item: Any) -> int:
        if item.customer == consumer.legal_name:
            return 10
        return 45 if item.net == Decimal("60.00") else 30

    exact_dues = [(i.on + timedelta(days=terms(i)), i.gross) for i in exact]
    assert kpis.cash_expected([], fast, today=TODAY, months=MONTHS) == kpis.cash_expected(
        [], exact_dues, today=TODAY, months=MONTHS
    )
    # Invoice by invoice too, for those due before the end of the chart (end of April).
    end = date(2027, 5, 1)
    assert sorted(d for d in fast if d[0] < end) == sorted(d for d in exact_dues if d[0] < end)
    assert len([d for d in fast if d[0] < end]) > 40
