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
    """An entry of the ledger between payments and invoices (DOMAIN invariants 8 and 12).

    A positive amount settles `invoice` with part of `payment`; a negative one releases
    part of what the same payment had settled on the same invoice (a reversal of the payment,
    or a re-allocation to other invoices). Entries are never changed nor deleted, so the
    history of what settled what, and when it was believed, stays: an invoice's paid amount
    is the sum of its entries, and so is what a payment settled.
    """

    # Σ entries of a payment ≤ its amount, and Σ entries of a (payment, invoice) ≥ 0: checked
    # under lock by the payment services.
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    # Why a release was made ("reversal: cheque returned", "moved to F2026-00012").
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="allocation_nonzero")
        ]


class PaymentReversal(models.Model):
    """A payment undone (a cheque returned unpaid, a debit returned, a payment recorded by
    mistake): a dated counter-entry of the whole amount. The payment row never changes; its
    allocations are released by negative entries written in the same transaction."""

    # One reversal per payment: the unique key refuses a second one whatever the race.
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="reversal")
    reversed_on = models.DateField(_("reversed on"))
    # The payment's amount, stored so that sums read this table alone.
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=200)
    recorded_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment reversal")
        verbose_name_plural = _("payment reversals")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="reversal_pos")
        ]

    def __str__(self) -> str:
        return f"{self.reversed_on} -{self.amount}"


class Refund(models.Model):
    """Money paid back to a customer out of its credit (unallocated payments): money out."""

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="refunds")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="refunds")
    refunded_on = models.DateField(_("refunded on"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    method = models.CharField(_("method"), max_length=12, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=140, blank=True)
    recorded_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_pos")]
        indexes = [models.Index(fields=["company", "refunded_on"], name="refund_day")]

    def __str__(self) -> str:
        return f"{self.refunded_on} -{self.amount} {self.currency}"


class RefundDraw(models.Model):
    """The part of a refund taken from one payment's unallocated rest: so each payment's own
    rest stays exact (amount − its allocations − what refunds drew from it), and a payment
    whose money was refunded cannot be reversed as if it were still on account."""

    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="draws")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refund_draws")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_draw_pos")
        ]
