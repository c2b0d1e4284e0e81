"""Reminder emails (contract with the dunning pass): the pass writes a Reminder row and an
`email.reminder` outbox row; mail composes it from the row and the company's level. The
Reminder rows are built directly here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from facturier.billing import clock
from facturier.billing.models import OutboxMessage, Reminder, ReminderLevel
from facturier.billing.services import InvalidInput, customer_update
from facturier.mail.templates import email_template_save
from tests.actors import SYS
from tests.mail.conftest import deliver_all, set_rep

D = Decimal


def _level(company, level, **flags) -> ReminderLevel:
    return ReminderLevel.objects.create(
        company=company, level=level, name=f"level {level}", days=level * 10, **flags
    )


def _remind(inv, *, level=None, manual=False, days_late=15, penalty="0", indemnity="0"):
    reminder = Reminder.objects.create(
        invoice=inv, level=level, manual=manual, sent_on=date(2027, 1, 14), days_late=days_late,
        amount_due=inv.total_gross, penalty=D(penalty), indemnity=D(indemnity),
    )  # fmt: skip
    reminder.message = OutboxMessage.objects.create(
        company=inv.company, kind="email.reminder", key=f"reminder:{reminder.pk}", invoice=inv,
        payload={"reminder_id": reminder.pk}, next_attempt_at=clock.now(),
    )  # fmt: skip
    reminder.save(update_fields=["message"])
    return reminder


@pytest.fixture
def archived(smtp, frozen, issued):
    """An issued invoice whose own email went out already (smtp.received emptied)."""
    inv = issued()
    deliver_all()
    assert len(smtp.received) == 1
    smtp.received.clear()
    return inv


def _text(received) -> str:
    return received.message.get_body(preferencelist=("plain",)).get_content()


def test_first_level_attaches_the_invoice(smtp, archived, company):
    _level(company, 1, attach_invoice=True)
    _remind(archived, level=1, days_late=-3)
    deliver_all()
    [got] = smtp.received
    msg = got.message
    assert got.subject == f"Rappel : facture {archived.number} – Atelier Test"
    assert msg["Cc"] is None
    assert sorted(got.rcpt_tos) == ["compta@boulangerie.example", "compta@example.com"]
    assert "il reste 120,00\xa0€ à régler" in _text(got)
    [pdf] = list(msg.iter_attachments())
    assert pdf.get_filename() == f"{archived.number}.pdf"


def test_formal_notice_states_penalties_and_indemnity(smtp, archived, company, customer, rep):
    set_rep(customer, rep)
    _level(company, 3, attach_invoice=False, copy_sales_rep=True, formal_notice=True)
    _remind(archived, level=3, days_late=45, penalty="1.79", indemnity="40")
    deliver_all()
    [got] = smtp.received
    msg = got.message
    assert got.subject == f"Mise en demeure de payer : facture {archived.number} – Atelier Test"
    assert msg["Cc"] == "claire@atelier.example"
    assert "claire@atelier.example" in got.rcpt_tos and "compta@example.com" in got.rcpt_tos
    assert list(msg.iter_attachments()) == []
    text = " ".join(_text(got).split())
    assert "Conformément à l'article L441-10 du Code de commerce" in text
    assert "au taux annuel de 12,15 % : elles s'élèvent à 1,79 € au 14/01/2027." in text
    assert "indemnité forfaitaire pour frais de recouvrement de 40,00 €" in text
    assert "la somme de 161,79 €" in text  # 120 + 1.79 + 40
    assert "45 jours de retard" in text


def test_formal_notice_in_english_without_indemnity(smtp, archived, company, customer):
    customer_update(customer, language="en")
    _level(company, 3, formal_notice=True)
    _remind(archived, level=3, days_late=45, penalty="1.79", indemnity="0")
    deliver_all()
    [got] = smtp.received
    assert got.subject.startswith(f"Formal notice to pay: invoice {archived.number}")
    text = " ".join(_text(got).split())
    assert "Under article L441-10 of the French Commercial Code" in text
    assert "they amount to €1.79 as of 14 Jan 2027." in text
    assert "fixed indemnity" not in text and "40" not in text.replace(archived.number, "")


def test_level_without_its_own_text_uses_the_generic_one(smtp, archived, company):
    _level(company, 7)
    _remind(archived, level=7)
    deliver_all()
    [got] = smtp.received
    assert got.subject == f"Relance : facture {archived.number} – Atelier Test"


def test_company_wording_of_a_level_and_manual_reminders(smtp, archived, company):
    email_template_save(
        company, kind="reminder.2", language="fr", actor=SYS,
        subject="Rappel n°{level} – {number}",
        body="Il reste {amount_due} sur {number}, {days_late} jours après le {due_date}.",
    )  # fmt: skip
    _level(company, 2, attach_invoice=False)
    _remind(archived, level=2, days_late=20)
    _remind(archived, manual=True, days_late=21)
    deliver_all()
    by_subject = {r.subject: r for r in smtp.received}
    own = by_subject[f"Rappel n°2 – {archived.number}"]
    assert _text(own).strip() == (
        f"Il reste 120,00\xa0€ sur {archived.number}, 20 jours après le 30/12/2026."
    )
    manual = by_subject[f"Relance : facture {archived.number} – Atelier Test"]
    assert len(list(manual.message.iter_attachments())) == 1  # by hand: the invoice attached


def test_formal_wording_must_keep_the_legal_statement(company):
    with pytest.raises(
        InvalidInput, match=r"doit garder \{late_charges\} \(la mention exigée par la loi\)"
    ):
        email_template_save(
            company, kind="reminder.formal", language="fr", actor=SYS,
            subject="Mise en demeure {number}", body="Payez {total_due}.",
        )  # fmt: skip


def test_built_in_wording_follows_the_default_policy(smtp, archived, company):
    """Level 2 is the first reminder after the due date (the generic text), level 3 the
    second ("despite our previous reminder"): the built-in texts match the default levels."""
    _level(company, 2)
    _level(company, 3)
    _remind(archived, level=2, days_late=7)
    deliver_all()
    [first] = smtp.received
    assert first.subject == f"Relance : facture {archived.number} – Atelier Test"
    assert "précédent rappel" not in _text(first)
    smtp.received.clear()
    _remind(archived, level=3, days_late=15)
    deliver_all()
    [second] = smtp.received
    assert second.subject.startswith(f"Deuxième relance : facture {archived.number}")
    assert "Malgré notre précédent rappel" in _text(second)


def test_several_invoices_of_a_customer_go_in_one_statement(smtp, frozen, issued, company):
    """Four overdue invoices reach the formal notice the same day: one email listing each
    invoice with its penalties and indemnity, the totals, the four PDFs; each invoice keeps
    its own reminder row."""
    from facturier.billing.services.dunning import reminder_policy, reminders_run

    invoices = [issued() for _ in range(4)]
    deliver_all()
    smtp.received.clear()
    reminder_policy(company)
    day = invoices[0].due_date + timedelta(days=30)
    frozen.now = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)  # the pass of that day
    assert dict(reminders_run(as_of=day).sent) == {4: 4}
    deliver_all()
    [got] = smtp.received
    assert got.subject == "Mise en demeure de payer : 4 factures – Atelier Test"
    text = " ".join(_text(got).split())
    for inv in invoices:
        assert (
            f"{inv.number} du 30/11/2026, échue le 30/12/2026 (30 jours de retard) : reste dû "
            "120,00 € ; pénalités 1,20 € ; indemnité forfaitaire 40,00 €"
        ) in text
    assert "Le montant restant dû en principal s'élève à 480,00 €" in text
    assert "elles s'élèvent à 4,80 € au 29/01/2027" in text
    assert "la somme de 644,80 €" in text  # 4 × (120 + 1.20 + 40)
    assert f"les références {', '.join(i.number for i in invoices)}" in text
    names = sorted(a.get_filename() for a in got.message.iter_attachments())
    assert names == sorted(f"{i.number}.pdf" for i in invoices)
    reminders = Reminder.objects.filter(level=4)
    assert sorted(r.invoice_id for r in reminders) == sorted(i.pk for i in invoices)
    assert len({r.message_id for r in reminders}) == 1


def test_a_reminder_by_hand_before_the_due_date_is_a_courtesy(smtp, archived):
    from facturier.billing.services.dunning import reminder_send_now

    reminder_send_now(archived, by=SYS)  # issued today, due in 30 days
    deliver_all()
    [got] = smtp.received
    assert got.subject == f"Rappel d'échéance : facture {archived.number} – Atelier Test"
    text = " ".join(_text(got).split())
    assert "arrive à échéance le 30/12/2026" in text
    assert "pas encore réglée" not in text
