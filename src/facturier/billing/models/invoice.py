"""Invoices and credit notes: drafts, then issued legal documents that never change.

The legal content of an issued document is frozen three times over: `Invoice.save()` and
`delete()` refuse in code, and database triggers (migration 0002) refuse raw SQL. What may
still change lives in the MUTABLE_FIELDS: settlement state and flags kept beside the document.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from facturier.billing.models.catalog import LineKindChoices, Product
from facturier.billing.models.company import Company
from facturier.billing.models.customer import Customer
from facturier.billing.models.numbering import DocTypeChoices, NumberingSeries

DocType = DocTypeChoices
LineKind = LineKindChoices


class ImmutableDocumentError(Exception):
    """Raised when code tries to change or delete an issued invoice or credit note."""


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")


class Settlement(models.TextChoices):
    # Written only by the payment and credit-note services (one writer per state column).
    OPEN = "open", _("Unpaid")
    PARTIAL = "partial", _("Partially paid")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", _("Cancelled by credit note")


# Columns an issued document may still change; every other column is legal content.
MUTABLE_FIELDS = frozenset({"settled_amount", "settlement", "disputed"})


class Invoice(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    doc_type = models.CharField(
        _("type"), max_length=12, choices=DocTypeChoices.choices, default=DocType.INVOICE
    )
    status = models.CharField(
        _("status"), max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    # Legal number, given at issue only (a draft has none: invariant 3).
    number = models.CharField(_("number"), max_length=35, null=True, blank=True)
    series = models.ForeignKey(NumberingSeries, on_delete=models.PROTECT, null=True, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    # The counter's year when the series restarts yearly, else 0 (see SeriesCounter).
    series_year = models.PositiveSmallIntegerField(null=True, blank=True)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    # Service period (BG-14); for recurring invoices, the period billed.
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(_("period end"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    customer_po = models.CharField(_("purchase order"), max_length=50, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days)"), null=True)
    # The invoice a credit note corrects (CN-02: BT-25/BT-26).
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        verbose_name=_("corrected invoice"),
    )
    # The recurring profile that produced this invoice, if any.
    subscription = models.ForeignKey(
        "billing.Subscription",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
    )
    # Party identities as they were at issue: later edits of the company or customer
    # never change an issued document.
    seller = models.JSONField(null=True, blank=True)
    buyer = models.JSONField(null=True, blank=True)
    total_net = models.DecimalField(
        _("total excl. VAT"), max_digits=14, decimal_places=2, default=0
    )
    total_vat = models.DecimalField(_("VAT"), max_digits=14, decimal_places=2, default=0)
    total_gross = models.DecimalField(
        _("total incl. VAT"), max_digits=14, decimal_places=2, default=0
    )
    vat_breakdown = models.JSONField(default=list, blank=True)
    # Tamper evidence: the content hash chained to the company's previous document.
    chain_index = models.PositiveIntegerField(null=True, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # --- state beside the document (MUTABLE_FIELDS) ---
    settled_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    settlement = models.CharField(
        _("payment status"), max_length=10, choices=Settlement.choices, default=Settlement.OPEN
    )
    disputed = models.BooleanField(_("disputed"), default=False)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                condition=models.Q(number__isnull=False),
                name="invoice_number_unique",
            ),
            models.UniqueConstraint(
                fields=["series", "series_year", "sequence"],
                condition=models.Q(sequence__isnull=False),
                name="invoice_sequence_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft", number__isnull=True)
                | models.Q(status="issued", number__isnull=False, issue_date__isnull=False),
                name="invoice_number_iff_issued",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "settlement"]),
            # The company's last issued document (the chain's tip): issuing reads it to never
            # go back in time (billing/services/chronology.py).
            models.Index(fields=["company", "chain_index"], name="invoice_chain_tip"),
            # The invoice list: its page in display order (drafts first, newest first) and
            # its totals read this index alone on both databases (every filter and summed
            # column is a key column: SQLite has no INCLUDE). It also serves every lookup by
            # (company, status, issue date) and the dashboard's pass over issued documents.
            models.Index(
                fields=[
                    "company",
                    "status",
                    "-issue_date",
                    "-id",
                    "doc_type",
                    "settlement",
                    "due_date",
                    "customer",
                    "disputed",
                    "number",
                    "total_net",
                    "total_vat",
                    "total_gross",
                    "settled_amount",
                ],
                name="invoice_list_cover",
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("draft #%(pk)s") % {"pk": self.pk})

    @property
    def is_issued(self) -> bool:
        return self.status == InvoiceStatus.ISSUED

    @property
    def balance(self) -> Any:
        return self.total_gross - self.settled_amount

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and self._stored_status() == InvoiceStatus.ISSUED:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= MUTABLE_FIELDS:
                raise ImmutableDocumentError(
                    f"{self.number} is issued: its content cannot change; issue a credit note."
                )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self._stored_status() == InvoiceStatus.ISSUED:
            raise ImmutableDocumentError(f"{self.number} is issued and cannot be deleted.")
        return super().delete(*args, **kwargs)

    def _stored_status(self) -> str | None:
        # The stored state, not the in-memory one: issuing sets status before saving.
        if self.pk is None:
            return None
        return Invoice.objects.filter(pk=self.pk).values_list("status", flat=True).first()


class InvoiceLine(models.Model):
    # The database refuses INSERT/UPDATE/DELETE of lines of an issued document (0002).
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True)
    description = models.CharField(_("description"), max_length=500)
    kind = models.CharField(max_length=10, choices=LineKindChoices.choices, default="services")
    quantity = models.DecimalField(_("quantity"), max_digits=16, decimal_places=4)
    unit_code = models.CharField(_("unit"), max_length=3, default="C62")
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=6)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    discount_amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # The VAT table entry the line was built from; category, rate and wording are copied.
    vat_code = models.CharField(max_length=20, default="FR-20")
    vat_category = models.CharField(max_length=2, default="S")
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    exemption_reason = models.CharField(max_length=200, blank=True)
    net_amount = models.DecimalField(max_digits=14, decimal_places=2)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    # Set by the billing run on a line "to confirm": the quantity is the subscription's
    # placeholder, not yet confirmed by a person. Cleared when someone edits the quantity;
    # a draft is not issued with such a line unless its quantities are confirmed as they are
    # (on an issued invoice, True says the placeholder was confirmed as is).
    placeholder_quantity = models.BooleanField(_("quantity to confirm"), default=False)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="line_position_unique")
        ]

    def __str__(self) -> str:
        return self.description
