"""Invoice emails through a real SMTP server: recipients (To, Cc, Bcc envelope), the archived
PDF attached byte for byte, the customer's language, once per document, "issue without
sending", and sending by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from click.testing import CliRunner
from django.core.files.storage import default_storage

from facturier.billing.models import (
    ArchivedDocument,
    DeliveryAttempt,
    OutboxMessage,
    OutboxStatus,
)
from facturier.billing.services import customer_update, invoice_issue
from facturier.billing.services.outbox import invoice_email_queue
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.worker.outbox import outbox_deliver
from tests.actors import SYS
from tests.mail.conftest import deliver_all, set_rep


def _archived_pdf(invoice) -> bytes:
    with default_storage.open(ArchivedDocument.objects.get(invoice=invoice).pdf_name, "rb") as f:
        return f.read()


def test_invoice_email_recipients_attachment_and_language(smtp, frozen, customer, rep, issued):
    set_rep(customer, rep)
    customer_update(
        customer, billing_emails=["compta@boulangerie.example", "chef@boulangerie.example"]
    )
    inv = issued()
    assert outbox_deliver() == 1  # the render; the email is queued for the next pass
    email_row = OutboxMessage.objects.get(kind="email.invoice")
    assert (email_row.key, email_row.invoice_id) == (f"invoice-email:{inv.pk}", inv.pk)
    assert smtp.received == []
    assert outbox_deliver() == 1

    [got] = smtp.received
    # Envelope: the billing contacts, the sales rep in copy, accounting in blind copy.
    assert sorted(got.rcpt_tos) == sorted(
        ["compta@boulangerie.example", "chef@boulangerie.example", "claire@atelier.example",
         "compta@example.com"]
    )  # fmt: skip
    msg = got.message
    assert msg["To"] == "compta@boulangerie.example, chef@boulangerie.example"
    assert msg["Cc"] == "claire@atelier.example"
    assert msg["Bcc"] is None  # blind: only in the envelope
    assert msg["Message-ID"] == f"<outbox-{email_row.pk}@facturier>"
    assert got.subject == f"Facture {inv.number} – Atelier Test"
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert f"notre facture {inv.number} du 30/11/2026" in body
    assert "Montant TTC : 120,00\xa0€" in body
    assert "À régler au plus tard le : 30/12/2026" in body
    assert "IBAN FR76 3000 6000 0112 3456 7890 189" in body
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == f"{inv.number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True) == _archived_pdf(inv)

    # The delivery log: one line per recipient, and the row is done.
    email_row.refresh_from_db()
    assert (email_row.status, email_row.attempts) == (OutboxStatus.SENT, 1)
    log = {(a.field, a.recipient, a.outcome) for a in DeliveryAttempt.objects.filter(invoice=inv)}
    assert log == {
        ("to", "compta@boulangerie.example", "sent"),
        ("to", "chef@boulangerie.example", "sent"),
        ("cc", "claire@atelier.example", "sent"),
        ("bcc", "compta@example.com", "sent"),
    }
    assert deliver_all() == 0  # nothing more to send
    assert len(smtp.received) == 1


def test_english_customer_gets_the_english_text(smtp, frozen, customer, issued):
    customer_update(customer, language="en")
    inv = issued()
    deliver_all()
    [got] = smtp.received
    msg = got.message
    assert got.subject == f"Invoice {inv.number} – Atelier Test"
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert f"Please find attached our invoice {inv.number} dated 30 Nov 2026." in body
    assert "Payment due by: 30 Dec 2026" in body
    assert "€120.00" in body
    assert got.rcpt_tos == ["compta@boulangerie.example", "compta@example.com"]  # no rep


def test_a_redelivered_render_does_not_queue_twice(smtp, frozen, issued):
    inv = issued()
    deliver_all()
    render = OutboxMessage.objects.get(kind="document.render")
    from facturier.worker.outbox import _deliver

    _deliver(render)  # the render row delivered again (a worker died before recording it)
    invoice_email_queue(inv)
    assert OutboxMessage.objects.filter(kind="email.invoice").count() == 1
    deliver_all()
    assert len(smtp.received) == 1


def test_credit_note_email_names_the_corrected_invoice(smtp, frozen, issued):
    from facturier.billing.services import credit_note_create

    inv = issued()
    note = credit_note_create(inv, actor=SYS)
    deliver_all()
    subjects = {r.subject for r in smtp.received}
    assert subjects == {
        f"Facture {inv.number} – Atelier Test",
        f"Avoir {note.number} – Atelier Test",
    }
    [credit] = [r.message for r in smtp.received if r.subject.startswith("Avoir")]
    assert f"qui corrige la facture {inv.number}" in credit.get_body().get_content()


def test_issue_without_sending_then_send_by_hand(smtp, frozen, company, customer, rep):
    from facturier.billing.services.billing_run import billing_run

    sub = subscription_create(
        customer=customer, name="Hébergement", actor=SYS, frequency_unit="month",
        anchor=date(2026, 11, 30), send_invoices=False, sales_rep=rep,
        lines=[SubscriptionLineData(description="Hébergement", unit_price=Decimal(50))],
    )  # fmt: skip
    billing_run(company=company)
    inv = sub.invoices.get()
    deliver_all()
    assert ArchivedDocument.objects.filter(invoice=inv).exists()
    assert not OutboxMessage.objects.filter(kind="email.invoice").exists()
    assert smtp.received == []
    runner = CliRunner()
    shown = runner.invoke(cli, ["invoices", "show", inv.number])
    assert shown.exit_code == 0, shown.output
    assert "its subscription issues invoices without sending them" in shown.output
    assert f"facturier invoices send {inv.number}" in shown.output

    for expected in (1, 2):  # each send by hand is a new message
        sent = runner.invoke(cli, ["invoices", "send", inv.number])
        assert sent.exit_code == 0, sent.output
        deliver_all()
        assert len(smtp.received) == expected
    first, second = (r.message for r in smtp.received)
    assert first["Message-ID"] != second["Message-ID"]
    assert first["Cc"] == "claire@atelier.example"  # the subscription's rep (copy_sales_rep)
    shown = runner.invoke(cli, ["invoices", "show", inv.number])
    assert shown.output.count("email.invoice (by hand): sent, 1 attempt(s)") == 2
    assert "to  compta@boulangerie.example: sent" in shown.output


def test_customer_without_billing_email_waits(smtp, frozen, customer, issued):
    from facturier.billing.models import Customer

    Customer.objects.filter(pk=customer.pk).update(billing_emails=[])
    inv = issued()
    deliver_all()
    assert not OutboxMessage.objects.filter(kind="email.invoice").exists()
    runner = CliRunner()
    shown = runner.invoke(cli, ["invoices", "show", inv.number])
    assert "the customer has no billing email" in shown.output
    refused = runner.invoke(cli, ["invoices", "send", inv.number])
    assert refused.exit_code == 2
    assert "has no billing email" in refused.output
    assert "Traceback" not in refused.output


def test_send_by_hand_refuses_a_document_not_yet_archived(smtp, frozen, issued):
    inv = issued()
    runner = CliRunner()
    refused = runner.invoke(cli, ["invoices", "send", inv.number])
    assert refused.exit_code == 2 and "is not archived yet" in refused.output
    assert not OutboxMessage.objects.filter(kind="email.invoice").exists()
    unknown = runner.invoke(cli, ["invoices", "send", "F1999-00001"])
    assert unknown.exit_code == 2 and "no document numbered" in unknown.output


def test_one_off_invoice_copies_the_customer_rep(smtp, frozen, customer, rep, issued):
    set_rep(customer, rep)
    inv = issued()
    deliver_all()
    [got] = smtp.received
    assert got.message["Cc"] == "claire@atelier.example"
    assert invoice_issue(inv, actor=SYS) == inv  # a retry of the issue queues nothing new
    deliver_all()
    assert len(smtp.received) == 1
