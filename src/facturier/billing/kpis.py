"""Dashboard figures: SQL aggregates fed to the KPI arithmetic of `facturier.core.kpis`.

Every figure is a handful of grouped queries whatever the number of customers and invoices
(no per-row Python loop over invoices). `sales_rep` restricts everything to the customers a
sales user is in charge of (Company.sales_see_own_customers_only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth

from facturier.billing.forecast import forecast
from facturier.billing.models import (
    BilledPeriod,
    Company,
    DocType,
    Invoice,
    InvoiceStatus,
    LineMode,
    OutboxMessage,
    OutboxStatus,
    Payment,
    ScheduledChange,
    Settlement,
    Subscription,
    SubscriptionLine,
    SubscriptionStatus,
)
from facturier.core import kpis

MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=6)
ZERO = Value(Decimal(0), output_field=MONEY)


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


def _invoices(company: Company, sales_rep: User | None) -> QuerySet[Invoice]:
    qs = Invoice.objects.filter(company=company, status=InvoiceStatus.ISSUED)
    return qs.filter(customer__sales_rep=sales_rep) if sales_rep else qs


def _line_amount(today: date) -> Any:
    """A subscription line's amount per period excl. VAT, with its latest effective change."""
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
    discount = Value(Decimal(1), output_field=MONEY) - F("discount_percent") / Value(
        Decimal(100), output_field=MONEY
    )
    return ExpressionWrapper(quantity * price * discount, output_field=MONEY)


def _recurring_lines(company: Company, sales_rep: User | None, today: date) -> QuerySet[Any]:
    # Metered lines have no committed amount: they are not recurring revenue.
    qs = SubscriptionLine.objects.filter(subscription__company=company).exclude(
        mode=LineMode.METERED
    )
    if sales_rep:
        qs = qs.filter(subscription__customer__sales_rep=sales_rep)
    return qs.annotate(amount=_line_amount(today))


