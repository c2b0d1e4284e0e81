"""Invariant 8: allocations never exceed a payment; balances follow; the rest is credit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facturier.billing.models import Invoice, Payment, PaymentAllocation
from facturier.billing.selectors import customer_balance, customer_credit
from facturier.billing.services import (
    InvalidInput,
    NotAllowed,
    credit_note_create,
    invoice_issue,
    payment_allocate,
    payment_record,
)
from tests.actors import SYS
from tests.guards import guards_lifted

D = Decimal
TODAY = date(2026, 11, 28)


@pytest.fixture
def two_invoices(make_draft):
    return [invoice_issue(make_draft(), actor=SYS) for _ in range(2)]  # 120.00 each


def _pay(customer, amount, allocations=None):
    return payment_record(
        customer=customer, amount=D(amount), received_on=TODAY, method="transfer",
        allocations=allocations, actor=SYS,
    )  # fmt: skip


def test_partial_then_full(customer, two_invoices):
    first, _ = two_invoices
    _pay(customer, "20.00", [(first, D("20.00"))])
    first.refresh_from_db()
    assert (first.balance, first.settlement) == (D("100.00"), "partial")
    _pay(customer, "100.00", [(first, D("100.00"))])
    first.refresh_from_db()
    assert (first.balance, first.settlement) == (D("0.00"), "paid")


def test_auto_allocation_oldest_first_and_credit(customer, two_invoices):
    first, second = two_invoices
    _pay(customer, "300.00")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.settlement == second.settlement == "paid"
    assert customer_credit(customer) == D("60.00")
    assert customer_balance(customer) == D("-60.00")


def test_credit_used_later(customer, two_invoices, make_draft):
    payment = _pay(customer, "300.00")
    third = invoice_issue(make_draft(), actor=SYS)
    payment_allocate(payment, third, D("60.00"), actor=SYS)
    third.refresh_from_db()
    assert third.balance == D("60.00")
    assert customer_credit(customer) == 0
    with pytest.raises(InvalidInput, match="dépassent le montant"):
        payment_allocate(payment, third, D("0.01"), actor=SYS)


@pytest.mark.parametrize(
    ("amount", "alloc", "error"),
    [("0", None, "supérieur à zéro"), ("-5", None, "supérieur à zéro"), ("10.001", None, "deux"),
     ("50.00", "60.00", "dépassent le montant"), ("500.00", "120.01", "reste dû")],
)  # fmt: skip
def test_refusals_change_nothing(customer, two_invoices, amount, alloc, error):
    first, _ = two_invoices
    allocations = [(first, D(alloc))] if alloc else None
    with pytest.raises((InvalidInput, NotAllowed), match=error):
        _pay(customer, amount, allocations)
    assert not Payment.objects.exists()
    assert not PaymentAllocation.objects.exists()
    first.refresh_from_db()
    assert first.settlement == "open"


def test_draft_cannot_be_paid(customer, make_draft):
    with pytest.raises(NotAllowed, match="issued"):
        _pay(customer, "10.00", [(make_draft(), D("10.00"))])


def test_other_customers_invoice_refused(consumer, two_invoices):
    with pytest.raises(InvalidInput, match="another customer"):
        _pay(consumer, "10.00", [(two_invoices[0], D("10.00"))])


def test_credit_note_settles_and_cancels(customer, two_invoices):
    first, _ = two_invoices
    note = credit_note_create(first, actor=SYS, reason="annulation")
    assert note.number == "AV2026-00001"
    assert note.corrects_id == first.pk
    assert note.total_gross == first.total_gross
    first.refresh_from_db()
    assert (first.balance, first.settlement) == (D("0.00"), "cancelled")
    with pytest.raises(NotAllowed, match="dépasse"):  # French by default
        credit_note_create(first, actor=SYS)


def test_partial_credit_note(customer, two_invoices):
    from facturier.billing.services import LineData

    first, _ = two_invoices
    credit_note_create(
        first, actor=SYS,
        lines=[LineData(description="Remise commerciale", unit_price=D("25.00"))],
    )  # fmt: skip
    first.refresh_from_db()
    assert (first.balance, first.settlement) == (D("90.00"), "partial")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.decimals(min_value=D("0.01"), max_value=D("500"), places=2), min_size=1, max_size=5)
)
def test_money_is_never_lost(customer, two_invoices, amounts):
    """Whatever the payments, Σ allocations ≤ Σ payments and balance = total − allocations."""
    for amount in amounts:
        _pay(customer, amount)
    for inv in Invoice.objects.filter(customer=customer):
        allocated = sum((a.amount for a in inv.allocations.all()), D(0))
        assert inv.balance == inv.total_gross - allocated >= 0
    for payment in Payment.objects.all():
        assert sum((a.amount for a in payment.allocations.all()), D(0)) <= payment.amount
    paid = sum((p.amount for p in Payment.objects.all()), D(0))
    allocated = sum((a.amount for a in PaymentAllocation.objects.all()), D(0))
    assert customer_credit(customer) == paid - allocated
    # Reset for the next example (the fixtures are shared by all examples); payments are
    # never deleted otherwise.
    with guards_lifted():
        PaymentAllocation.objects.all().delete()
        Payment.objects.all().delete()
    for inv in Invoice.objects.all():
        from facturier.billing.services.settlement import settlement_refresh

        settlement_refresh(inv.pk)
