"""Dunning: a company's reminder policy and the reminders sent (DOMAIN "Dunning")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from facturier.billing.models.company import Company
from facturier.billing.models.invoice import Invoice
from facturier.billing.models.outbox import OutboxMessage


class ReminderLevel(models.Model):
    """One level of a company's policy: sent `days` after the due date (negative = before)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="reminder_levels")
    level = models.PositiveSmallIntegerField(_("level"))
    name = models.CharField(_("name"), max_length=100)
    days = models.SmallIntegerField(_("days after the due date"))
    enabled = models.BooleanField(_("enabled"), default=True)
    attach_invoice = models.BooleanField(_("attach the invoice"), default=True)
    copy_sales_rep = models.BooleanField(_("copy the sales rep"), default=False)
    # The formal notice (mise en demeure) states the penalties accrued and the indemnity.
    formal_notice = models.BooleanField(_("formal notice"), default=False)

    class Meta:
        ordering = ["company", "level"]
        verbose_name = _("reminder level")
        verbose_name_plural = _("reminder levels")
        constraints = [
            models.UniqueConstraint(fields=["company", "level"], name="reminder_level_unique")
        ]


class Reminder(models.Model):
    """A reminder sent for an invoice: automatic ones at most once per (invoice, level)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    level = models.PositiveSmallIntegerField(_("level"), null=True, blank=True)
    manual = models.BooleanField(_("sent by hand"), default=False)
    sent_on = models.DateField(_("sent on"))
    days_late = models.IntegerField(_("days late"))
    amount_due = models.DecimalField(_("amount due"), max_digits=14, decimal_places=2)
    penalty = models.DecimalField(_("late penalties"), max_digits=14, decimal_places=2, default=0)
    indemnity = models.DecimalField(
        _("recovery indemnity"), max_digits=14, decimal_places=2, default=0
    )
    message = models.ForeignKey(
        OutboxMessage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice", "sent_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "level"],
                condition=models.Q(manual=False),
                name="reminder_once_per_level",
            )
        ]