def current_mrr(company: Company, *, today: date, sales_rep: User | None = None) -> Decimal:
    rows = (
        _recurring_lines(company, sales_rep, today)
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
        .values("subscription__frequency_unit", "subscription__interval")
        .annotate(total=Sum("amount"))
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
    last_end = (
        BilledPeriod.objects.filter(subscription=OuterRef("subscription"))
        .order_by("-end")
        .values("end")[:1]
    )
    rows = (
        _recurring_lines(company, sales_rep, today)
        .exclude(subscription__status=SubscriptionStatus.DRAFT)
        .annotate(
            began=Coalesce("subscription__start", "subscription__anchor"),
            finished_after=Subquery(last_end),
        )
        .values(
            "subscription__frequency_unit",
            "subscription__interval",
            "subscription__status",
            "began",
            "subscription__cancelled_from",
            "subscription__end_date",
            "finished_after",
        )
        .annotate(total=Sum("amount"))
    )
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
    if row["subscription__cancelled_from"]:
        stops.append(row["subscription__cancelled_from"])
    if row["subscription__end_date"]:
        stops.append(row["subscription__end_date"] + timedelta(days=1))
    if row["subscription__status"] == SubscriptionStatus.FINISHED and row["finished_after"]:
        stops.append(row["finished_after"] + timedelta(days=1))
    return min(stops) if stops else None


def invoiced_per_month(
    company: Company, months: list[date], *, sales_rep: User | None = None
) -> list[Decimal]:
    """Invoices minus credit notes, incl. VAT, per month of issue."""
    rows = (
        _invoices(company, sales_rep)
        .filter(issue_date__gte=months[0])
        .annotate(month=TruncMonth("issue_date"))
        .values("month", "doc_type")
        .annotate(total=Sum("total_gross"))
    )
    signed = [
        (r["month"], r["total"] if r["doc_type"] == DocType.INVOICE else -r["total"]) for r in rows
    ]
    return [_money(v) for v in kpis.per_month(signed, months)]


def collected_per_month(
    company: Company, months: list[date], *, sales_rep: User | None = None
) -> list[Decimal]:
    qs = Payment.objects.filter(company=company, received_on__gte=months[0])
    if sales_rep:
        qs = qs.filter(customer__sales_rep=sales_rep)
    rows = qs.annotate(month=TruncMonth("received_on")).values("month").annotate(s=Sum("amount"))
    return [_money(v) for v in kpis.per_month(((r["month"], r["s"]) for r in rows), months)]


def receivables(company: Company, *, today: date, sales_rep: User | None = None) -> kpis.Ageing:
    """Unpaid balances of issued invoices by ageing bucket, in one query."""
    balance = ExpressionWrapper(F("total_gross") - F("settled_amount"), output_field=MONEY)
    sums: dict[str, Any] = {
        "not_due": Sum(balance, filter=Q(due_date__gte=today) | Q(due_date__isnull=True))
    }
    for key, _, _ in kpis.AGEING_BUCKETS:
        earliest, latest = kpis.bucket_due_dates(key, today)
        cond = Q(due_date__lte=latest)
        if earliest is not None:
            cond &= Q(due_date__gte=earliest)
        sums[key] = Sum(balance, filter=cond)
    row = (
        _invoices(company, sales_rep)
        .filter(doc_type=DocType.INVOICE, settlement__in=[Settlement.OPEN, Settlement.PARTIAL])
        .aggregate(**sums)
    )
    result = kpis.Ageing(not_due=_money(row.pop("not_due")))
    result.buckets = {key: _money(row[key]) for key, _, _ in kpis.AGEING_BUCKETS}
    return result


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def invoiced_since(company: Company, since: date, *, sales_rep: User | None = None) -> Decimal:
    row = (
        _invoices(company, sales_rep)
        .filter(issue_date__gte=since)
        .aggregate(
            inv=Sum("total_gross", filter=Q(doc_type=DocType.INVOICE)),
            cn=Sum("total_gross", filter=~Q(doc_type=DocType.INVOICE)),
        )
    )
    return _money(row["inv"]) - _money(row["cn"])


def dashboard_figures(company: Company, *, today: date, sales_rep: User | None = None) -> Figures:
    months = kpis.month_starts(today, back=11)
    monthly = current_mrr(company, today=today, sales_rep=sales_rep)
    ageing = receivables(company, today=today, sales_rep=sales_rep)
    invoiced = invoiced_per_month(company, months, sales_rep=sales_rep)
    collected = collected_per_month(company, months, sales_rep=sales_rep)
    window = invoiced_since(
        company, today - timedelta(days=kpis.DSO_WINDOW_DAYS - 1), sales_rep=sales_rep
    )
    drafts = Invoice.objects.filter(company=company, status=InvoiceStatus.DRAFT)
    subs = Subscription.objects.filter(company=company, status=SubscriptionStatus.ACTIVE)
    if sales_rep:
        drafts = drafts.filter(customer__sales_rep=sales_rep)
        subs = subs.filter(customer__sales_rep=sales_rep)
    counts = drafts.aggregate(
        all=Sum(Value(1)), to_confirm=Sum(Value(1), filter=Q(subscription__isnull=False))
    )
    next_date = subs.filter(next_billing_date__isnull=False).order_by("next_billing_date")
    return Figures(
        today=today,
        currency=company.currency,
        mrr=monthly,
        arr=kpis.arr(monthly),
        invoiced_this_month=invoiced[-1],
        collected_this_month=collected[-1],
        ageing=ageing,
        dso=kpis.dso(ageing.outstanding, window),
        drafts=counts["all"] or 0,
        drafts_to_confirm=counts["to_confirm"] or 0,
        failed_deliveries=OutboxMessage.objects.filter(
            company=company, status=OutboxStatus.FAILED
        ).count(),
        next_billing_date=next_date.values_list("next_billing_date", flat=True).first(),
        months=months,
        mrr_history=mrr_history(company, months, today=today, sales_rep=sales_rep),
        invoiced_per_month=invoiced,
        collected_per_month=collected,
    )


def cash_expected(
    company: Company, *, today: date, months: int = 6, sales_rep: User | None = None
) -> list[Decimal]:
    """Cash expected per month: open balances at their due dates (overdue ones this month)
    and the forecast invoices at their due dates (issue day + payment terms)."""
    balance = ExpressionWrapper(F("total_gross") - F("settled_amount"), output_field=MONEY)
    open_rows = (
        _invoices(company, sales_rep)
        .filter(doc_type=DocType.INVOICE, settlement__in=[Settlement.OPEN, Settlement.PARTIAL])
        .annotate(month=TruncMonth(Coalesce("due_date", "issue_date")))
        .values("month")
        .annotate(s=Sum(balance))
    )
    subs = Subscription.objects.filter(company=company)
    if sales_rep:
        subs = subs.filter(customer__sales_rep=sales_rep)
    terms = {
        pk: own if own is not None else (customer or company.payment_terms_days)
        for pk, own, customer in subs.values_list(
            "pk", "payment_terms_days", "customer__payment_terms_days"
        )
    }
    future = [
        (item.on + timedelta(days=terms[item.subscription_id]), item.gross)
        for item in forecast(company=company, today=today, months=months)
        if item.subscription_id in terms
    ]
    expected = kpis.cash_expected(
        ((r["month"], r["s"]) for r in open_rows), future, today=today, months=months
    )
    return [_money(v) for v in expected]
