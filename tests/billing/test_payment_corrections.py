"""Payments corrected by entries (DOMAIN invariants 8 and 12): reversal, re-allocation,
the customer's credit used or refunded. Refusals change nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import translation

from facturier.billing.models import (
    AuditEvent,
    Customer,
    Invoice,
    OutboxMessage,
    Payment,
    PaymentAllocation,
    PaymentReversal,
    Refund,
    RefundDraw,
)
from facturier.billing.selectors import customer_balance, customer_credit
from facturier.billing.services import (
    InvalidInput,
    NotAllowed,
    credit_allocate,
    credit_note_create,
    credit_refund,
    invoice_issue,
    payment_allocate,
    payment_reallocate,
    payment_record,
    payment_reverse,
    user_create,
)
from facturier.billing.services.actors import Actor, PermissionRefused
from facturier.billing.services.dunning import reminder_schedule, reminders_run
from facturier.billing.services.payments import payment_unallocated
from tests.actors import SYS

D = Decimal
TODAY = date(2026, 11, 28)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    now = datetime(2026, 11, 28, 10, tzinfo=UTC)
    with time_machine.travel(now, tick=False), translation.override("en"):
        yield


@pytest.fixture
def invoices(make_draft: Callable[..., Invoice]) -> list[Invoice]:
    return [invoice_issue(make_draft(), actor=SYS) for _ in range(3)]  # 120.00 each


def pay(customer: Customer, amount: str, allocations: Any = None, **kw: Any) -> Payment:
    return payment_record(
        customer=customer, amount=D(amount), received_on=kw.pop("on", TODAY),
        method="cheque", allocations=allocations, actor=SYS, **kw,
    )  # fmt: skip


def fresh(*objs: Any) -> list[Any]:
    for obj in objs:
        obj.refresh_from_db()
    return list(objs)


def ledger() -> tuple[Any, ...]:
    """Every row a payment correction may write."""
    return (
        list(PaymentAllocation.objects.values_list("payment_id", "invoice_id", "amount")),
        list(PaymentReversal.objects.values_list("payment_id", "amount")),
        list(Refund.objects.values_list("customer_id", "amount")),
        list(RefundDraw.objects.values_list("payment_id", "amount")),
        list(Invoice.objects.order_by("pk").values_list("settled_amount", "settlement")),
        AuditEvent.objects.count(),
        OutboxMessage.objects.count(),
    )


# -- reversal --------------------------------------------------------------------------------


def test_a_reversal_is_a_dated_counter_entry_and_reopens_the_invoices(
    customer: Customer, invoices: list[Invoice]
) -> None:
    a, b, _c = invoices
    payment = pay(customer, "200.00", [(a, D("120.00")), (b, D("50.00"))])
    assert customer_credit(customer) == D("30.00")
    reversal = payment_reverse(payment, reversed_on=TODAY, reason="Chèque impayé", actor=SYS)
    assert (reversal.amount, reversal.reversed_on, reversal.reason) == (
        D("200.00"), TODAY, "Chèque impayé",
    )  # fmt: skip
    a, b = fresh(a, b)
    assert (a.settlement, a.balance, b.settlement, b.balance) == (
        "open", D("120.00"), "open", D("120.00"),
    )  # fmt: skip
    # The history stays: the two allocations, then their releases (entries, not deletions).
    entries = list(
        PaymentAllocation.objects.filter(payment=payment)
        .order_by("pk")
        .values_list("invoice_id", "amount", "note")
    )
    assert entries == [
        (a.pk, D("120.00"), ""),
        (b.pk, D("50.00"), ""),
        (a.pk, D("-120.00"), "reversal: Chèque impayé"),
        (b.pk, D("-50.00"), "reversal: Chèque impayé"),
    ]
    payment.refresh_from_db()
    assert payment.amount == D("200.00")  # the payment row itself never changes
    assert customer_credit(customer) == 0  # its 30.00 on account went with it
    assert payment_unallocated(payment) == 0
    assert customer_balance(customer) == D("360.00")
    event = AuditEvent.objects.filter(action="payment.reversed").get()
    assert event.data == {
        "amount": "200", "reversed_on": "2026-11-28", "reason": "Chèque impayé",
        "released": {a.number: "120", b.number: "50"},
    }  # fmt: skip


def test_a_second_reversal_is_refused_and_changes_nothing(
    customer: Customer, invoices: list[Invoice]
) -> None:
    payment = pay(customer, "120.00")
    payment_reverse(payment, reversed_on=TODAY, reason="Erreur de saisie", actor=SYS)
    before = ledger()
    with pytest.raises(NotAllowed, match=r"already reversed on 28 Nov 2026 \(Erreur de saisie\)"):
        payment_reverse(payment, reversed_on=TODAY, reason="encore", actor=SYS)
    assert ledger() == before
    with pytest.raises(NotAllowed, match="was reversed"):
        payment_allocate(payment, invoices[1], D("10.00"), actor=SYS)
    with pytest.raises(NotAllowed, match="was reversed"):
        payment_reallocate(payment, allocate=[(invoices[1], D("10.00"))], actor=SYS)
    assert ledger() == before


@pytest.mark.parametrize(
    ("reason", "day", "field", "message"),
    [
        ("", TODAY, "reason", "say why"),
        ("   ", TODAY, "reason", "say why"),
        ("x" * 201, TODAY, "reason", "at most 200 characters"),
        ("ok", TODAY + timedelta(days=1), "reversed_on", "future"),
        ("ok", TODAY - timedelta(days=3), "reversed_on", "before the payment was received"),
    ],
)
def test_reversal_refusals_change_nothing(
    customer: Customer, invoices: list[Invoice], reason: str, day: date, field: str, message: str
) -> None:
    payment = pay(customer, "100.00", on=TODAY - timedelta(days=2))
    before = ledger()
    with pytest.raises(InvalidInput, match=message) as caught:
        payment_reverse(payment, reversed_on=day, reason=reason, actor=SYS)
    assert caught.value.field == field
    assert ledger() == before


def test_a_refunded_payment_cannot_be_reversed(customer: Customer) -> None:
    payment = pay(customer, "80.00")
    credit_refund(customer=customer, amount=D("30.00"), refunded_on=TODAY, method="transfer",
                  actor=SYS)  # fmt: skip
    before = ledger()
    with pytest.raises(NotAllowed, match=r"€30\.00 of this payment was refunded"):
        payment_reverse(payment, reversed_on=TODAY, reason="Rejet", actor=SYS)
    assert ledger() == before


def test_reminders_resume_once_the_payment_is_reversed(
    customer: Customer, make_draft: Callable[..., Invoice]
) -> None:
    with time_machine.travel(datetime(2026, 10, 1, 10, tzinfo=UTC), tick=False):
        invoice = invoice_issue(make_draft(), actor=SYS)  # due 31/10/2026
        payment = pay(customer, "120.00", [(invoice, D("120.00"))], on=date(2026, 10, 1))
    day = date(2026, 11, 28)  # J+28: the second reminder (J+15) is due
    assert {s.status for s in reminder_schedule(fresh(invoice)[0], day)} <= {"paid", "off"}
    assert reminders_run(as_of=day).total_sent == 0
    payment_reverse(payment, reversed_on=day, reason="Chèque impayé", actor=SYS)
    (invoice,) = fresh(invoice)
    assert "planned" in {s.status for s in reminder_schedule(invoice, day)}
    assert reminders_run(as_of=day).total_sent == 1


def test_the_sales_rep_is_told_through_the_outbox(customer: Customer, company: Any) -> None:
    rep = user_create(company=company, username="claire", password="x-123456", role="sales",
                      email="claire@atelier.example")  # fmt: skip
    customer.sales_rep = rep
    customer.save()
    payment = pay(customer, "10.00")
    reversal = payment_reverse(payment, reversed_on=TODAY, reason="Rejet", actor=SYS)
    row = OutboxMessage.objects.get(kind="notify.payment_reversed")
    assert (row.key, row.payload) == (
        f"payment-reversed:{reversal.pk}",
        {"reversal_id": reversal.pk, "to": ["claire@atelier.example"]},
    )


# -- re-allocation ---------------------------------------------------------------------------


def test_move_part_of_a_payment_to_another_invoice(
    customer: Customer, invoices: list[Invoice]
) -> None:
    a, b, c = invoices
    payment = pay(customer, "150.00", [(a, D("120.00")), (b, D("30.00"))])
    payment_reallocate(payment, release=[(a, D("50.00"))], allocate=[(c, D("50.00"))], actor=SYS)
    a, b, c = fresh(a, b, c)
    assert [(i.settlement, i.balance) for i in (a, b, c)] == [
        ("partial", D("50.00")), ("partial", D("90.00")), ("partial", D("70.00")),
    ]  # fmt: skip
    assert customer_credit(customer) == 0
    notes = list(PaymentAllocation.objects.filter(amount__lt=0).values_list("amount", "note"))
    assert notes == [(D("-50.00"), f"moved to {c.number}")]
    event = AuditEvent.objects.get(action="payment.reallocated")
    assert event.data == {"released": {a.number: "50"}, "allocated": {c.number: "50"}}


def test_release_to_the_account_then_settle_with_the_credit(
    customer: Customer, invoices: list[Invoice]
) -> None:
    a, b, c = invoices
    first = pay(customer, "100.00", [(a, D("100.00"))])
    second = pay(customer, "60.00", [(b, D("40.00"))])  # 20.00 on account
    payment_reallocate(first, release=[(a, D("70.00"))], actor=SYS)
    assert customer_credit(customer) == D("90.00")
    (a,) = fresh(a)
    assert a.balance == D("90.00")
    # 90.00 of credit on c: 70.00 from the first payment (older), then 20.00 from the second.
    with time_machine.travel(datetime(2026, 11, 28, 11, tzinfo=UTC), tick=False):
        credit_allocate(customer=customer, invoice=c, amount=D("90.00"), actor=SYS)
    (c,) = fresh(c)
    assert (c.balance, customer_credit(customer)) == (D("30.00"), 0)
    assert payment_unallocated(first) == payment_unallocated(second) == 0
    assert list(
        PaymentAllocation.objects.filter(invoice=c).values_list("payment_id", "amount")
    ) == [(first.pk, D("70.00")), (second.pk, D("20.00"))]


@pytest.mark.parametrize(
    ("release", "allocate", "error", "field"),
    [
        ([(0, "120.01")], [], "settles €120.00", "release[1]"),
        ([(1, "1.00")], [], "settles €0.00", "release[1]"),
        ([(0, "0")], [], "more than zero", "release[1]"),
        ([(0, "60.00"), (0, "60.01")], [], "settles €60.00", "release[2]"),
        ([(0, "10.00")], [(0, "10.00")], "both released and settled", "allocations[1]"),
        ([(0, "10.00")], [(1, "10.01")], "exceed the amount", "amount"),
        ([], [(1, "0.01")], "exceed the amount", "amount"),
        ([], [], "say what", "release"),
    ],
)
def test_reallocation_refusals_change_nothing(
    customer: Customer, invoices: list[Invoice], release: Any, allocate: Any, error: str,
    field: str,
) -> None:  # fmt: skip
    payment = pay(customer, "120.00", [(invoices[0], D("120.00"))])
    before = ledger()
    with pytest.raises((InvalidInput, NotAllowed), match=error) as caught:
        payment_reallocate(
            payment,
            release=[(invoices[i], D(x)) for i, x in release],
            allocate=[(invoices[i], D(x)) for i, x in allocate],
            actor=SYS,
        )
    assert caught.value.field == field
    assert ledger() == before


def test_an_invoice_named_twice_is_not_paid_twice(
    customer: Customer, invoices: list[Invoice]
) -> None:
    a = invoices[0]
    before = ledger()
    with pytest.raises(NotAllowed, match=r"more than .* balance"):
        pay(customer, "240.00", [(a, D("100.00")), (a, D("100.00"))])
    assert ledger() == before and not Payment.objects.exists()


# -- refunds ---------------------------------------------------------------------------------


def test_a_refund_is_money_out_of_the_credit(customer: Customer, invoices: list[Invoice]) -> None:
    a = invoices[0]
    older = pay(customer, "150.00", [(a, D("120.00"))], on=TODAY - timedelta(days=5))
    newer = pay(customer, "50.00", [])  # all on account
    assert customer_credit(customer) == D("80.00")
    refund = credit_refund(
        customer=customer, amount=D("40.00"), refunded_on=TODAY, method="transfer",
        reference="VIR REMB 1", actor=SYS,
    )  # fmt: skip
    assert (refund.amount, refund.method, refund.reference, refund.recorded_by) == (
        D("40.00"), "transfer", "VIR REMB 1", "t",
    )  # fmt: skip
    assert customer_credit(customer) == D("40.00")
    assert list(refund.draws.order_by("pk").values_list("payment_id", "amount")) == [
        (older.pk, D("30.00")), (newer.pk, D("10.00")),
    ]  # fmt: skip
    assert (payment_unallocated(older), payment_unallocated(newer)) == (0, D("40.00"))
    assert customer_balance(customer) == D("240.00") - D("40.00")
    event = AuditEvent.objects.get(action="refund.recorded")
    assert event.data["amount"] == "40" and event.data["customer"] == customer.code


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": D("80.01")}, "amount", "more than the customer's credit"),
        ({"amount": D("0")}, "amount", "more than zero"),
        ({"amount": D("1.001")}, "amount", "two decimals"),
        ({"method": "direct_debit"}, "method", "a refund is paid by"),
        ({"refunded_on": TODAY + timedelta(days=1)}, "refunded_on", "future"),
        ({"reference": "x" * 141}, "reference", "at most 140 characters"),
    ],
)
def test_refund_refusals_change_nothing(
    customer: Customer, overrides: dict[str, Any], field: str, message: str
) -> None:
    pay(customer, "80.00")
    before = ledger()
    args: dict[str, Any] = {"amount": D("10.00"), "refunded_on": TODAY, "method": "transfer"}
    with pytest.raises((InvalidInput, NotAllowed), match=message) as caught:
        credit_refund(customer=customer, actor=SYS, **{**args, **overrides})
    assert caught.value.field == field
    assert ledger() == before


def test_a_reversed_payment_leaves_nothing_to_refund(customer: Customer) -> None:
    payment = pay(customer, "80.00")
    payment_reverse(payment, reversed_on=TODAY, reason="Rejet", actor=SYS)
    with pytest.raises(NotAllowed, match=r"credit \(€0.00"):
        credit_refund(customer=customer, amount=D("1.00"), refunded_on=TODAY, method="cash",
                      actor=SYS)  # fmt: skip


# -- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "accountant", "sales", "readonly"])
def test_only_those_who_record_payments_may_correct_them(
    role: str, company: Any, customer: Customer, invoices: list[Invoice]
) -> None:
    user = user_create(company=company, username=role, password="Ut7!long-enough-pass",
                       role=role, email=f"{role}@example.com")  # fmt: skip
    actor = Actor.member(user.membership)
    payment = pay(customer, "200.00", [(invoices[0], D("120.00"))])
    pay(customer, "20.00", [], on=TODAY - timedelta(days=1))  # older: refunds draw from it
    calls = [
        lambda: credit_refund(customer=customer, amount=D("10.00"), refunded_on=TODAY,
                              method="cash", actor=actor),
        lambda: credit_allocate(customer=customer, invoice=invoices[1], amount=D("10.00"),
                                actor=actor),
        lambda: payment_reallocate(payment, release=[(invoices[0], D("10.00"))], actor=actor),
        lambda: payment_reverse(payment, reversed_on=TODAY, reason="Rejet", actor=actor),
    ]  # fmt: skip
    for call in calls:
        before = ledger()
        if role in ("owner", "accountant"):
            call()
        else:
            with pytest.raises(PermissionRefused):
                call()
            assert ledger() == before


# -- invariant 8 under any sequence ----------------------------------------------------------


def check_invariant_8(customer: Customer) -> None:
    """Σ entries of a payment + what refunds drew ≤ its amount (0 when reversed); each
    (payment, invoice) settles ≥ 0; an invoice's settled amount = Σ entries + Σ credit
    notes; the credit is Σ of the payments' rests, never below 0."""
    rests = D(0)
    for p in Payment.objects.filter(customer=customer):
        entries = [a.amount for a in p.allocations.all()]
        drawn = sum((d.amount for d in p.refund_draws.all()), D(0))
        used = sum(entries, D(0)) + drawn
        if PaymentReversal.objects.filter(payment=p).exists():
            assert used == 0
        else:
            assert 0 <= used <= p.amount
            rests += p.amount - used
        per_invoice: dict[int, Decimal] = {}
        for a in p.allocations.all():
            per_invoice[a.invoice_id] = per_invoice.get(a.invoice_id, D(0)) + a.amount
        assert all(v >= 0 for v in per_invoice.values())
    for inv in Invoice.objects.filter(customer=customer, doc_type="invoice", status="issued"):
        paid = sum((a.amount for a in inv.allocations.all()), D(0))
        credited = sum((n.total_gross for n in inv.credit_notes.filter(status="issued")), D(0))
        assert inv.settled_amount == paid + credited
        assert 0 <= paid <= inv.total_gross
    assert customer_credit(customer) == rests >= 0


