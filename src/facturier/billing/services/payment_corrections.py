"""Correct payments by entries, never by edits (DOMAIN invariants 8 and 12).

- `payment_reverse`: a payment undone (a cheque returned unpaid, a payment recorded by
  mistake) gets a dated reversal of its whole amount; what it settled is released by negative
  allocation entries, so the invoices are open again (and reminders resume: they follow the
  balance). Once only.
- `payment_reallocate`: release some of what a payment settled and settle other invoices
  with it (or leave it on the customer's account), in one transaction.
- `credit_allocate`: settle an invoice with the customer's credit, taken from the rests of
  its payments, oldest first.
- `credit_refund`: pay back part of the customer's credit (money out), taken from the rests
  of its payments, oldest first.

Each one checks `Can.RECORD_PAYMENTS`, validates everything before it writes, locks the
payments and the invoices it touches (payments first, then invoices in id order), and leaves
an audit event. The sums always hold: Σ entries of a payment + what refunds drew from it ≤
its amount (0 once reversed); an invoice's balance = total − Σ its entries − Σ credit notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from facturier.billing import clock, extensions
from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    Customer,
    Invoice,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentReversal,
    Refund,
    RefundDraw,
)
from facturier.billing.services.actors import Actor, actor_require
from facturier.billing.services.audit import audit_record
from facturier.billing.services.errors import InvalidInput, NotAllowed
from facturier.billing.services.limits import check_text
from facturier.billing.services.outbox import payment_reversed_queue
from facturier.billing.services.payments import (
    REFERENCE_MAX,
    allocation_plan,
    allocations_write,
    check_amount,
    check_not_reversed,
    day_text,
    money_text,
    payment_unallocated,
)
from facturier.billing.services.settlement import settlement_refresh
from facturier.core.roles import Can

REASON_MAX = 200  # PaymentReversal.reason, PaymentAllocation.note
# A refund goes back by transfer, cheque, card, cash...: never by debiting the customer.
REFUND_METHODS = [m for m in PaymentMethod.values if m != PaymentMethod.DIRECT_DEBIT]

Moves = Sequence[tuple[Invoice, Decimal]]


def payment_settled(payment: Payment) -> dict[int, Decimal]:
    """What a payment settles now, per invoice id (the sum of its entries, when above 0)."""
    rows = (
        PaymentAllocation.objects.filter(payment=payment)
        .values("invoice_id")
        .annotate(s=exact_sum("amount"))
        .order_by("invoice_id")
    )
    return {r["invoice_id"]: r["s"] for r in rows if r["s"] > 0}


def _check_day(day: date, *, field: str, not_before: date | None, customer: Customer) -> None:
    if day > clock.company_today(customer.company):
        raise InvalidInput(_("cannot be in the future"), field=field)
    if not_before is not None and day < not_before:
        raise InvalidInput(
            _("cannot be before the payment was received (%(d)s)") % {"d": day_text(not_before)},
            field=field,
        )


def _lock_invoices(ids: Iterable[int]) -> None:
    """Lock these invoices, in id order (the same order everywhere: no deadlock)."""
    list(Invoice.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk"))


def _release(payment: Payment, amounts: dict[int, Decimal], note: str) -> None:
    """Negative entries: `payment` no longer settles these amounts of these invoices."""
    PaymentAllocation.objects.bulk_create(
        PaymentAllocation(payment=payment, invoice_id=pk, amount=-amount, note=note[:REASON_MAX])
        for pk, amount in amounts.items()
    )
    for pk in amounts:
        settlement_refresh(pk)


def _numbers(amounts: dict[int, Decimal]) -> dict[str, Decimal]:
    numbers = dict(Invoice.objects.filter(pk__in=amounts).values_list("pk", "number"))
    return {str(numbers[pk]): amount for pk, amount in amounts.items()}


@transaction.atomic
def payment_reverse(
    payment: Payment, *, reversed_on: date, reason: str, actor: Actor
) -> PaymentReversal:
    """Undo a payment by a dated counter-entry; refused for a payment already reversed, and
    for one whose money was refunded (it is no longer on the customer's account)."""
    actor_require(actor, Can.RECORD_PAYMENTS, company=payment.company)
    reason = check_text((reason or "").strip(), "reason", max_length=REASON_MAX)
    if not reason:
        raise InvalidInput(_("say why the payment is reversed"), field="reason")
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("company", "customer")
        .get(pk=payment.pk)
    )
    _check_day(reversed_on, field="reversed_on", not_before=payment.received_on,
               customer=payment.customer)  # fmt: skip
    earlier = PaymentReversal.objects.filter(payment=payment).first()
    if earlier is not None:
        raise NotAllowed(
            _("This payment was already reversed on %(d)s (%(why)s): nothing was changed.")
            % {"d": day_text(earlier.reversed_on), "why": earlier.reason}
        )
    drawn = RefundDraw.objects.filter(payment=payment).aggregate(s=exact_sum("amount"))["s"]
    if drawn:
        raise NotAllowed(
            _("%(amount)s of this payment was refunded to the customer: a refunded payment "
              "cannot be reversed.") % {"amount": money_text(drawn, payment.currency)}
        )  # fmt: skip
    settled = payment_settled(payment)
    _lock_invoices(settled)
    _release(payment, settled, _("reversal: %(why)s") % {"why": reason})
    reversal = PaymentReversal.objects.create(
        payment=payment, reversed_on=reversed_on, amount=payment.amount, reason=reason,
        recorded_by=actor.name,
    )  # fmt: skip
    audit_record(
        company=payment.company,
        actor=actor,
        action="payment.reversed",
        object_type="payment",
        object_id=payment.pk,
        data={
            "amount": payment.amount,
            "reversed_on": reversed_on.isoformat(),
            "reason": reason,
            "released": _numbers(settled),
        },
    )
    payment_reversed_queue(reversal)  # the sales rep is told, once the reversal commits
    extensions.payment_reversed.send(
        None, payment=payment, reversal=reversal, released=dict(settled), actor=actor
    )
    return reversal


