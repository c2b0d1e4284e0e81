"""Dunning over a simulated 60 days past the due date, the clock frozen each day (DOMAIN
"Dunning"; issue "Delivery and dunning", tests that must exist).

Eight invoices of one Paris company are issued on 4 January 2027, due on 3 February (30 days).
Every day the worker's dunning job runs at 07:00 Paris time (after the 6 o'clock billing
hour), and on some days a second pass runs late in the evening and must find nothing to do.
Payments, disputes and a credit note happen on chosen days. The expected reminders are written
out by hand: each level once, on its day (J+7, J+15, J+30; the courtesy note is off), nothing
after payment, nothing while disputed, and the formal notice's penalties to the cent.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from facturier.billing.models import Company, Customer, Invoice, OutboxMessage, Reminder
from facturier.billing.services import (
    LineData,
    credit_note_create,
    customer_create,
    invoice_create,
    invoice_issue,
    payment_record,
)
from facturier.billing.services.dunning import (
    customer_reminders_pause,
    invoice_dispute_set,
    reminders_run,
)
from facturier.worker.loop import Worker
from tests.actors import SYS

PARIS = ZoneInfo("Europe/Paris")
ISSUE = date(2027, 1, 4)
DUE = date(2027, 2, 3)
LAST = DUE + timedelta(days=60)
D = Decimal


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def j(n: int) -> date:
    """The day n days after the due date (J+n)."""
    return DUE + timedelta(days=n)


@pytest.fixture
def other_business(company: Company) -> Customer:
    return customer_create(
        company=company, kind="business", legal_name="Garage Leroy", siren="552100554",
        address_line1="1 avenue de la Gare", postcode="31000", city="Toulouse",
        billing_emails=["compta@garage.example"],
    )  # fmt: skip


def test_dunning_over_60_days(
    company: Company, customer: Customer, consumer: Customer, other_business: Customer
) -> None:
    def invoice(who: Customer, net: str) -> Invoice:
        draft = invoice_create(
            actor=SYS,
            company=company, customer=who,
            lines=[LineData(description="Prestation", quantity=D(1), unit_price=D(net))],
        )  # fmt: skip
        return invoice_issue(draft, actor=SYS)

    with time_machine.travel(paris(ISSUE, 10), tick=False):
        unpaid = invoice(customer, "1000")  # 1 200,00 € incl. VAT
        paid_late = invoice(customer, "500")  # 600,00 €, paid on J+10
        disputed = invoice(customer, "250")  # 300,00 €, disputed from the start
        private = invoice(consumer, "500")  # 600,00 €, a consumer: no indemnity
        partly = invoice(customer, "1000")  # 1 200,00 €, 500,00 € paid on J+20
        dispute_window = invoice(customer, "100")  # 120,00 €, disputed J+12 → J+20
        credited = invoice(customer, "100")  # cancelled by a credit note on 7 January
        paused = invoice(other_business, "100")  # customer paused J+5 → J+40
        invoice_dispute_set(disputed, disputed=True, by=SYS)
    assert {i.due_date for i in (unpaid, private, paused)} == {DUE}

    def pay(inv: Invoice, amount: str, on: date) -> None:
        payment_record(
            customer=inv.customer, amount=D(amount), received_on=on, method="transfer",
            allocations=[(inv, D(amount))], actor=SYS,
        )  # fmt: skip

    events: dict[date, Any] = {
        ISSUE + timedelta(days=3): lambda: credit_note_create(credited, actor=SYS, reason="x"),
        j(5): lambda: customer_reminders_pause(other_business, paused=True, by=SYS),
        j(10): lambda: pay(paid_late, "600.00", j(10)),
        j(12): lambda: invoice_dispute_set(dispute_window, disputed=True, by=SYS),
        j(20): lambda: (
            pay(partly, "500.00", j(20)),
            invoice_dispute_set(dispute_window, disputed=False, by=SYS),
        ),
        j(40): lambda: customer_reminders_pause(other_business, paused=False, by=SYS),
    }
    worker = Worker(name="daily", stop=threading.Event())
    sent_by_day: dict[date, int] = {}
    day = ISSUE
    while day <= LAST:
        with time_machine.travel(paris(day, 6, 30), tick=False):
            if day in events:
                events[day]()  # before the pass: a payment or a dispute of the morning
        with time_machine.travel(paris(day, 7), tick=False):
            sent_by_day[day] = worker.remind_due_companies()
        if day.day % 3 == 0:  # a second pass the same evening finds nothing left to send
            with time_machine.travel(paris(day, 23, 30), tick=False):
                assert reminders_run().total_sent == 0, day
        day += timedelta(days=1)

    got: dict[int, list[tuple[int | None, date]]] = {}
    for r in Reminder.objects.order_by("pk"):
        got.setdefault(r.invoice_id, []).append((r.level, r.sent_on))
    assert got == {
        unpaid.pk: [(2, j(7)), (3, j(15)), (4, j(30))],
        paid_late.pk: [(2, j(7))],  # paid on J+10: nothing after
        private.pk: [(2, j(7)), (3, j(15)), (4, j(30))],
        partly.pk: [(2, j(7)), (3, j(15)), (4, j(30))],
        # Disputed on J+12, cleared on J+20: level 3 (due J+15) goes out the day the dispute
        # is cleared, then the formal notice on its day.
        dispute_window.pk: [(2, j(7)), (3, j(20)), (4, j(30))],
        # Paused on J+5, resumed on J+40: only the formal notice, the levels it supersedes
        # are never sent.
        paused.pk: [(4, j(40))],
    }
    assert disputed.pk not in got and credited.pk not in got
    assert {d: n for d, n in sent_by_day.items() if n} == {
        j(7): 5, j(15): 3, j(20): 1, j(30): 4, j(40): 1,
    }  # fmt: skip

    # The formal notices: rate × days late × amount due / 365, to the cent, and 40 € to a
    # business only. 12.15 % a year, 30 days late (40 for the paused customer):
    #   1 200,00 → 11.9835… → 11.98 ; 600,00 → 5.9917… → 5.99 ; 700,00 → 6.9904… → 6.99 ;
    #   120,00 × 40 days → 1.5978… → 1.60
    notices = {
        r.invoice_id: (r.days_late, r.amount_due, r.penalty, r.indemnity)
        for r in Reminder.objects.filter(level=4)
    }
    assert notices == {
        unpaid.pk: (30, D("1200.00"), D("11.98"), D("40.00")),
        private.pk: (30, D("600.00"), D("5.99"), D("0.00")),
        partly.pk: (30, D("700.00"), D("6.99"), D("40.00")),
        dispute_window.pk: (30, D("120.00"), D("1.20"), D("40.00")),
        paused.pk: (40, D("120.00"), D("1.60"), D("40.00")),
    }
    # The plain reminders state no penalty; each reminder has exactly one email to send.
    assert set(Reminder.objects.exclude(level=4).values_list("penalty", "indemnity")) == {
        (D("0.00"), D("0.00"))
    }
    # Each reminder is named by exactly one email; a customer's invoices reminded at the
    # same level the same day share one (a statement of account).
    messages = OutboxMessage.objects.filter(kind="email.reminder")
    assert Reminder.objects.count() == 14
    named = sorted(pk for m in messages for pk in m.payload["reminder_ids"])
    assert named == sorted(Reminder.objects.values_list("pk", flat=True))
    for m in messages:
        grouped = Reminder.objects.filter(pk__in=m.payload["reminder_ids"])
        assert len({(r.invoice.customer_id, r.level, r.sent_on) for r in grouped}) == 1
