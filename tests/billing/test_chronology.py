"""A machine whose clock is behind never issues out of order (invariant 2 across the
company's documents: every series, every year). Issuing refuses with a clear error naming
the last document and its date, nothing is issued, and the owners get one alert, not one per
attempt. The worker's billing run stops on it and tries again later."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from facturier.billing.models import (
    BilledPeriod,
    BillingRun,
    Invoice,
    MailboxMessage,
    OutboxMessage,
    SeriesCounter,
)
from facturier.billing.services import invoice_issue, user_create
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.chronology import ClockBehind
from facturier.billing.services.credit_notes import credit_note_create
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.worker.loop import RETRY_REFUSED_AFTER, Worker
from facturier.worker.outbox import outbox_deliver
from tests.actors import SYS

D = Decimal


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def owner(company):
    return user_create(
        company=company, username="boss", password="x-123456", role="owner",
        email="direction@atelier.example",
    )  # fmt: skip


@pytest.fixture
def issue(make_draft):
    def issue_at(moment: datetime) -> Invoice:
        draft = make_draft()
        with at(moment):
            return invoice_issue(draft, actor=SYS)

    return issue_at


def state() -> tuple[list[tuple[str | None, str]], list[tuple[int, int, date | None]]]:
    """What a refusal must leave as it was: the invoices and the counters."""
    invoices = list(Invoice.objects.order_by("pk").values_list("number", "status"))
    counters = list(
        SeriesCounter.objects.order_by("pk").values_list("year", "last_value", "last_issue_date")
    )
    return invoices, counters


def alerts() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind="notify.clock_behind"))


def test_clock_back_into_last_year_after_next_years_numbers(
    issue, make_draft, owner, settings, tmp_path
):
    settings.EMAIL_BACKEND = "facturier.mail.backends.MailboxBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    for _ in range(3):
        issue(datetime(2026, 12, 30, 9, tzinfo=UTC))
    for _ in range(3):
        issue(datetime(2027, 1, 1, 9, tzinfo=UTC))
    draft = make_draft()
    before = state()
    with at(datetime(2026, 12, 31, 16, tzinfo=UTC)):  # its own year's counter is fine
        with pytest.raises(ClockBehind) as refused:
            invoice_issue(draft, actor=SYS)
        assert str(refused.value) == (  # French by default
            "Émission impossible maintenant (31/12/2026 17:00:00) : la dernière pièce émise, "
            "F2027-00003, est datée du 01/01/2027 à 10:00:00, après l'heure de cette machine. "
            "L'horloge est-elle en retard ? Rien n'a été émis."
        )
        with pytest.raises(ClockBehind):
            invoice_issue(draft, actor=SYS)  # again: still refused, still one alert
    assert state() == before
    [alert] = alerts()
    assert alert.payload == {
        "number": "F2027-00003", "issue_date": "2027-01-01",
        "issued_at": "2027-01-01T09:00:00+00:00", "now": "2026-12-31T16:00:00+00:00",
    }  # fmt: skip
    with at(datetime(2027, 1, 1, 9, 30, tzinfo=UTC)):  # the clock is right again
        assert invoice_issue(draft, actor=SYS).number == "F2027-00004"
        assert outbox_deliver() >= 1
    [mail] = MailboxMessage.objects.filter(subject__contains="Horloge en retard")
    assert mail.to == ["direction@atelier.example"]
    body = mail.raw.decode()
    assert "F2027-00003" in body and "01/01/2027" in body


def test_same_day_clock_set_back(issue, make_draft):
    first = issue(datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC))
    draft = make_draft()
    before = state()
    with at(datetime(2026, 11, 30, 9, 59, 59, tzinfo=UTC)), pytest.raises(ClockBehind) as refused:
        invoice_issue(draft, actor=SYS)
    assert first.number in str(refused.value) and "30/11/2026 à 11:00:00" in str(refused.value)
    assert state() == before
    assert len(alerts()) == 1
    with at(datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)):  # the same instant is not behind
        assert invoice_issue(draft, actor=SYS).number == "F2026-00002"


def test_any_series_counts_a_credit_note_after_it(issue, make_draft):
    invoice = issue(datetime(2026, 11, 30, 10, tzinfo=UTC))
    with at(datetime(2026, 11, 30, 11, tzinfo=UTC)):
        note = credit_note_create(invoice, actor=SYS, reason="erreur")
    draft = make_draft()
    with at(datetime(2026, 11, 30, 10, 30, tzinfo=UTC)), pytest.raises(ClockBehind) as refused:
        invoice_issue(draft, actor=SYS)
    assert note.number in str(refused.value)
    assert Invoice.objects.get(pk=draft.pk).number is None


@pytest.fixture
def due(customer, company):
    company.billing_hour = 0
    company.save()
    for k in range(3):
        subscription_create(
            customer=customer, name=f"Sub {k}", actor=SYS, frequency_unit="month",
            anchor=date(2026, 12, 31),
            lines=[SubscriptionLineData(description="Service", unit_price=D("10.00"))],
        )  # fmt: skip


def test_the_worker_stops_billing_and_alerts_once(issue, due):
    issue(datetime(2027, 1, 1, 9, tzinfo=UTC))  # F2027-00001, by a machine that was right
    worker = Worker(name="behind", stop=threading.Event())
    behind = datetime(2026, 12, 31, 10, tzinfo=UTC)
    with at(behind):
        assert worker.bill_due_companies() == 0
        assert worker.bill_due_companies() == 0  # waits RETRY_REFUSED_AFTER: not even tried
    assert Invoice.objects.filter(number__isnull=False).count() == 1
    assert not BilledPeriod.objects.exists()
    [run] = BillingRun.objects.all()
    assert (run.status, run.issued) == ("interrupted", 0)
    assert len(alerts()) == 1
    with at(behind + RETRY_REFUSED_AFTER), pytest.raises(ClockBehind):
        billing_run()  # `facturier billing run` on that machine: refused, no new alert
    assert len(alerts()) == 1
    with at(datetime(2027, 1, 1, 9, 1, tzinfo=UTC)):  # right again: all three billed
        assert worker.bill_due_companies() == 3
    numbers = sorted(Invoice.objects.exclude(number=None).values_list("number", flat=True))
    assert numbers == [f"F2027-{n:05d}" for n in range(1, 5)]