@transaction.atomic
def payment_reallocate(
    payment: Payment, *, release: Moves = (), allocate: Moves = (), actor: Actor
) -> None:
    """Release `release` (invoice, amount) of what `payment` settles, then settle `allocate`
    with what is then left of it; what is released and not allocated stays on account."""
    actor_require(actor, Can.RECORD_PAYMENTS, company=payment.company)
    if not release and not allocate:
        raise InvalidInput(_("say what to release or what to settle"), field="release")
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("company", "customer")
        .get(pk=payment.pk)
    )
    check_not_reversed(payment)
    _lock_invoices([inv.pk for inv, _a in (*release, *allocate)])
    settled = payment_settled(payment)
    freed: dict[int, Decimal] = {}
    for i, (invoice, amount) in enumerate(release, start=1):
        field = f"release[{i}]"
        check_amount(amount, field)
        had = settled.get(invoice.pk, Decimal(0)) - freed.get(invoice.pk, Decimal(0))
        if amount > had:
            raise NotAllowed(
                _("this payment settles %(had)s of %(n)s: %(amount)s cannot be released")
                % {"had": money_text(had, payment.currency), "n": invoice.number,
                   "amount": money_text(amount, payment.currency)},
                field=field,
            )  # fmt: skip
        freed[invoice.pk] = freed.get(invoice.pk, Decimal(0)) + amount
    for i, (invoice, _amount) in enumerate(allocate, start=1):
        if invoice.pk in freed:
            raise InvalidInput(
                _("%(n)s is both released and settled") % {"n": invoice.number},
                field=f"allocations[{i}]",
            )
    # Checked before anything is written: the freed amounts count as available.
    plan = allocation_plan(
        payment.customer, payment_unallocated(payment) + sum(freed.values(), Decimal(0)), allocate
    )
    targets = ", ".join(str(inv.number) for inv, _a in plan)
    note = _("moved to %(n)s") % {"n": targets} if targets else _("back on the customer's account")
    _release(payment, freed, note)
    allocations_write(payment, plan)
    audit_record(
        company=payment.company,
        actor=actor,
        action="payment.reallocated",
        object_type="payment",
        object_id=payment.pk,
        data={
            "released": _numbers(freed),
            "allocated": {str(inv.number): amount for inv, amount in plan},
        },
    )


