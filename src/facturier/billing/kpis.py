"""Dashboard figures: SQL aggregates fed to the KPI arithmetic of `facturier.core.kpis`.

Every figure is a handful of grouped queries whatever the number of customers and invoices
(no per-row Python loop over invoices). `sales_rep` restricts everything to the customers a
sales user is in charge of (Company.sales_see_own_customers_only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    Case,
    CharField,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth

from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    BilledPeriod,
    ChainHead,
    Company,
    DocType,
    Invoice,
    InvoiceStatus,
    LineMode,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentReversal,
    ScheduledChange,
    Settlement,
    Subscription,
    SubscriptionLine,
    SubscriptionStatus,
)
from facturier.core import kpis

NOT_DUE = "not_due"
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=6)


@dataclass
class Figures:
    """Everything the dashboard shows, computed for one company on one day."""

    today: date
    currency: str
    mrr: Decimal
    arr: Decimal
    invoiced_this_month: Decimal  # invoices minus credit notes, incl. VAT
    collected_this_month: Decimal
    ageing: kpis.Ageing
    dso: Decimal | None
    drafts: int
    drafts_to_confirm: int
    failed_deliveries: int
    next_billing_date: date | None
    months: list[date]  # the last 12 months, first days, oldest first
    mrr_history: list[Decimal]
    invoiced_per_month: list[Decimal]
    collected_per_month: list[Decimal]


def issued_invoices(company: Company, sales_rep: User | None) -> QuerySet[Invoice]:
    qs = Invoice.objects.filter(company=company, status=InvoiceStatus.ISSUED)
    return qs.filter(customer__sales_rep=sales_rep) if sales_rep else qs


def _discount() -> Any:
    one = Value(Decimal(1), output_field=MONEY)
    return one - F("discount_percent") / Value(Decimal(100), output_field=MONEY)


def _own_amount() -> Any:
    """A subscription line's amount per period excl. VAT, from its own quantity and price."""
    return ExpressionWrapper(F("quantity") * F("unit_price") * _discount(), output_field=MONEY)


def _amount_on(today: date) -> Any:
    """The same with the latest quantity and price changes in effect on `today`."""
    latest = ScheduledChange.objects.filter(line=OuterRef("pk"), effective__lte=today)
    quantity = Coalesce(
        Subquery(latest.filter(quantity__isnull=False).order_by("-effective", "-pk")
                 .values("quantity")[:1]),
        F("quantity"),
    )  # fmt: skip
    price = Coalesce(
        Subquery(latest.filter(unit_price__isnull=False).order_by("-effective", "-pk")
                 .values("unit_price")[:1]),
        F("unit_price"),
    )  # fmt: skip
    return ExpressionWrapper(quantity * price * _discount(), output_field=MONEY)


def recurring_lines(
    company: Company, sales_rep: User | None, *, on: date | None = None
) -> QuerySet[SubscriptionLine]:
    """The recurring lines (billed on `on`, when given: a line added from a later date or
    removed before it is not)."""
    # Metered lines have no committed amount: they are not recurring revenue.
    qs = SubscriptionLine.objects.filter(subscription__company=company).exclude(
        mode=LineMode.METERED
    )
    if sales_rep:
        qs = qs.filter(subscription__customer__sales_rep=sales_rep)
    if on is not None:
        qs = qs.filter(Q(starts_on__isnull=True) | Q(starts_on__lte=on))
        qs = qs.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=on))
    return qs


def line_totals(
    lines: QuerySet[SubscriptionLine], keys: Sequence[str], *, today: date
) -> list[dict[str, Any]]:
    """Σ amounts per period of `lines` per group of `keys` (rows with the keys and "total"),
    with the changes in effect on `today`.

    Changes are rare: the lines' own values are summed in one query, and a second one adds the
    difference over the changed lines only (a correlated subquery on every line costs more).
    """
    groups = {
        tuple(row[k] for k in keys): row
        for row in lines.values(*keys).annotate(total=exact_sum(_own_amount(), places=6))
    }
    changed = lines.filter(
        pk__in=ScheduledChange.objects.filter(effective__lte=today).values("line_id")
    )
    deltas = changed.annotate(now=_amount_on(today)).values(*keys)
    for row in deltas.annotate(delta=exact_sum(F("now") - _own_amount(), places=6)):
        groups[tuple(row[k] for k in keys)]["total"] += row["delta"]
    return list(groups.values())


