"""A customer's statement of account: every movement that changes what it owes, in date
order, with the running balance (a read: no service writes here).

Issued invoices, payment reversals and refunds (money paid back out of the customer's credit)
add to what the customer owes; credit notes and payments take from it. So the last balance
equals `selectors.customer_balance` (what is owed on issued invoices minus the credit on
account): the statement and the balance are two views of the same entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from facturier.billing.models import (
    Customer,
    DocType,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentReversal,
    Refund,
)

INVOICE, CREDIT_NOTE, PAYMENT, REVERSAL, REFUND = (
    "invoice", "credit_note", "payment", "reversal", "refund",
)  # fmt: skip
# Same day: documents first, then money in, then money back.
_ORDER = {INVOICE: 0, CREDIT_NOTE: 1, PAYMENT: 2, REVERSAL: 3, REFUND: 4}


@dataclass(frozen=True)
class Movement:
    day: date
    kind: str  # one of the constants above
    reference: str  # the document's number, the payment's reference...
    debit: Decimal  # adds to what the customer owes
    credit: Decimal  # takes from it
    balance: Decimal  # what the customer owes after this movement (negative: credit)
    object_id: int  # the invoice's or the payment's id (the refund's for a refund)
    note: str = ""


def customer_statement(customer: Customer) -> list[Movement]:
    """Every movement of the customer's account, oldest first, with the running balance."""
    rows: list[tuple[date | None, str, int, str | None, Decimal, Decimal, str]] = []
    docs = Invoice.objects.filter(customer=customer, status=InvoiceStatus.ISSUED).values_list(
        "pk", "doc_type", "issue_date", "number", "total_gross"
    )
    for pk, doc_type, day, number, total in docs:
        if doc_type == DocType.INVOICE:
            rows.append((day, INVOICE, pk, number, total, Decimal(0), ""))
        else:
            rows.append((day, CREDIT_NOTE, pk, number, Decimal(0), total, ""))
    payments = Payment.objects.filter(customer=customer).values_list(
        "pk", "received_on", "reference", "amount", "method"
    )
    for pk, day, reference, amount, method in payments:
        rows.append((day, PAYMENT, pk, reference, Decimal(0), amount, method))
    reversals = PaymentReversal.objects.filter(payment__customer=customer).values_list(
        "payment_id", "reversed_on", "payment__reference", "amount", "reason"
    )
    for pk, day, reference, amount, reason in reversals:
        rows.append((day, REVERSAL, pk, reference, amount, Decimal(0), reason))
    refunds = Refund.objects.filter(customer=customer).values_list(
        "pk", "refunded_on", "reference", "amount", "method"
    )
    for pk, day, reference, amount, method in refunds:
        rows.append((day, REFUND, pk, reference, amount, Decimal(0), method))
    # An issued document always has its issue date (only drafts have none).
    rows.sort(key=lambda r: (r[0] or date.min, _ORDER[r[1]], r[2]))
    out, balance = [], Decimal(0)
    for when, kind, pk, ref, debit, credit, note in rows:
        balance += debit - credit
        out.append(Movement(when or date.min, kind, ref or "", debit, credit, balance, pk, note))
    return out