OPS = ["record", "record_to", "allocate", "reverse", "reallocate", "credit", "refund", "note"]


@pytest.mark.slow
def test_any_sequence_of_corrections_keeps_money(
    customer: Customer, make_draft: Callable[..., Invoice]
) -> None:
    """Hypothesis drives record / allocate / reverse / reallocate / use credit / refund /
    credit note in any order and amounts; refused steps change nothing; invariant 8 holds
    after every step."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    invoices = [invoice_issue(make_draft(), actor=SYS) for _ in range(3)]
    step = st.tuples(
        st.sampled_from(OPS),
        st.integers(0, 2),  # which invoice
        st.integers(0, 5),  # which payment (modulo those recorded)
        # An amount, or the most the step allows ("all"), or one cent more ("all+").
        st.one_of(
            st.decimals(min_value=D("0.01"), max_value=D("200"), places=2),
            st.sampled_from(["all", "all+"]),
        ),
    )

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(step, min_size=1, max_size=12))
    def run(steps: list[tuple[str, int, int, Decimal | str]]) -> None:
        from django.db import transaction

        with transaction.atomic():
            for op, i, j, amount in steps:
                _apply(customer, invoices, op, i, j, amount)
                check_invariant_8(customer)
            transaction.set_rollback(True)  # the next example starts from the same state

    run()


def _most(customer: Customer, op: str, invoice: Invoice, payment: Payment | None) -> Decimal:
    """The most a step may move: the invoice's balance, the payment's rest or what it
    settles on the invoice, the customer's credit."""
    if op in ("record", "record_to", "note"):
        return invoice.balance
    if op in ("credit", "refund"):
        return customer_credit(customer)
    if payment is None:
        return D(0)
    if op == "allocate":
        return payment_unallocated(payment)
    return sum((a.amount for a in payment.allocations.filter(invoice=invoice)), D(0))