def current_mrr(company: Company, *, today: date, sales_rep: User | None = None) -> Decimal:
    lines = (
        recurring_lines(company, sales_rep, on=today)
        # Active and started: a subscription starting next month is not revenue yet.
        .filter(subscription__status=SubscriptionStatus.ACTIVE)
        .annotate(began=Coalesce("subscription__start", "subscription__anchor"))
        .filter(began__lte=today)
        # A cancellation or an end date already reached stops the revenue (the status may
        # still read "active" until the billing run closes the subscription).
        .filter(
            Q(subscription__cancelled_from__isnull=True) | Q(subscription__cancelled_from__gt=today)
        )
        .filter(Q(subscription__end_date__isnull=True) | Q(subscription__end_date__gte=today))
    )
    rows = line_totals(
        lines, ["subscription__frequency_unit", "subscription__interval"], today=today
    )
    return kpis.mrr(
        (
            kpis.RecurringAmount(
                Decimal(r["total"] or 0), r["subscription__frequency_unit"],
                r["subscription__interval"],
            )
            for r in rows
        ),
        company.currency,
    )  # fmt: skip


def mrr_history(
    company: Company, months: list[date], *, today: date, sales_rep: User | None = None
) -> list[Decimal]:
    """MRR at each month end, from when subscriptions started and stopped.

    Uses today's line amounts (price history is only known through scheduled changes) and
    counts paused subscriptions as running; a subscription ended by its invoice count stops
    after its last billed period.
    """
    finished = Q(subscription__status=SubscriptionStatus.FINISHED)
    lines = (
        recurring_lines(company, sales_rep)
        .exclude(subscription__status=SubscriptionStatus.DRAFT)
        .annotate(
            # Only month ends are looked at: a start or a cancellation is exact to the month,
            # which keeps one row per (frequency, start month, stop month) whatever the count.
            # A line added later begins then (never before its subscription starts).
            began=TruncMonth(
                Coalesce("starts_on", "subscription__start", "subscription__anchor"),
                output_field=DateField(),
            ),
            cancelled=TruncMonth("subscription__cancelled_from"),
            # A finished subscription is its own group: it stops after its last period.
            finished_id=Case(When(finished, then=F("subscription_id")), default=None),
        )
    )
    keys = ["subscription__frequency_unit", "subscription__interval", "began", "cancelled"]
    rows = line_totals(
        lines, [*keys, "subscription__end_date", "ends_on", "finished_id"], today=today
    )
    finished_ids = [r["finished_id"] for r in rows if r["finished_id"]]
    last_ends = dict(
        BilledPeriod.objects.filter(subscription_id__in=finished_ids)
        .values("subscription_id")
        .annotate(end=Max("end"))
        .values_list("subscription_id", "end")
    )
    for r in rows:
        r["finished_after"] = last_ends.get(r["finished_id"])
    spans = []
    for r in rows:
        stop = _stop(r)
        monthly = kpis.monthly_amount(
            kpis.RecurringAmount(
                Decimal(r["total"] or 0), r["subscription__frequency_unit"],
                r["subscription__interval"],
            )
        )  # fmt: skip
        spans.append(kpis.SubscriptionSpan(Fraction(monthly), r["began"], stop))
    return kpis.mrr_history(spans, months, company.currency)


def _stop(row: dict[str, Any]) -> date | None:
    """The first day without service of a subscription row, None when still running."""
    stops: list[date] = []
    if row["cancelled"]:
        # Cancelled from any day of month M: not running at the end of M (first of M as stop).
        stops.append(row["cancelled"])
    if row["subscription__end_date"]:
        stops.append(row["subscription__end_date"] + timedelta(days=1))
    if row["ends_on"]:  # a line removed from a date
        stops.append(row["ends_on"] + timedelta(days=1))
    if row["finished_after"]:
        stops.append(row["finished_after"] + timedelta(days=1))
    return min(stops) if stops else None


@dataclass
class InvoiceFigures:
    invoiced_per_month: list[Decimal]  # invoices − credit notes incl. VAT, by month of issue
    invoiced_since: Decimal  # the same over the DSO window
    ageing: kpis.Ageing


def invoice_figures(
    company: Company,
    months: list[date],
    *,
    today: date,
    since: date,
    sales_rep: User | None = None,
) -> InvoiceFigures:
    """Monthly invoicing, the DSO window and the receivables ageing in one pass over the
    issued documents: those of the last months, and the older ones still unpaid."""
    unpaid = Q(doc_type=DocType.INVOICE, settlement__in=[Settlement.OPEN, Settlement.PARTIAL])
    # Each row falls in one group (month, type, ageing bucket, in the DSO window): two plain
    # sums per group, instead of one filtered sum per figure and row.
    buckets = [When(unpaid & (Q(due_date__gte=today) | Q(due_date=None)), then=Value(NOT_DUE))]
    for key, _, _ in kpis.AGEING_BUCKETS:
        earliest, latest = kpis.bucket_due_dates(key, today)
        due = Q(due_date__lte=latest) & (Q(due_date__gte=earliest) if earliest else Q())
        buckets.append(When(unpaid & due, then=Value(key)))
    # Grouped by the issue day, added up into months here: TruncMonth is a Python function
    # called on every row on SQLite (twice as slow), and a few hundred days are few rows.
    rows = (
        issued_invoices(company, sales_rep)
        .filter(Q(issue_date__gte=min(months[0], since)) | unpaid)
        .annotate(bucket=Case(*buckets, default=Value(""), output_field=CharField()))
        .values("issue_date", "doc_type", "bucket")
        .annotate(total=exact_sum("total_gross"), settled=exact_sum("settled_amount"))
    )
    invoiced: list[tuple[date, Decimal]] = []
    window = Decimal(0)
    ageing = kpis.Ageing()
    for r in rows:
        signed = r["total"] if r["doc_type"] == DocType.INVOICE else -r["total"]
        invoiced.append((r["issue_date"], signed))
        window += signed if r["issue_date"] >= since else 0
        if r["bucket"] == NOT_DUE:
            ageing.not_due += r["total"] - r["settled"]
        elif r["bucket"]:
            ageing.buckets[r["bucket"]] += r["total"] - r["settled"]
    ageing.not_due = _money(ageing.not_due)
    ageing.buckets = {key: _money(value) for key, value in ageing.buckets.items()}
    return InvoiceFigures(
        invoiced_per_month=[_money(v) for v in kpis.per_month(invoiced, months)],
        invoiced_since=_money(window),
        ageing=ageing,
    )


