"""Who may move money is checked where money moves (DOMAIN invariant 13).

Each service that issues, credits, records or sends is called directly with a member of
each role: the web hides buttons, but the CLI, the API and the worker reach the service,
so the refusal must come from the service itself, with nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from facturier.billing.models import (
    AuditEvent,
    BilledPeriod,
    Company,
    Customer,
    Invoice,
    OutboxMessage,
    Payment,
    Subscription,
)
from facturier.billing.services import (
    LineData,
    credit_note_create,
    invoice_create,
    invoice_delete_draft,
    invoice_issue,
    payment_allocate,
    payment_record,
    user_create,
)
from facturier.billing.services.actors import Actor, PermissionRefused
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.dunning import (
    customer_reminders_pause,
    invoice_dispute_set,
    reminder_send_now,
    reminders_run,
)
from facturier.billing.services.outbox import invoice_email_send
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    draft_confirm,
    subscription_approve,
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_pause,
)
from tests.actors import SYS
from tests.conftest import COMPANY_FIELDS

D = Decimal
ROLES = ["owner", "accountant", "sales", "readonly"]
PASSWORD = "Ut7!long-enough-pass"


def at(day: date) -> Any:
    return time_machine.travel(datetime(day.year, day.month, day.day, 9, tzinfo=UTC), tick=False)


@pytest.fixture
def member(company: Company) -> Callable[..., Actor]:
    made: dict[tuple[str, int], Actor] = {}

    def make(role: str, *, of: Company | None = None) -> Actor:
        where = of or company
        if (role, where.pk) not in made:
            user = user_create(
                company=where, username=f"{role}-{where.pk}", password=PASSWORD, role=role,
                email=f"{role}@example.com",
            )  # fmt: skip
            made[role, where.pk] = Actor.member(user.membership)
        return made[role, where.pk]

    return make


def _snapshot() -> tuple[int, ...]:
    """What a refused call must leave as it was."""
    return (
        Invoice.objects.count(),
        Invoice.objects.filter(status="issued").count(),
        Payment.objects.count(),
        AuditEvent.objects.count(),
        OutboxMessage.objects.count(),
        Subscription.objects.filter(cancelled_from__isnull=False).count(),
    )


def _check(role: str, allowed: set[str], call: Callable[[], Any]) -> None:
    before = _snapshot()
    if role in allowed:
        call()
        return
    with pytest.raises(PermissionRefused):
        call()
    assert _snapshot() == before


MONEY = {"owner", "accountant"}
DRAFTS = {"owner", "accountant", "sales"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_issuing_an_invoice(role: str, member: Any, make_draft: Any) -> None:
    draft = make_draft()
    _check(role, MONEY, lambda: invoice_issue(draft, actor=member(role)))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_crediting_an_invoice(role: str, member: Any, make_draft: Any) -> None:
    invoice = invoice_issue(make_draft(), actor=SYS)
    _check(role, MONEY, lambda: credit_note_create(invoice, actor=member(role)))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_issuing_a_credit_note_draft(role: str, member: Any, make_draft: Any) -> None:
    invoice = invoice_issue(make_draft(), actor=SYS)
    note = credit_note_create(invoice, actor=SYS, issue=False)
    _check(role, MONEY, lambda: invoice_issue(note, actor=member(role)))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_recording_and_allocating_payments(
    role: str, member: Any, make_draft: Any, customer: Customer
) -> None:
    invoice = invoice_issue(make_draft(), actor=SYS)
    _check(
        role, MONEY,
        lambda: payment_record(
            customer=customer, amount=D("10.00"), received_on=date(2026, 1, 5),
            method="transfer", actor=member(role), allocations=[],
        ),
    )  # fmt: skip
    on_account = payment_record(
        customer=customer, amount=D("5.00"), received_on=date(2026, 1, 5), method="transfer",
        actor=SYS, allocations=[],
    )  # fmt: skip
    _check(
        role, MONEY, lambda: payment_allocate(on_account, invoice, D("5.00"), actor=member(role))
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_sending_reminding_and_disputing(role: str, member: Any, make_draft: Any) -> None:
    invoice = invoice_issue(make_draft(), actor=SYS)
    actor = member(role)
    _check(role, MONEY, lambda: reminder_send_now(invoice, by=actor))
    _check(role, MONEY, lambda: invoice_dispute_set(invoice, disputed=True, by=actor))
    _check(role, MONEY, lambda: customer_reminders_pause(invoice.customer, paused=True, by=actor))
    if role not in MONEY:  # sending needs the archive, made by the worker: refused before
        _check(role, MONEY, lambda: invoice_email_send(invoice, actor=actor))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_preparing_drafts(role: str, member: Any, company: Company, customer: Customer) -> None:
    actor = member(role)
    lines = [LineData(description="Service", unit_price=D(100))]
    _check(
        role, DRAFTS,
        lambda: invoice_create(actor=actor, company=company, customer=customer, lines=lines),
    )  # fmt: skip
    draft = invoice_create(actor=SYS, company=company, customer=customer, lines=lines)
    _check(role, DRAFTS, lambda: invoice_delete_draft(draft, actor=actor))


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_running_billing_and_reminders(role: str, member: Any, company: Company) -> None:
    actor = member(role)
    _check(role, MONEY, lambda: billing_run(company=company, actor=actor))
    _check(role, MONEY, lambda: reminders_run(company=company, actor=actor))
    with pytest.raises(PermissionRefused):  # every company at once: the system only
        billing_run(actor=actor)


def _subscription(customer: Customer, actor: Actor, anchor: date) -> Subscription:
    return subscription_create(
        customer=customer, name="Maintenance", actor=actor, frequency_unit="month",
        anchor=anchor, lines=[SubscriptionLineData(description="Maintenance", unit_price=D(100))],
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_cancelling_with_a_credit_note(role: str, member: Any, customer: Customer) -> None:
    """The hole the review found: a sales rep issued a credit note through "cancel now with
    a prorated credit" although the credit-note form refused them."""
    sub = _subscription(customer, SYS, date(2026, 11, 1))
    with at(date(2026, 11, 10)):
        billing_run()
        actor = member(role)
        credited = {"owner", "accountant"}
        _check(
            role, credited,
            lambda: subscription_cancel(
                sub, actor=actor, at_period_end=False, on=date(2026, 11, 15), credit=True
            ),
        )  # fmt: skip
    notes = Invoice.objects.filter(doc_type="credit_note").count()
    sub.refresh_from_db()
    if role in credited:
        assert notes == 1 and sub.cancelled_from == date(2026, 11, 15)
    else:
        assert notes == 0 and sub.cancelled_from is None


