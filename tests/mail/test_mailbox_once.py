"""The embedded mailbox keeps a message once per Message-ID: a message delivered again after
a crash (the worker died before recording that it was sent) is recognised and dropped, as a
deduplicating receiver would; the delivery log still shows both attempts."""

from __future__ import annotations

from facturier.billing.models import (
    DeliveryAttempt,
    MailboxMessage,
    OutboxMessage,
    OutboxStatus,
)
from facturier.mail.backends import MailboxBackend
from facturier.mail.compose import compose
from tests.mail.conftest import deliver_all


def test_a_redelivered_message_is_kept_once(mailbox, frozen, issued):
    issued()
    deliver_all()
    row = OutboxMessage.objects.get(kind="email.invoice")
    [kept] = MailboxMessage.objects.all()
    assert kept.message_id == f"<outbox-{row.pk}@facturier>"

    # The worker died after the mailbox had it, before the outcome was written: due again.
    payload = {k: v for k, v in row.payload.items() if k != "delivered"}
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=OutboxStatus.PENDING, payload=payload, sent_at=None, next_attempt_at=frozen.now
    )
    assert deliver_all() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, "")
    assert list(MailboxMessage.objects.values_list("pk", flat=True)) == [kept.pk]
    assert DeliveryAttempt.objects.filter(message=row, outcome="sent").count() == 4  # 2 × 2


def test_the_backend_drops_a_message_id_it_has(mailbox, frozen, issued):
    issued()
    deliver_all()
    row = OutboxMessage.objects.get(kind="email.invoice")
    email = compose(row)
    assert email is not None
    assert MailboxBackend().send_messages([email, email]) == 0
    assert MailboxMessage.objects.count() == 1
