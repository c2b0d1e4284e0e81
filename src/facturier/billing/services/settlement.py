"""The one writer of an invoice's settlement state (settled_amount, settlement)."""

from __future__ import annotations

from decimal import Decimal

from facturier.billing.aggregates import exact_sum
from facturier.billing.models import Invoice, InvoiceStatus, PaymentAllocation, Settlement


def settlement_state(*, total: Decimal, paid: Decimal, credited: Decimal) -> str:
    """>>> settlement_state(total=Decimal(100), paid=Decimal(0), credited=Decimal(100))
    'cancelled'
    """
    if total > 0 and credited >= total:
        return Settlement.CANCELLED
    if paid + credited >= total:
        return Settlement.PAID
    if paid + credited > 0:
        return Settlement.PARTIAL
    return Settlement.OPEN


def settlement_refresh(invoice_id: int) -> Invoice:
    """Recompute from allocations and issued credit notes (DOMAIN invariant 8):
    balance = total − Σ allocations − Σ credit notes. The caller holds the row lock."""
    invoice = Invoice.objects.get(pk=invoice_id)
    paid = PaymentAllocation.objects.filter(invoice_id=invoice_id).aggregate(s=exact_sum("amount"))[
        "s"
    ] or Decimal(0)
    credited = Invoice.objects.filter(
        corrects_id=invoice_id, status=InvoiceStatus.ISSUED
    ).aggregate(s=exact_sum("total_gross"))["s"] or Decimal(0)
    invoice.settled_amount = paid + credited
    invoice.settlement = settlement_state(total=invoice.total_gross, paid=paid, credited=credited)
    invoice.save(update_fields=["settled_amount", "settlement"])
    return invoice
