"""Record payments and allocate them to invoices (DOMAIN invariant 8: money is never lost)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from facturier.billing import clock, extensions
from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    Customer,
    DocType,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentReversal,
    RefundDraw,
    Settlement,
)
from facturier.billing.services.actors import Actor, actor_require
from facturier.billing.services.audit import audit_record
from facturier.billing.services.errors import InvalidInput, NotAllowed
from facturier.billing.services.limits import AMOUNT, check_date, check_size, check_text
from facturier.billing.services.outbox import payment_received_queue
from facturier.billing.services.settlement import settlement_refresh
from facturier.core.money import format_amount, format_date, round_money
from facturier.core.roles import Can

REFERENCE_MAX = 140  # Payment.reference


def money_text(amount: Decimal, currency: str) -> str:
    return format_amount(amount, currency, locale=get_language() or "fr")


def day_text(day: date) -> str:
    return format_date(day, locale=get_language() or "fr")


def check_amount(amount: Decimal, field: str) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidInput(_("not an amount"), field=field)
    check_size(amount, field, **AMOUNT)  # first: rounding a huge amount fails
    if amount <= 0:
        raise InvalidInput(_("must be more than zero"), field=field)
    if round_money(amount) != amount:
        raise InvalidInput(_("at most two decimals"), field=field)
    return amount


@transaction.atomic
def payment_record(
    *,
    customer: Customer,
    amount: Decimal,
    received_on: date,
    method: str,
    reference: str = "",
    allocations: Sequence[tuple[Invoice, Decimal]] | None = None,
    actor: Actor,
) -> Payment:
    """Record a payment and settle invoices with it.

    With `allocations` the payment settles exactly those invoices by those amounts; without,
    it settles the customer's open invoices oldest due date first. What is left stays on the
    customer's account as credit (`customer_credit`).
    """
    actor_require(actor, Can.RECORD_PAYMENTS, company=customer.company)
    check_amount(amount, "amount")
    if method not in PaymentMethod.values:
        raise InvalidInput(f"unknown method '{method}'", field="method")
    today = clock.company_today(customer.company)
    if received_on > today:
        # A payment is recorded once received: a date ahead is a typing mistake.
        raise InvalidInput(_("a payment cannot be dated in the future"), field="received_on")
    check_date(received_on, "received_on", today=today)  # nor 01/01/0001
    reference = check_text(reference.strip(), "reference", max_length=REFERENCE_MAX)
    payment = Payment(
        company=customer.company,
        customer=customer,
        received_on=received_on,
        amount=amount,
        currency=customer.company.currency,
        method=method,
        reference=reference,
        recorded_by=actor.name,
    )
    plan = (
        allocation_plan(customer, amount, allocations)
        if allocations is not None
        else _oldest_first(customer, amount)
    )
    payment.save()
    allocations_write(payment, plan)
    audit_record(
        company=customer.company,
        actor=actor,
        action="payment.recorded",
        object_type="payment",
        object_id=payment.pk,
        data={
            "amount": amount,
            "method": method,
            "reference": payment.reference,
            "allocations": {inv.number: amt for inv, amt in plan},
        },
    )
    payment_received_queue(payment)  # the sales rep is told, once the payment commits
    extensions.payment_recorded.send(None, payment=payment, allocations=list(plan), actor=actor)
    return payment


@transaction.atomic
def payment_allocate(payment: Payment, invoice: Invoice, amount: Decimal, *, actor: Actor) -> None:
    """Use a payment's unallocated rest (customer credit) to settle an invoice."""
    actor_require(actor, Can.RECORD_PAYMENTS, company=payment.company)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    check_not_reversed(payment)
    plan = allocation_plan(payment.customer, payment_unallocated(payment), [(invoice, amount)])
    allocations_write(payment, plan)
    audit_record(
        company=payment.company,
        actor=actor,
        action="payment.allocated",
        object_type="payment",
        object_id=payment.pk,
        data={"invoice": plan[0][0].number, "amount": amount},
    )


def _lock_open(customer: Customer, ids: Sequence[int] | None = None) -> list[Invoice]:
    qs = Invoice.objects.select_for_update().filter(customer=customer)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return list(qs.order_by("pk"))


