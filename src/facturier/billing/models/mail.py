"""Email: per-company templates, the delivery log, and the embedded mailbox."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from facturier.billing.models.company import Company
from facturier.billing.models.customer import Language
from facturier.billing.models.outbox import OutboxMessage


class EmailTemplate(models.Model):
    """A company's own wording for one kind of message in one language.

    Without a row, the built-in wording of that kind and language is used."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="email_templates")
    kind = models.CharField(_("message"), max_length=40)  # "invoice", "reminder.1", ...
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "kind", "language"], name="email_template_unique"
            )
        ]


class RecipientField(models.TextChoices):
    TO = "to", _("To")
    CC = "cc", _("Cc")
    BCC = "bcc", _("Bcc")


class AttemptOutcome(models.TextChoices):
    # Written before the message is handed to the server, replaced by the outcome once the
    # server answered: left as it is, the worker died in between (docs/mail.md).
    STARTED = "started", _("attempt started, outcome unknown")
    SENT = "sent", _("sent")
    RETRY = "retry", _("will retry")
    FAILED = "failed", _("failed")


class DeliveryAttempt(models.Model):
    """One try at handing one message to one recipient (the delivery log)."""

    message = models.ForeignKey(
        OutboxMessage, on_delete=models.CASCADE, related_name="attempts_log"
    )
    invoice = models.ForeignKey(
        "billing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="delivery_attempts",
    )
    recipient = models.EmailField(_("recipient"))
    field = models.CharField(max_length=3, choices=RecipientField.choices)
    outcome = models.CharField(_("outcome"), max_length=7, choices=AttemptOutcome.choices)
    error = models.TextField(blank=True)
    attempted_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["invoice", "attempted_at"])]


class MailboxMessage(models.Model):
    """A message kept by the embedded mailbox (no SMTP server configured): what was sent,
    byte for byte, readable from the CLI and the web UI."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="mailbox"
    )
    # Unique: a message delivered again (a worker died before recording that it was sent)
    # is kept once; each outbox row has its own stable Message-ID.
    message_id = models.CharField(max_length=250)
    subject = models.CharField(max_length=500)
    sender = models.CharField(max_length=300)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    bcc = models.JSONField(default=list)
    raw = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["company", "created_at"])]
        constraints = [models.UniqueConstraint(fields=["message_id"], name="mailbox_message_once")]
