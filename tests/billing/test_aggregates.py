"""Sums of amounts are exact on every database (SQLite adds decimals as binary floats)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import time_machine

from facturier.billing import exports
from facturier.billing.models import Customer, Invoice
from facturier.billing.selectors import customer_balance, customer_credit
from facturier.billing.services import LineData, invoice_issue, payment_record
from facturier.web.views.customers import with_balance
from facturier.web.views.invoices import list_totals
from tests.actors import SYS

NOV = datetime(2026, 11, 28, 10, tzinfo=UTC)
# 0.1 + 0.2 - 0.3 + 0.01 is 0.010000000000000052 in binary floating point.
PRICES = [(D(1), D("0.10")), (D(1), D("0.20")), (D(-1), D("0.30")), (D(1), D("0.01"))]


def _issued(make_draft) -> Invoice:
    lines = [
        LineData(description=f"l{i}", quantity=q, unit_price=p, vat_code="FR-20")
        for i, (q, p) in enumerate(PRICES)
    ]
    with time_machine.travel(NOV, tick=False):
        return invoice_issue(make_draft(lines), actor=SYS)


def test_journal_entry_of_lines_that_cancel_is_exact(company, make_draft):
    invoice = _issued(make_draft)
    assert invoice.total_net == D("0.01")
    (entry,) = exports.journal_entries(company, start=date(2026, 11, 1), end=date(2026, 11, 30))
    revenue = entry.lines[1].amount
    assert revenue == D("-0.01") and str(revenue) == "-0.01"
    assert entry.balance == 0


def test_balances_and_list_totals_are_exact(company, customer, make_draft):
    invoices = [_issued(make_draft) for _ in range(3)]  # 3 × 0.01 € net, 0.01 € gross each
    for amount in ("0.10", "0.20"):
        payment_record(customer=customer, amount=D(amount), received_on=date(2026, 11, 28),
                       method="transfer", allocations=[], actor=SYS)  # fmt: skip
    gross = sum(i.total_gross for i in invoices)
    assert customer_credit(customer) == D("0.30")
    assert customer_balance(customer) == gross - D("0.30")
    row = with_balance(Customer.objects.filter(pk=customer.pk)).get()
    assert str(row.balance) == str(gross - D("0.30"))
    totals = list_totals(Invoice.objects.filter(company=company))
    assert str(totals["net"]) == "0.03"
    assert str(totals["balance"]) == str(gross)
