"""Numbering series (LEGAL-FR §2.1). The counter row is the lock that serialises issuers."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from facturier.billing.models.company import Company


class DocTypeChoices(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class NumberingSeries(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="series")
    doc_type = models.CharField(_("document type"), max_length=12, choices=DocTypeChoices.choices)
    # Tokens {YYYY} {YY} {MM} {SEQ:05}; frozen once a number was issued (NUM-03).
    pattern = models.CharField(_("pattern"), max_length=60)
    # Restart the counter each year; then the pattern must contain the year.
    yearly_reset = models.BooleanField(_("restart every year"), default=False)

    class Meta:
        verbose_name = _("numbering series")
        verbose_name_plural = _("numbering series")
        constraints = [
            models.UniqueConstraint(fields=["company", "doc_type"], name="series_per_doc_type")
        ]

    def __str__(self) -> str:
        return f"{self.company} {self.doc_type} {self.pattern}"


class SeriesCounter(models.Model):
    series = models.ForeignKey(NumberingSeries, on_delete=models.PROTECT, related_name="counters")
    # The counter's year with yearly reset, 0 otherwise.
    year = models.PositiveSmallIntegerField(default=0)
    last_value = models.PositiveIntegerField(default=0)
    # Checked before each number: a series never goes back in time (invariant 2).
    last_issue_date = models.DateField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="one_counter_per_year")
        ]
