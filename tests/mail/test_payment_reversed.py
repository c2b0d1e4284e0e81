"""The sales rep is told of a reversed payment, in the staff's language, with the invoices
it no longer settles (queued in the reversal's transaction, delivered by the worker)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from email import policy
from email.parser import BytesParser

from facturier.billing.models import MailboxMessage, OutboxMessage, OutboxStatus
from facturier.billing.services import payment_record, payment_reverse
from facturier.mail.texts import BUILTIN, KINDS, check
from tests.actors import SYS
from tests.mail.conftest import deliver_all, set_rep

D = Decimal


def _body(box: MailboxMessage) -> str:
    return BytesParser(policy=policy.default).parsebytes(bytes(box.raw)).get_body().get_content()


def test_sales_rep_told_of_a_reversal(mailbox, frozen, customer, rep, issued):
    set_rep(customer, rep)
    inv = issued()
    payment = payment_record(
        customer=customer, amount=D("150"), received_on=date(2026, 11, 30), method="cheque",
        reference="CHQ 0042", actor=SYS,
    )  # fmt: skip
    reversal = payment_reverse(
        payment, reversed_on=date(2026, 11, 30), reason="Chèque impayé", actor=SYS
    )
    deliver_all()
    row = OutboxMessage.objects.get(kind="notify.payment_reversed")
    assert (row.key, row.status) == (f"payment-reversed:{reversal.pk}", OutboxStatus.SENT)
    box = MailboxMessage.objects.get(message_id=f"<outbox-{row.pk}@facturier>")
    assert box.to == ["claire@atelier.example"]
    assert box.subject == "Paiement annulé : Boulangerie Martin – 150,00\xa0€"
    body = _body(box)
    assert "Annulé le : 30/11/2026" in body and "Motif : Chèque impayé" in body
    assert f"- {inv.number} : 120,00\xa0€" in body
    assert "Référence : CHQ 0042" in body
    # The earlier "payment received" notice, delivered after the reversal, settles nothing.
    received = MailboxMessage.objects.get(subject__startswith="Paiement reçu")
    assert "Affectation :\n—" in _body(received)


def test_both_languages_use_only_their_placeholders():
    for language in ("fr", "en"):
        subject, body = BUILTIN["notify.payment_reversed", language]
        check("notify.payment_reversed", subject, body)
    assert "reopened" in KINDS["notify.payment_reversed"].placeholders