def _rests(customer: Customer) -> list[tuple[Payment, Decimal]]:
    """The customer's payments with something left on account, oldest first, locked.

    Read after the locks are held (a reversal or an allocation that committed meanwhile is
    seen): each rest is its amount − its entries − what refunds drew from it."""
    payments = list(
        Payment.objects.select_for_update().filter(customer=customer).order_by("received_on", "pk")
    )
    ids = [p.pk for p in payments]
    reversed_ids = set(
        PaymentReversal.objects.filter(payment_id__in=ids).values_list("payment_id", flat=True)
    )
    used: dict[int, Decimal] = {}
    for model in (PaymentAllocation, RefundDraw):
        rows = model.objects.filter(payment_id__in=ids).values("payment_id")  # type: ignore[attr-defined]
        for r in rows.annotate(s=exact_sum("amount")).order_by("payment_id"):
            used[r["payment_id"]] = used.get(r["payment_id"], Decimal(0)) + r["s"]
    out = []
    for p in payments:
        rest = p.amount - used.get(p.pk, Decimal(0))
        if p.pk not in reversed_ids and rest > 0:
            out.append((p, rest))
    return out


def _take(rests: list[tuple[Payment, Decimal]], amount: Decimal) -> list[tuple[Payment, Decimal]]:
    """`amount` taken from the rests, oldest payment first."""
    taken, left = [], amount
    for payment, rest in rests:
        if left <= 0:
            break
        share = min(rest, left)
        taken.append((payment, share))
        left -= share
    return taken


def _check_credit(
    customer: Customer, amount: Decimal, rests: list[tuple[Payment, Decimal]]
) -> None:
    credit = sum((rest for _p, rest in rests), Decimal(0))
    if amount > credit:
        currency = customer.company.currency
        raise NotAllowed(
            _("%(amount)s is more than the customer's credit (%(credit)s)")
            % {"amount": money_text(amount, currency), "credit": money_text(credit, currency)},
            field="amount",
        )


@transaction.atomic
def credit_allocate(*, customer: Customer, invoice: Invoice, amount: Decimal, actor: Actor) -> None:
    """Settle `invoice` with `amount` of the customer's credit (its payments' rests, oldest
    payment first: one allocation entry per payment used)."""
    actor_require(actor, Can.RECORD_PAYMENTS, company=customer.company)
    check_amount(amount, "amount")
    rests = _rests(customer)
    _check_credit(customer, amount, rests)
    allocation_plan(customer, amount, [(invoice, amount)])  # the invoice's own checks
    taken = _take(rests, amount)
    for payment, share in taken:
        allocations_write(payment, [(invoice, share)])
    audit_record(
        company=customer.company,
        actor=actor,
        action="credit.allocated",
        object_type="customer",
        object_id=customer.pk,
        data={
            "invoice": invoice.number,
            "amount": amount,
            "payments": {str(p.pk): share for p, share in taken},
        },
    )


@transaction.atomic
def credit_refund(
    *,
    customer: Customer,
    amount: Decimal,
    refunded_on: date,
    method: str,
    reference: str = "",
    actor: Actor,
) -> Refund:
    """Pay back `amount` of the customer's credit (money out), taken from the rests of its
    payments, oldest first; never more than the credit."""
    actor_require(actor, Can.RECORD_PAYMENTS, company=customer.company)
    check_amount(amount, "amount")
    if method not in REFUND_METHODS:
        raise InvalidInput(
            _("a refund is paid by transfer, card, cheque, cash or other"), field="method"
        )
    _check_day(refunded_on, field="refunded_on", not_before=None, customer=customer)
    reference = check_text((reference or "").strip(), "reference", max_length=REFERENCE_MAX)
    rests = _rests(customer)
    _check_credit(customer, amount, rests)
    taken = _take(rests, amount)
    refund = Refund.objects.create(
        company=customer.company, customer=customer, refunded_on=refunded_on, amount=amount,
        currency=customer.company.currency, method=method, reference=reference,
        recorded_by=actor.name,
    )  # fmt: skip
    RefundDraw.objects.bulk_create(
        RefundDraw(refund=refund, payment=payment, amount=share) for payment, share in taken
    )
    audit_record(
        company=customer.company,
        actor=actor,
        action="refund.recorded",
        object_type="refund",
        object_id=refund.pk,
        data={
            "customer": customer.code,
            "amount": amount,
            "refunded_on": refunded_on.isoformat(),
            "method": method,
            "reference": reference,
            "payments": {str(p.pk): share for p, share in taken},
        },
    )
    return refund
