"""Reads of the billing app: lists and figures for the CLI, the web UI and the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    Company,
    Customer,
    Invoice,
    Payment,
    PaymentAllocation,
    PaymentReversal,
    Refund,
)


def invoices_list(
    *,
    company: Company | None = None,
    status: str | None = None,
    doc_type: str | None = None,
    customer: Customer | None = None,
) -> QuerySet[Invoice]:
    qs = Invoice.objects.select_related("customer", "company")
    if company is not None:
        qs = qs.filter(company=company)
    if status:
        qs = qs.filter(status=status)
    if doc_type:
        qs = qs.filter(doc_type=doc_type)
    if customer is not None:
        qs = qs.filter(customer=customer)
    # Issued documents in number order, then drafts by creation.
    return qs.order_by("company_id", "-status", "issue_date", "series_id", "sequence", "pk")


def invoice_by_number(number: str, *, company: Company | None = None) -> Invoice | None:
    qs = Invoice.objects.filter(number=number)
    if company is not None:
        qs = qs.filter(company=company)
    return qs.select_related("customer", "company").first()


def customer_credit(customer: Customer) -> Decimal:
    """What the customer paid and is not yet allocated: kept on account, never lost.

    Σ payments − Σ allocation entries (releases count negative) − Σ reversals − Σ refunds."""

    def total(qs: Any) -> Decimal:
        return qs.aggregate(s=exact_sum("amount"))["s"] or Decimal(0)

    return (
        total(Payment.objects.filter(customer=customer))
        - total(PaymentAllocation.objects.filter(payment__customer=customer))
        - total(PaymentReversal.objects.filter(payment__customer=customer))
        - total(Refund.objects.filter(customer=customer))
    )


def customer_balance(customer: Customer) -> Decimal:
    """Outstanding on issued invoices (Σ balances) minus the customer's credit."""
    issued = Invoice.objects.filter(customer=customer, status="issued", doc_type="invoice")
    totals = issued.aggregate(t=exact_sum("total_gross"), s=exact_sum("settled_amount"))
    owed = (totals["t"] or Decimal(0)) - (totals["s"] or Decimal(0))
    return owed - customer_credit(customer)
