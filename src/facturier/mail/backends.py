"""The embedded mailbox: the email backend used when no SMTP server is configured.

Every message is kept in the database (`MailboxMessage`), byte for byte as it would have
been sent, with its envelope; nothing leaves the machine. `facturier mail list --mailbox`
and `facturier mail show ID` read it.
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
        MailboxMessage.objects.bulk_create(rows)
        return len(rows)
