"""Append-only, hash-chained audit events (LEGAL-FR AUD-04, DOMAIN invariant 9)."""

from __future__ import annotations

from django.db import models

from facturier.billing.models.company import Company


class ChainHead(models.Model):
    # One row per company: the tips of its two chains. Locked (SELECT … FOR UPDATE) by the
    # writer of the next link, so links are appended one at a time and never fork.
    company = models.OneToOneField(Company, on_delete=models.CASCADE, related_name="chain_head")
    last_event_hash = models.CharField(max_length=64, default="")
    last_document_hash = models.CharField(max_length=64, default="")
    documents = models.PositiveIntegerField(default=0)


class AuditEvent(models.Model):
    # The database refuses UPDATE and DELETE on this table (migration 0002 triggers).
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="audit_events")
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=50)
    data = models.JSONField(default=dict)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}:{self.object_id}"


class Checkpoint(models.Model):
    """A signed statement of a company's chain heads at one moment (docs/invoicing.md).

    The statement is also written to the archive storage (`file_name`, never overwritten), so
    removing the row or the file alone is seen by `audit verify`; a later chain that does not
    extend it (a rewritten history) is reported. The database refuses UPDATE and DELETE
    (migration 0016).
    """

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="checkpoints")
    at = models.DateTimeField()
    siren = models.CharField(max_length=9, blank=True)  # the company's, for a human reader
    documents = models.PositiveIntegerField()  # issued documents in the chain
    last_document_hash = models.CharField(max_length=64, blank=True)
    events = models.PositiveIntegerField()  # audit events in the chain
    last_event_hash = models.CharField(max_length=64, blank=True)
    # Ed25519 over the canonical statement (core/checkpoints.py); both empty when no key was
    # configured (an unsigned checkpoint: `audit verify` warns).
    key_id = models.CharField(max_length=64, blank=True)
    signature = models.CharField(max_length=100, blank=True)
    file_name = models.CharField(max_length=300, unique=True)

    class Meta:
        indexes = [models.Index(fields=["company", "at"])]

    def __str__(self) -> str:
        return f"checkpoint {self.company_id} {self.at:%Y-%m-%d %H:%M} d{self.documents}"
