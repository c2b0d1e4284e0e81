"""Recurring profiles (abonnements) and the ledger that makes billing exactly-once.

The schedule fields map one to one onto `facturier.core.recurrence.Schedule`; the services
build that value and let `core` compute every date.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from facturier.billing.models.catalog import UNIT_CHOICES, VAT_CHOICES, LineKindChoices, Product
from facturier.billing.models.company import Company
from facturier.billing.models.customer import Customer
from facturier.billing.models.invoice import Invoice


class SubscriptionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    CANCELLED = "cancelled", _("Cancelled")
    FINISHED = "finished", _("Finished")


class FrequencyUnit(models.TextChoices):
    DAY = "day", _("day(s)")
    WEEK = "week", _("week(s)")
    MONTH = "month", _("month(s)")
    YEAR = "year", _("year(s)")
    SEMI_MONTHLY = "semi_monthly", _("twice a month")


class Timing(models.TextChoices):
    ADVANCE = "advance", _("In advance")
    ARREARS = "arrears", _("In arrears")


class EndKind(models.TextChoices):
    NEVER = "never", _("Never")
    COUNT = "count", _("After a number of invoices")
    UNTIL = "until", _("At a date")


class Subscription(models.Model):
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="subscriptions")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=SubscriptionStatus.choices, default="active"
    )
    # --- schedule (core.recurrence.Schedule) ---
    frequency_unit = models.CharField(_("every"), max_length=12, choices=FrequencyUnit.choices)
    interval = models.PositiveSmallIntegerField(_("interval"), default=1)
    semi_monthly_day1 = models.PositiveSmallIntegerField(default=1)
    semi_monthly_day2 = models.PositiveSmallIntegerField(default=15)
    # First full period start; occurrences are computed from it, never chained.
    anchor = models.DateField(_("billing anchor"))
    # Service start before the anchor: a prorated stub period is billed first.
    start = models.DateField(_("service start"), null=True, blank=True)
    timing = models.CharField(_("billing"), max_length=8, choices=Timing.choices, default="advance")
    days_before = models.PositiveSmallIntegerField(_("days before the period"), default=0)
    end_kind = models.CharField(_("ends"), max_length=6, choices=EndKind.choices, default="never")
    end_count = models.PositiveIntegerField(_("number of invoices"), null=True, blank=True)
    end_date = models.DateField(_("last day of service"), null=True, blank=True)
    prorate_last = models.BooleanField(_("prorate the last period"), default=False)
    # --- invoicing ---
    payment_terms_days = models.PositiveSmallIntegerField(null=True, blank=True)
    customer_po = models.CharField(_("purchase order"), max_length=50, blank=True)
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    copy_sales_rep = models.BooleanField(_("copy the sales rep"), default=True)
    # Invoices wait as drafts for a person to review and issue them.
    # False: "issue without sending" -- the invoice waits to be sent by hand.
    send_invoices = models.BooleanField(_("email the invoices"), default=True)
    review_before_issue = models.BooleanField(_("review before issue"), default=False)
    # --- state (one writer each: the subscription services and the billing run) ---
    # Periods starting on or after this date are never billed (cancel now / at period end).
    cancelled_from = models.DateField(null=True, blank=True)
    # Billing date of the next period not yet handled; None when the end rule is exhausted.
    next_billing_date = models.DateField(_("next billing date"), null=True, blank=True)
    # Set up or re-priced by someone who may not issue invoices (a sales rep): until an owner
    # or accountant approves it, the billing run prepares its invoices as drafts for review.
    awaiting_approval = models.BooleanField(_("awaiting approval"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            # The billing run's claim: due subscriptions in billing-date order.
            models.Index(
                fields=["company", "next_billing_date", "id"],
                condition=models.Q(status__in=["active", "paused"]),
                name="subscription_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} – {self.customer}"


class LineMode(models.TextChoices):
    FIXED = "fixed", _("Fixed")
    # Quantity = Σ usage records of the period, billed in arrears.
    METERED = "metered", _("Metered (usage)")
    # The invoice stays a draft until someone confirms the quantity.
    TO_CONFIRM = "to_confirm", _("To confirm")


class SubscriptionLine(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True)
    description = models.CharField(_("description"), max_length=500)
    kind = models.CharField(max_length=10, choices=LineKindChoices.choices, default="services")
    mode = models.CharField(max_length=10, choices=LineMode.choices, default=LineMode.FIXED)
    quantity = models.DecimalField(_("quantity"), max_digits=16, decimal_places=4, default=1)
    unit_code = models.CharField(_("unit"), max_length=3, choices=UNIT_CHOICES, default="C62")
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=6)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    vat_code = models.CharField(_("VAT"), max_length=20, choices=VAT_CHOICES, default="FR-20")
    # The days the line is billed, inclusive (None: from the subscription's start / with no
    # end). A line added or removed by an edit takes effect from a period not yet billed, so
    # what was invoiced never changes; the row stays, for the history and its usage.
    starts_on = models.DateField(_("billed from"), null=True, blank=True)
    ends_on = models.DateField(_("billed until"), null=True, blank=True)

    class Meta:
        ordering = ["subscription", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "position"], name="subscription_line_position"
            )
        ]

    def __str__(self) -> str:
        return self.description


class ScheduledChange(models.Model):
    """A quantity or price that takes effect at a date."""

    line = models.ForeignKey(SubscriptionLine, on_delete=models.CASCADE, related_name="changes")
    effective = models.DateField(_("effective from"))
    quantity = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    unit_price = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    # Set when a change inside an already billed period was charged or refunded on a later
    # invoice, so the adjustment happens exactly once.
    adjusted_on = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)


class SubscriptionPause(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="pauses")
    start = models.DateField()
    end = models.DateField(null=True, blank=True)  # None: until resumed


class UsageRecord(models.Model):
    line = models.ForeignKey(SubscriptionLine, on_delete=models.PROTECT, related_name="usage")
    occurred_on = models.DateField()
    quantity = models.DecimalField(max_digits=16, decimal_places=4)
    # The sender's key: a record sent twice is stored once.
    idempotency_key = models.CharField(max_length=100)
    # The invoice that billed it: usage arriving late is billed by the next invoice, never lost.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["line", "idempotency_key"], name="usage_idempotent")
        ]
        indexes = [models.Index(fields=["line", "occurred_on"])]


class PeriodOutcome(models.TextChoices):
    INVOICED = "invoiced", _("Invoiced")
    DRAFTED = "drafted", _("Draft waiting for confirmation")
    SKIPPED = "skipped", _("Skipped")


class BilledPeriod(models.Model):
    """The exactly-once ledger: one row per (subscription, period start), whatever runs."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="billed_periods"
    )
    index = models.IntegerField()
    start = models.DateField()
    end = models.DateField()
    billing_date = models.DateField()
    outcome = models.CharField(max_length=10, choices=PeriodOutcome.choices)
    reason = models.CharField(max_length=200, blank=True)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="billed_periods"
    )
    run = models.ForeignKey("BillingRun", on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "start"], name="period_billed_once")
        ]


class RunStatus(models.TextChoices):
    RUNNING = "running", _("running")
    FINISHED = "finished", _("finished")
    # Its process died (killed, machine down): closed by a later run or a worker, its counts
    # recomputed from what it committed (its RunItem rows).
    INTERRUPTED = "interrupted", _("interrupted")


class BillingRun(models.Model):
    """One run of the billing engine, and what it did (the run ledger)."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, null=True, blank=True)
    as_of = models.DateField(null=True, blank=True)  # None: each company's today
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=11, choices=RunStatus.choices, default=RunStatus.RUNNING)
    # Who runs it, to tell a live run from an abandoned one: the process (pid on host), and
    # the time of its last committed batch (a run silent for too long is abandoned).
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    # The process's start in clock ticks after boot (Linux): a later process that reuses
    # the pid has another one.
    pid_start = models.PositiveBigIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    due = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    drafted = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["status"], name="billing_run_running", condition=models.Q(status="running")
            )
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.started_at:%Y-%m-%d %H:%M}"


class RunItem(models.Model):
    """What a run did with one period (or why it could not)."""

    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="items")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE)
    period_start = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=10)  # invoiced, drafted, skipped, failed
    reason = models.CharField(max_length=500, blank=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.SET_NULL, null=True, blank=True)
