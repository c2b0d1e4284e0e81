"""Notifications: the sales rep told of a payment (queued with the payment), the owners'
daily digest of the billing run (once per company per day), read in the embedded mailbox."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from facturier.billing.models import (
    BillingRun,
    MailboxMessage,
    OutboxMessage,
    OutboxStatus,
    RunItem,
)
from facturier.billing.services import InvalidInput, payment_record, user_create
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.worker.outbox import queue_digests
from tests.actors import SYS
from tests.mail.conftest import deliver_all, set_rep

D = Decimal


@dataclass
class StubWorker:
    stop: threading.Event = field(default_factory=threading.Event)


def _body(box: MailboxMessage) -> str:
    from email import policy
    from email.parser import BytesParser

    return BytesParser(policy=policy.default).parsebytes(bytes(box.raw)).get_body().get_content()


def test_sales_rep_told_of_a_payment(mailbox, frozen, customer, rep, issued):
    set_rep(customer, rep)
    inv = issued()
    payment = payment_record(
        customer=customer, amount=D("150"), received_on=date(2026, 11, 30), method="transfer",
        reference="VIR 42", actor=SYS,
    )  # fmt: skip
    row = OutboxMessage.objects.get(kind="notify.payment_received")
    assert (row.key, row.payload["to"]) == (f"payment-received:{payment.pk}", [rep.email])
    deliver_all()
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    box = MailboxMessage.objects.get(message_id=f"<outbox-{row.pk}@facturier>")
    assert box.to == ["claire@atelier.example"] and box.company_id == customer.company_id
    assert box.subject == "Paiement reçu : Boulangerie Martin – 150,00\xa0€"
    body = _body(box)
    assert f"- {inv.number} : 120,00\xa0€" in body
    assert "- Non affecté (avoir client) : 30,00\xa0€" in body
    assert "Moyen : Virement" in body and "Référence : VIR 42" in body

    runner = CliRunner()
    listed = runner.invoke(cli, ["mail", "list", "--mailbox"])
    assert listed.exit_code == 0 and "Paiement reçu" in listed.output
    shown = runner.invoke(cli, ["mail", "show", str(row.pk)])
    assert shown.exit_code == 0, shown.output
    assert "to  claire@atelier.example: sent" in shown.output
    assert "Subject: Paiement reçu : Boulangerie Martin" in shown.output
    raw = runner.invoke(cli, ["mail", "show", str(row.pk), "--raw"])
    assert raw.stdout_bytes == bytes(box.raw)
    as_json = runner.invoke(cli, ["mail", "list", "--json"])
    assert '"kind": "notify.payment_received"' in as_json.output


def test_no_rep_no_notice_and_a_refused_payment_queues_nothing(mailbox, frozen, customer, rep):
    payment_record(
        customer=customer, amount=D("10"), received_on=date(2026, 11, 30), method="cash",
        actor=SYS,
    )  # fmt: skip
    assert not OutboxMessage.objects.filter(kind="notify.payment_received").exists()
    set_rep(customer, rep)
    with pytest.raises(InvalidInput):
        payment_record(
            customer=customer, amount=D("-5"), received_on=date(2026, 11, 30), method="cash",
            actor=SYS,
        )  # fmt: skip
    assert not OutboxMessage.objects.filter(kind="notify.payment_received").exists()


@pytest.fixture
def owner(company):
    return user_create(
        company=company, username="boss", password="x-123456", role="owner",
        email="direction@atelier.example",
    )  # fmt: skip


def _subscribe(customer, name, **options):
    return subscription_create(
        customer=customer, name=name, actor=SYS, frequency_unit="month",
        anchor=date(2026, 11, 30),
        lines=[SubscriptionLineData(description=name, unit_price=D(100))], **options,
    )  # fmt: skip


def test_daily_digest_once_per_day_after_the_run(mailbox, frozen, company, customer, owner):
    worker = StubWorker()
    sub = _subscribe(customer, "Hébergement")
    _subscribe(customer, "Maintenance", review_before_issue=True)
    frozen.now = frozen.now.replace(hour=4)  # 05:00 in Paris: before the billing hour (6)
    assert queue_digests(worker) == 0
    frozen.now = frozen.now.replace(hour=9)  # 10:00: the hour has come, the run not yet
    assert queue_digests(worker) == 0
    assert not OutboxMessage.objects.filter(kind="notify.digest").exists()

    summary = billing_run(company=company)
    assert (summary.issued, summary.drafted) == (1, 1)
    run = BillingRun.objects.create(
        company=company, started_at=frozen.now, finished_at=frozen.now, failed=1
    )
    RunItem.objects.create(
        run=run, subscription=sub, outcome="failed", reason="the customer has no SIREN"
    )
    OutboxMessage.objects.create(
        company=company, kind="email.invoice", key="lost", status=OutboxStatus.FAILED,
        next_attempt_at=frozen.now, last_error="550 5.1.1 No such user", attempts=1,
    )  # fmt: skip

    assert queue_digests(worker) == 1
    assert queue_digests(worker) == 0  # once a day
    digest = OutboxMessage.objects.get(kind="notify.digest")
    assert digest.key == f"digest:{company.pk}:2026-11-30"
    assert (digest.payload["issued"], digest.payload["drafts"]) == (1, 1)
    assert (digest.payload["failures"], digest.payload["undelivered"]) == (1, 1)
    deliver_all()
    box = MailboxMessage.objects.get(message_id=f"<outbox-{digest.pk}@facturier>")
    assert box.to == ["direction@atelier.example"]
    assert box.subject == "Facturation du 30/11/2026 – Atelier Test : 1 émises, 1 échecs"
    body = _body(box)
    assert "Factures émises : 1 (120,00\xa0€ TTC)" in body
    assert "Brouillons en attente de confirmation : 1" in body
    assert "Hébergement: the customer has no SIREN" in body
    assert "Emails non distribués : 1" in body and "550 5.1.1 No such user" in body
    assert "facturier invoices confirm" in body

    frozen.advance(timedelta(days=1))  # the next day: a new digest
    assert queue_digests(worker) == 1
    deliver_all()
    quiet = OutboxMessage.objects.get(key=f"digest:{company.pk}:2026-12-01")
    assert quiet.status == OutboxStatus.SENT and quiet.payload["issued"] == 0
    assert quiet.payload["drafts"] == 1  # still waiting: reported again
    assert MailboxMessage.objects.filter(message_id=f"<outbox-{quiet.pk}@facturier>").exists()


def test_a_quiet_day_sends_nothing(mailbox, frozen, company, owner):
    assert queue_digests(StubWorker()) == 1  # nothing due: the day's digest is written...
    deliver_all()
    digest = OutboxMessage.objects.get(kind="notify.digest")
    assert digest.status == OutboxStatus.SENT
    assert not MailboxMessage.objects.exists()  # ...but there is nothing to tell


def test_stop_requested_queues_no_digest(mailbox, frozen, company, owner):
    worker = StubWorker()
    worker.stop.set()
    assert queue_digests(worker) == 0
