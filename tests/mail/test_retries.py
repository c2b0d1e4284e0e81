"""Delivery failures through a real SMTP server: the server down for a while (retried with
backoff, delivered once when back, then no more attempts), permanent refusals (failed at
once, reported), temporary refusals of one recipient, and attempts running out."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from facturier.billing.models import (
    Customer,
    DeliveryAttempt,
    MailboxMessage,
    OutboxMessage,
    OutboxStatus,
)
from facturier.billing.services import payment_record
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.worker.outbox import MAX_ATTEMPTS, outbox_deliver, outbox_pass
from tests.actors import SYS
from tests.mail.conftest import deliver_all, set_rep

D = Decimal


def _email_row() -> OutboxMessage:
    return OutboxMessage.objects.get(kind="email.invoice")


def _ready(issued) -> OutboxMessage:
    """An issued invoice whose PDF is archived and whose email is queued."""
    inv = issued()
    assert outbox_deliver() == 1  # the render
    row = _email_row()
    assert row.invoice_id == inv.pk and row.status == OutboxStatus.PENDING
    return row


def test_server_down_then_back_delivers_once(smtp, frozen, issued):
    row = _ready(issued)
    smtp.stop()
    delays = []
    for attempt in (1, 2, 3):
        before = frozen.now
        assert outbox_deliver() == 1
        row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, attempt)
        assert "ConnectionRefusedError" in row.last_error
        delays.append(row.next_attempt_at - before)
        assert outbox_deliver() == 0  # not due yet: nothing is tried in between
        frozen.advance(delays[-1])
    assert delays == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    retries = DeliveryAttempt.objects.filter(message=row)
    assert retries.count() == 3 * 2  # each attempt logged for each recipient (To, Bcc)
    assert set(retries.values_list("outcome", flat=True)) == {"retry"}

    smtp.start()  # back on the same port
    assert outbox_deliver() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 4)
    [got] = smtp.received
    assert got.message["Message-ID"] == f"<outbox-{row.pk}@facturier>"
    for _ in range(5):  # much later: no more attempts, nothing sent again
        frozen.advance(timedelta(hours=6))
        assert outbox_deliver() == 0
    assert len(smtp.received) == 1
    assert DeliveryAttempt.objects.filter(message=row, outcome="sent").count() == 2


def test_permanent_refusal_fails_at_once_and_is_reported(smtp, frozen, issued, caplog):
    row = _ready(issued)
    smtp.handler.refuse = {
        "compta@boulangerie.example": "550 5.1.1 No such user",
        "compta@example.com": "550 5.1.1 No such user",
    }
    with caplog.at_level(logging.INFO, logger="facturier.worker"):
        summary = outbox_pass()
    assert (summary.handled, summary.sent, summary.failed) == (1, 0, 1)
    assert "1 failed" in caplog.text
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert "No such user" in row.last_error
    assert smtp.received == []
    log = DeliveryAttempt.objects.filter(message=row)
    assert {(a.recipient, a.outcome) for a in log} == {
        ("compta@boulangerie.example", "failed"),
        ("compta@example.com", "failed"),
    }
    assert all(a.error.startswith("550") for a in log)
    frozen.advance(timedelta(days=1))
    assert outbox_deliver() == 0  # never tried again

    runner = CliRunner()
    listed = runner.invoke(cli, ["mail", "list", "--failed"])
    assert listed.exit_code == 0, listed.output
    assert f"{row.pk:>6} email.invoice" in listed.output and "No such user" in listed.output
    everything = runner.invoke(cli, ["mail", "list"])
    assert "1 message(s) could not be delivered" in everything.output
    shown = runner.invoke(cli, ["mail", "show", str(row.pk)])
    assert "Status: failed, 1 attempt(s)" in shown.output
    assert "to  compta@boulangerie.example: failed (550 5.1.1 No such user)" in shown.output


def test_data_refused_for_good_fails_at_once(smtp, frozen, issued):
    row = _ready(issued)
    smtp.handler.refuse_data = "554 5.7.1 Message rejected as spam"
    assert outbox_deliver() == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert row.last_error == "554 5.7.1 Message rejected as spam"


def test_one_recipient_refused_for_now_gets_it_later_alone(smtp, frozen, issued):
    row = _ready(issued)
    smtp.handler.refuse = {"compta@boulangerie.example": "451 4.3.2 Try again later"}
    assert outbox_deliver() == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING and "Try again later" in row.last_error
    [first] = smtp.received
    assert first.rcpt_tos == ["compta@example.com"]  # accounting had it already
    smtp.handler.refuse = {}
    frozen.advance(timedelta(seconds=30))
    assert outbox_deliver() == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    second = smtp.received[1]
    assert second.rcpt_tos == ["compta@boulangerie.example"]  # only the one still missing
    assert first.message["Message-ID"] == second.message["Message-ID"]
    outcomes = [
        (a.recipient, a.outcome)
        for a in DeliveryAttempt.objects.filter(message=row).order_by("attempted_at", "pk")
    ]
    assert outcomes == [
        ("compta@boulangerie.example", "retry"),
        ("compta@example.com", "sent"),
        ("compta@boulangerie.example", "sent"),
    ]


def test_one_recipient_refused_for_good_fails_the_message_but_others_have_it(smtp, frozen, issued):
    row = _ready(issued)
    smtp.handler.refuse = {"compta@example.com": "550 5.1.1 Mailbox unavailable"}
    assert outbox_deliver() == 1
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert row.last_error == "refused: compta@example.com: 550 5.1.1 Mailbox unavailable"
    [got] = smtp.received
    assert got.rcpt_tos == ["compta@boulangerie.example"]


def test_attempts_run_out_then_failed(smtp, frozen, issued):
    row = _ready(issued)
    smtp.stop()
    for _ in range(MAX_ATTEMPTS):
        assert outbox_deliver() == 1
        frozen.advance(timedelta(days=1))
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, MAX_ATTEMPTS)
    assert row.next_attempt_at == frozen.now - timedelta(days=1)  # when it failed
    assert outbox_deliver() == 0
    last = DeliveryAttempt.objects.filter(message=row).order_by("-pk")[:2]
    assert {a.outcome for a in last} == {"failed"}
    smtp.start()
    assert deliver_all() == 0 and smtp.received == []


# --- messages that can never be sent (security issue 10) --------------------------------------


@pytest.mark.parametrize("transport", ["smtp", "mailbox"])
def test_a_message_that_cannot_be_built_fails_at_once_and_says_why(
    request, frozen, customer, rep, transport
):
    """A customer named "…\\r\\nBcc: …" (stored before the services refused it) made the
    payment notification raise BadHeaderError at every attempt: retried for an hour, then
    failed with a traceback's text. It fails at the first attempt now, with its reason, and
    nothing is sent (no injected Bcc)."""
    server = request.getfixturevalue(transport)
    Customer.objects.filter(pk=customer.pk).update(legal_name="Evil\r\nBcc: victim@evil.example")
    set_rep(customer, rep)
    payment_record(customer=customer, amount=D("10.00"), received_on=date(2026, 11, 30),
                   method="transfer", actor=SYS)  # fmt: skip
    row = OutboxMessage.objects.get(kind="notify.payment_received")
    summary = outbox_pass()
    assert (summary.handled, summary.failed) == (1, 1)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert row.last_error.startswith("cannot be sent, it cannot be built: Header values")
    assert "newlines" in row.last_error
    [attempt] = DeliveryAttempt.objects.filter(message=row)
    assert (attempt.recipient, attempt.outcome) == (rep.email, "failed")
    assert attempt.error == row.last_error
    if server is not None:
        assert server.received == []
    assert not MailboxMessage.objects.exists()
    frozen.advance(timedelta(days=1))
    assert outbox_deliver() == 0  # never tried again
    listed = CliRunner().invoke(cli, ["mail", "list", "--failed"])
    assert f"{row.pk:>6} notify.payment_received" in listed.output
    assert "cannot be built" in listed.output


def test_an_address_that_is_not_one_fails_for_good_and_the_others_get_it(smtp, frozen, issued):
    row = _ready(issued)
    invoice = row.invoice
    Customer.objects.filter(pk=invoice.customer_id).update(billing_emails=["compta@"])
    assert outbox_deliver() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert row.last_error == "refused: compta@: not a valid email address"
    [got] = smtp.received
    assert got.rcpt_tos == ["compta@example.com"]  # the accounting copy went out
    log = {(a.recipient, a.outcome) for a in DeliveryAttempt.objects.filter(message=row)}
    assert log == {("compta@", "failed"), ("compta@example.com", "sent")}
    frozen.advance(timedelta(days=1))
    assert outbox_deliver() == 0