def _apply(
    customer: Customer, invoices: list[Invoice], op: str, i: int, j: int, given: Decimal | str
) -> None:
    invoice = Invoice.objects.get(pk=invoices[i].pk)
    payments = list(Payment.objects.filter(customer=customer).order_by("pk"))
    payment = payments[j % len(payments)] if payments else None
    amount = given if isinstance(given, Decimal) else _most(customer, op, invoice, payment)
    if given == "all+":
        amount += D("0.01")
    calls: dict[str, Callable[[], Any]] = {
        "record": lambda: pay(customer, str(amount)),
        "record_to": lambda: pay(customer, str(amount), [(invoice, min(amount, invoice.balance))]),
        "credit": lambda: credit_allocate(customer=customer, invoice=invoice, amount=amount,
                                          actor=SYS),
        "refund": lambda: credit_refund(customer=customer, amount=amount, refunded_on=TODAY,
                                        method="transfer", actor=SYS),
        "note": lambda: credit_note_create(invoice, actor=SYS),
    }  # fmt: skip
    if payment is not None:
        other = Invoice.objects.get(pk=invoices[(i + 1) % 3].pk)
        calls |= {
            "allocate": lambda: payment_allocate(payment, invoice, amount, actor=SYS),
            "reverse": lambda: payment_reverse(payment, reversed_on=TODAY, reason="r", actor=SYS),
            "reallocate": lambda: payment_reallocate(
                payment, release=[(invoice, amount)], allocate=[(other, amount)], actor=SYS
            ),
        }
    call = calls.get(op)
    if call is None:
        return
    before = ledger()
    try:
        call()
    except (InvalidInput, NotAllowed):
        assert ledger() == before  # a refusal writes nothing


def test_a_reversal_counts_against_collected_in_its_month(customer: Customer) -> None:
    from facturier.billing.kpis import collected_per_month
    from facturier.core.kpis import month_starts

    payment = pay(customer, "90.00", on=date(2026, 10, 20))
    pay(customer, "40.00")
    payment_reverse(payment, reversed_on=TODAY, reason="Chèque impayé", actor=SYS)
    months = month_starts(TODAY, back=1)
    # October keeps what was reported then; November: 40.00 received − 90.00 reversed.
    assert collected_per_month(customer.company, months) == [D("90.00"), D("-50.00")]
