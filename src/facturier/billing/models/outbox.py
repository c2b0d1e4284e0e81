"""The outbox: side effects written in the same transaction as the change that calls for them
(DOMAIN invariant 7). The worker delivers pending rows, at least once, retrying with backoff."""

from __future__ import annotations

from django.db import models

from facturier.billing.models.company import Company


class OutboxStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="outbox")
    kind = models.CharField(max_length=30)  # e.g. "notify.draft_to_confirm"
    # Unique: a change that is retried writes its message once.
    key = models.CharField(max_length=200, unique=True)
    payload = models.JSONField(default=dict)
    # The document the message is about, when there is one (delivery log, mailbox links).
    invoice = models.ForeignKey(
        "billing.Invoice",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    status = models.CharField(max_length=8, choices=OutboxStatus.choices, default="pending")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class ArchivedDocument(models.Model):
    """The legal files of an issued document, rendered once and never overwritten.

    The database refuses UPDATE and DELETE of these rows (migration 0008); `audit verify`
    recomputes each file's SHA-256 from the storage.
    """

    invoice = models.OneToOneField(
        "billing.Invoice", on_delete=models.PROTECT, related_name="archive"
    )
    pdf_name = models.CharField(max_length=300)
    pdf_sha256 = models.CharField(max_length=64)
    xml_name = models.CharField(max_length=300)
    xml_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
