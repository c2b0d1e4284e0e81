"""Payments received and how they settle invoices (DOMAIN invariant 8)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from facturier.billing.models.company import Company
from facturier.billing.models.customer import Customer
from facturier.billing.models.invoice import Invoice


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", _("Bank transfer")
    DIRECT_DEBIT = "direct_debit", _("SEPA direct debit")
    CARD = "card", _("Card")
    CHEQUE = "cheque", _("Cheque")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")


class Payment(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="payments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    received_on = models.DateField(_("received on"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    method = models.CharField(_("method"), max_length=12, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=140, blank=True)
    recorded_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_pos")]
        # The dashboard's payments per month read this index alone.
        indexes = [
            models.Index(fields=["company", "received_on", "amount"], name="payment_month_cover")
        ]

    def __str__(self) -> str:
        return f"{self.received_on} {self.amount} {self.currency}"


class PaymentAllocation(models.Model):
    # Σ allocations of a payment ≤ its amount: checked under lock by the payment service.
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="allocation_pos")
        ]