def allocation_plan(
    customer: Customer, available: Decimal, allocations: Sequence[tuple[Invoice, Decimal]]
) -> list[tuple[Invoice, Decimal]]:
    locked = {inv.pk: inv for inv in _lock_open(customer, [inv.pk for inv, _ in allocations])}
    plan, total = [], Decimal(0)
    planned: dict[int, Decimal] = {}  # an invoice named twice: its balance counts once
    for i, (given, amount) in enumerate(allocations, start=1):
        field = f"allocations[{i}]"
        invoice = locked.get(given.pk)
        if invoice is None:
            raise InvalidInput("invoice of another customer", field=field)
        if invoice.status != InvoiceStatus.ISSUED or invoice.doc_type != DocType.INVOICE:
            raise NotAllowed("only issued invoices can be paid", field=field)
        # Checked before the amount: asked to settle "its balance", a paid invoice gives 0.
        _check_settleable(invoice, field)
        check_amount(amount, field)
        balance = invoice.balance - planned.get(invoice.pk, Decimal(0))
        if amount > balance:
            raise NotAllowed(
                _("%(amount)s is more than %(n)s's balance (%(balance)s)")
                % {
                    "amount": money_text(amount, invoice.currency),
                    "n": invoice.number,
                    "balance": money_text(balance, invoice.currency),
                },
                field=field,
            )
        planned[invoice.pk] = planned.get(invoice.pk, Decimal(0)) + amount
        plan.append((invoice, amount))
        total += amount
    if total > available:
        currency = customer.company.currency
        raise InvalidInput(
            _("allocations (%(total)s) exceed the amount (%(available)s)")
            % {"total": money_text(total, currency), "available": money_text(available, currency)},
            field="amount",
        )
    return plan


def _check_settleable(invoice: Invoice, field: str) -> None:
    """Refuse, naming the invoice, one that has nothing left to pay."""
    if invoice.settlement == Settlement.CANCELLED:
        raise NotAllowed(
            _("%(n)s is cancelled by a credit note: nothing is left to pay.")
            % {"n": invoice.number},
            field=field,
        )
    if invoice.balance <= 0:
        raise NotAllowed(_("%(n)s is already paid.") % {"n": invoice.number}, field=field)


def _oldest_first(customer: Customer, amount: Decimal) -> list[tuple[Invoice, Decimal]]:
    open_invoices = [
        inv
        for inv in _lock_open(customer)
        if inv.status == InvoiceStatus.ISSUED
        and inv.doc_type == DocType.INVOICE
        and inv.settlement in (Settlement.OPEN, Settlement.PARTIAL)
    ]
    open_invoices.sort(key=lambda inv: (inv.due_date, inv.sequence or 0))
    plan, left = [], amount
    for invoice in open_invoices:
        if left <= 0:
            break
        share = min(left, invoice.balance)
        if share > 0:
            plan.append((invoice, share))
            left -= share
    return plan


def allocations_write(payment: Payment, plan: Sequence[tuple[Invoice, Decimal]]) -> None:
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(payment=payment, invoice=invoice, amount=amount)
        for invoice, amount in plan
    )
    for invoice, _amount in plan:
        settlement_refresh(invoice.pk)


def check_not_reversed(payment: Payment) -> None:
    """Refuse to use a reversed payment (its money never came, or went back)."""
    reversal = PaymentReversal.objects.filter(payment=payment).first()
    if reversal is not None:
        raise NotAllowed(
            _("This payment was reversed on %(d)s (%(why)s): nothing of it can be allocated.")
            % {"d": day_text(reversal.reversed_on), "why": reversal.reason}
        )


def payment_unallocated(payment: Payment) -> Decimal:
    """What is left of a payment for other invoices or a refund: its amount − what it
    settles (the sum of its allocation entries) − what refunds drew from it; 0 once reversed."""
    if PaymentReversal.objects.filter(payment=payment).exists():
        return Decimal(0)
    used = payment.allocations.aggregate(s=exact_sum("amount"))["s"] or Decimal(0)
    drawn = RefundDraw.objects.filter(payment=payment).aggregate(s=exact_sum("amount"))["s"]
    return payment.amount - used - (drawn or Decimal(0))