def collected_per_month(
    company: Company, months: list[date], *, sales_rep: User | None = None
) -> list[Decimal]:
    qs = Payment.objects.filter(company=company, received_on__gte=months[0])
    if sales_rep:
        qs = qs.filter(customer__sales_rep=sales_rep)
    # By day, added up into months here (see invoice_figures); the index payment_month_cover
    # holds every column read.
    rows = qs.values("received_on").annotate(s=exact_sum("amount"))
    # A reversed payment was not collected after all: its reversal counts negative, in the
    # month it was reversed (the payment's own month is left as it was reported).
    back = PaymentReversal.objects.filter(payment__company=company, reversed_on__gte=months[0])
    if sales_rep:
        back = back.filter(payment__customer__sales_rep=sales_rep)
    undone = back.values("reversed_on").annotate(s=exact_sum("amount"))
    entries = [(r["received_on"], r["s"]) for r in rows]
    entries += [(r["reversed_on"], -r["s"]) for r in undone]
    return [_money(v) for v in kpis.per_month(entries, months)]


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Attention:
    """What waits for someone: cheap counts, always read fresh."""

    drafts: int
    drafts_to_confirm: int
    failed_deliveries: int
    next_billing_date: date | None


def attention(company: Company, *, sales_rep: User | None = None) -> Attention:
    drafts = Invoice.objects.filter(company=company, status=InvoiceStatus.DRAFT)
    subs = Subscription.objects.filter(company=company, status=SubscriptionStatus.ACTIVE)
    if sales_rep:
        drafts = drafts.filter(customer__sales_rep=sales_rep)
        subs = subs.filter(customer__sales_rep=sales_rep)
    counts = drafts.aggregate(
        all=Sum(Value(1)), to_confirm=Sum(Value(1), filter=Q(subscription__isnull=False))
    )
    next_date = subs.filter(next_billing_date__isnull=False).order_by("next_billing_date")
    return Attention(
        drafts=counts["all"] or 0,
        drafts_to_confirm=counts["to_confirm"] or 0,
        failed_deliveries=OutboxMessage.objects.filter(
            company=company, status=OutboxStatus.FAILED
        ).count(),
        next_billing_date=next_date.values_list("next_billing_date", flat=True).first(),
    )


def dashboard_figures(company: Company, *, today: date, sales_rep: User | None = None) -> Figures:
    months = kpis.month_starts(today, back=11)
    monthly = current_mrr(company, today=today, sales_rep=sales_rep)
    since = today - timedelta(days=kpis.DSO_WINDOW_DAYS - 1)
    documents = invoice_figures(company, months, today=today, since=since, sales_rep=sales_rep)
    invoiced, ageing = documents.invoiced_per_month, documents.ageing
    collected = collected_per_month(company, months, sales_rep=sales_rep)
    waiting = attention(company, sales_rep=sales_rep)
    return Figures(
        today=today,
        currency=company.currency,
        mrr=monthly,
        arr=kpis.arr(monthly),
        invoiced_this_month=invoiced[-1],
        collected_this_month=collected[-1],
        ageing=ageing,
        dso=kpis.dso(ageing.outstanding, documents.invoiced_since),
        drafts=waiting.drafts,
        drafts_to_confirm=waiting.drafts_to_confirm,
        failed_deliveries=waiting.failed_deliveries,
        next_billing_date=waiting.next_billing_date,
        months=months,
        mrr_history=mrr_history(company, months, today=today, sales_rep=sales_rep),
        invoiced_per_month=invoiced,
        collected_per_month=collected,
    )


def audit_tip(company: Company) -> str:
    """Changes with every audited write of the company (payments, issued documents,
    subscription changes...): the tips of its audit and document chains."""
    tips = ChainHead.objects.filter(company=company).values_list(
        "last_event_hash", "last_document_hash"
    )
    return ":".join(tips.first() or ("", ""))
