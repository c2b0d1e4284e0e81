"""The embedded mailbox: the email backend used when no SMTP server is configured.

Every message is kept in the database (`MailboxMessage`), byte for byte as it would have
been sent, with its envelope; nothing leaves the machine. `facturier mail list --mailbox`
and `facturier mail show ID` read it.

A message is kept once per Message-ID (unique in the database): the outbox delivers at least
once, and a message handed over again after a crash (same Message-ID) is recognised here and
dropped, as a receiving mail system that deduplicates would.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import make_msgid
from typing import Any

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from facturier.billing import clock
from facturier.billing.models import MailboxMessage


class MailboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        rows = []
        for email in email_messages:
            if not email.recipients():
                continue
            headers: dict[str, Any] = email.extra_headers
            message_id = headers.get("Message-ID")
            if not message_id:
                message_id = headers["Message-ID"] = make_msgid(domain="facturier")
            rows.append(
                MailboxMessage(
                    company_id=getattr(email, "company_id", None),
                    message_id=str(message_id)[:250],
                    subject=str(email.subject)[:500],
                    sender=str(email.from_email)[:300],
                    to=list(email.to),
                    cc=list(email.cc),
                    bcc=list(email.bcc),
                    raw=email.message().as_bytes(),
                    created_at=clock.now(),
                )
            )
        known = set(
            MailboxMessage.objects.filter(message_id__in=[r.message_id for r in rows]).values_list(
                "message_id", flat=True
            )
        )
        new = {r.message_id: r for r in rows if r.message_id not in known}
        # A concurrent delivery of the same message may win the race: the constraint keeps
        # one, and this one is dropped rather than failing the delivery.
        MailboxMessage.objects.bulk_create(new.values(), ignore_conflicts=True)
        return len(new)