@pytest.mark.django_db
def test_readonly_changes_no_subscription(member: Any, customer: Customer) -> None:
    readonly = member("readonly")
    with pytest.raises(PermissionRefused):
        _subscription(customer, readonly, date(2026, 11, 1))
    sub = _subscription(customer, SYS, date(2026, 11, 1))
    with pytest.raises(PermissionRefused):
        subscription_pause(sub, start=date(2026, 12, 1), actor=readonly)
    with pytest.raises(PermissionRefused):
        subscription_cancel(sub, actor=readonly)
    assert not Subscription.objects.filter(cancelled_from__isnull=False).exists()
    assert not sub.pauses.exists()


@pytest.mark.django_db
def test_a_member_never_acts_for_another_company(
    member: Any, make_draft: Any, company: Company
) -> None:
    other = Company.objects.create(**{**COMPANY_FIELDS, "siren": "552100554"})
    stranger = member("owner", of=other)
    draft = make_draft()
    with pytest.raises(PermissionRefused):
        invoice_issue(draft, actor=stranger)
    draft.refresh_from_db()
    assert draft.number is None


# --- subscriptions set up by someone who may not issue -----------------------------------


@pytest.mark.django_db
def test_a_sales_subscription_gives_drafts_until_approved(
    member: Any, customer: Customer, company: Company
) -> None:
    """A sales rep's subscription with three periods already due: the run prepares three
    drafts (no number taken), tells the approvers, and issues only after approval."""
    sales, accountant, _owner = member("sales"), member("accountant"), member("owner")
    with at(date(2026, 11, 10)):
        sub = _subscription(customer, sales, date(2026, 9, 1))
        assert sub.awaiting_approval
        summary = billing_run()
    assert (summary.issued, summary.drafted) == (0, 3)
    assert not Invoice.objects.filter(status="issued").exists()
    assert set(BilledPeriod.objects.values_list("reason", flat=True)) == {"awaiting approval"}
    notices = OutboxMessage.objects.filter(kind="notify.draft_waiting")
    assert notices.count() == 3
    assert set(notices[0].payload["to"]) == {"owner@example.com", "accountant@example.com"}

    with pytest.raises(PermissionRefused):
        subscription_approve(sub, actor=sales)
    with pytest.raises(PermissionRefused):  # nor issue the drafts one by one
        draft_confirm(Invoice.objects.filter(status="draft").first(), actor=sales)
    sub.refresh_from_db()
    assert sub.awaiting_approval

    subscription_approve(sub, actor=accountant)
    assert AuditEvent.objects.filter(action="subscription.approved", actor=accountant.name)
    with at(date(2026, 12, 1)):
        summary = billing_run()
    assert (summary.issued, summary.drafted) == (1, 0)
    assert Invoice.objects.get(status="issued").period_start == date(2026, 12, 1)


@pytest.mark.django_db
def test_a_sales_price_change_needs_approval_again(member: Any, customer: Customer) -> None:
    owner, sales = member("owner"), member("sales")
    with at(date(2026, 11, 10)):
        sub = _subscription(customer, owner, date(2026, 11, 1))
        assert not sub.awaiting_approval
        billing_run()
        subscription_change(
            sub.lines.get(), effective=date(2026, 12, 1), unit_price=D(1000), actor=sales
        )
    sub.refresh_from_db()
    assert sub.awaiting_approval
    with at(date(2026, 12, 1)):
        summary = billing_run()
    assert (summary.issued, summary.drafted) == (0, 1)
    # The same change by the owner needs nobody's approval.
    subscription_approve(sub, actor=owner)
    subscription_change(sub.lines.get(), effective=date(2027, 1, 1), unit_price=D(50), actor=owner)
    sub.refresh_from_db()
    assert not sub.awaiting_approval
