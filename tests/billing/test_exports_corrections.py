"""The payments CSV shows reversals and refunds so that it balances, and the sales journal
still balances once payments were reversed, moved and refunded."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from facturier.billing import exports
from facturier.billing.selectors import customer_credit
from facturier.billing.services import (
    credit_note_create,
    credit_refund,
    invoice_issue,
    payment_reallocate,
    payment_record,
    payment_reverse,
)
from tests.actors import SYS

D = Decimal


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(datetime(2026, 11, 28, 10, tzinfo=UTC), tick=False):
        yield


def _amount(text: str) -> Decimal:
    return D(text.replace(",", "."))


@pytest.fixture
def corrected(company: Any, customer: Any, make_draft: Any) -> dict[str, Any]:
    a, b, c = (invoice_issue(make_draft(), actor=SYS) for _ in range(3))  # 120.00 each
    bounced = payment_record(customer=customer, amount=D("150"), received_on=date(2026, 11, 2),
                             method="cheque", reference="CHQ 1", actor=SYS)  # fmt: skip
    kept = payment_record(customer=customer, amount=D("200"), received_on=date(2026, 11, 10),
                          method="transfer", reference="VIR 2", allocations=[(c, D("120"))],
                          actor=SYS)  # fmt: skip
    payment_reverse(bounced, reversed_on=date(2026, 11, 20), reason="Chèque impayé", actor=SYS)
    payment_reallocate(kept, release=[(c, D("20"))], allocate=[(a, D("20"))], actor=SYS)
    credit_refund(customer=customer, amount=D("30"), refunded_on=date(2026, 11, 25),
                  method="transfer", reference="REMB", actor=SYS)  # fmt: skip
    credit_note_create(b, actor=SYS, reason="Annulée")
    return {"a": a, "b": b, "c": c}


def test_the_payments_csv_shows_reversals_and_refunds_and_balances(
    company: Any, customer: Any, corrected: dict[str, Any]
) -> None:
    period = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}
    rows = exports.payment_rows(
        exports.payments_for(company, **period),
        reversals=exports.reversals_for(company, **period),
        refunds=exports.refunds_for(company, **period),
    )
    text = "".join(exports.csv_lines(rows))
    table = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert table[0] == exports.PAYMENT_HEADER
    records = [dict(zip(table[0], row, strict=True)) for row in table[1:]]
    a, c = corrected["a"], corrected["c"]
    picked = ["received_on", "amount", "allocated", "unallocated", "invoices", "entry", "note"]
    assert [[r[k] for k in picked] for r in records] == [
        ["02/11/2026", "150,00", "0,00", "150,00", "", "payment", ""],
        ["10/11/2026", "200,00", "120,00", "80,00", f"{a.number} {c.number}", "payment", ""],
        ["20/11/2026", "-150,00", "0,00", "-150,00", "", "reversal", "Chèque impayé"],
        ["25/11/2026", "-30,00", "0,00", "-30,00", "", "refund", ""],
    ]
    for r in records:  # each row: amount = allocated + unallocated
        assert _amount(r["amount"]) == _amount(r["allocated"]) + _amount(r["unallocated"])
    # The money kept, and what stays on the customer's account, add up from the file.
    assert sum(_amount(r["amount"]) for r in records) == D("170.00")
    assert sum(_amount(r["unallocated"]) for r in records) == customer_credit(customer)
    assert customer_credit(customer) == D("50.00")


def test_the_sales_journal_still_balances(company: Any, corrected: dict[str, Any]) -> None:
    entries = list(
        exports.journal_entries(company, start=date(2026, 11, 1), end=date(2026, 11, 30))
    )
    assert len(entries) == 4  # three invoices and the credit note; payments are not sales
    assert all(entry.balance == 0 for entry in entries)
    debits = credits = D(0)
    for row in list(exports.journal_rows(entries))[1:]:
        debits += _amount(row[11])
        credits += _amount(row[12])
    assert debits == credits == D("480.00")
