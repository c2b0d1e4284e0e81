"""Cash expected per month, fast enough for the dashboard with thousands of subscriptions.

The exact forecast (`facturier.billing.forecast`) builds every future invoice line by line
(pauses, prorations, usage estimates): about 10 ms per subscription, far too slow for a
dashboard chart with 10,000 subscriptions. This projection keeps what moves the cash:
each active subscription's recurring lines (fixed and "to confirm", the lines and the quantity
and price changes in effect today) incl. VAT, billed on the schedule's billing dates from its next
billing date (end rules and cancellations respected), paid after its payment terms. It leaves
out metered usage, proration of a cut last period and pauses (a paused subscription counts
for nothing); the Forecast page shows the exact figures.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce, TruncMonth

from facturier.billing import kpis as queries
from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    Company,
    DocType,
    Settlement,
    Subscription,
    SubscriptionStatus,
)
from facturier.billing.services.subscriptions import schedule_of
from facturier.core import kpis
from facturier.core import recurrence as rec
from facturier.core.forecast import add_months_first
from facturier.core.money import round_money
from facturier.core.vat import vat_rate


def _gross_per_period(
    company: Company, subs: QuerySet[Subscription], today: date
) -> dict[int, Decimal]:
    """Σ lines incl. VAT of each subscription, VAT rounded per rate as on an invoice."""
    lines = queries.recurring_lines(company, None, on=today).filter(subscription__in=subs)
    gross: dict[int, Decimal] = defaultdict(Decimal)
    for r in queries.line_totals(lines, ["subscription_id", "vat_code"], today=today):
        net = round_money(Decimal(r["total"] or 0), company.currency)
        vat = round_money(net * vat_rate(r["vat_code"]).rate / 100, company.currency)
        gross[r["subscription_id"]] += net + vat
    return gross


def _billing_dates(sub: Subscription, *, today: date, horizon: date) -> list[date]:
    """The days `sub` will be invoiced from its next billing date to `horizon` (a period
    already due is invoiced today, by the next run)."""
    if sub.next_billing_date is None or sub.next_billing_date > horizon:
        return []
    schedule = schedule_of(sub)
    found = []
    for period in rec.periods_due(schedule, today=horizon):
        if sub.cancelled_from is not None and period.start >= sub.cancelled_from:
            break
        on = rec.billing_date(schedule, period)
        if on >= sub.next_billing_date:
            found.append(max(on, today))
    return found


def future_invoices(
    company: Company, *, today: date, months: int, sales_rep: User | None = None
) -> list[tuple[date, Decimal]]:
    """(due date, amount incl. VAT) of the invoices subscriptions will produce up to the end
    of the `months`-th month ahead (the current one being the first)."""
    horizon = add_months_first(today, months) - timedelta(days=1)
    subs = Subscription.objects.filter(
        company=company, status=SubscriptionStatus.ACTIVE, next_billing_date__lte=horizon
    )
    if sales_rep:
        subs = subs.filter(customer__sales_rep=sales_rep)
    gross = _gross_per_period(company, subs, today)
    loaded = (
        subs.annotate(
            terms=Coalesce(
                "payment_terms_days", "customer__payment_terms_days", company.payment_terms_days
            )
        )
        .prefetch_related("pauses")  # read by schedule_of for "after N invoices"
        .order_by("pk")
    )
    out = []
    for sub in loaded:
        amount = gross.get(sub.pk)
        if not amount:
            continue
        terms = timedelta(days=sub.terms)  # type: ignore[attr-defined]
        out += [(on + terms, amount) for on in _billing_dates(sub, today=today, horizon=horizon)]
    return out


def cash_expected(
    company: Company, *, today: date, months: int = 6, sales_rep: User | None = None
) -> list[Decimal]:
    """Cash expected in each month from this one: open balances at their due dates (overdue
    ones this month) plus the invoices to come at theirs."""
    balance = F("total_gross") - F("settled_amount")
    open_rows = (
        queries.issued_invoices(company, sales_rep)
        .filter(doc_type=DocType.INVOICE, settlement__in=[Settlement.OPEN, Settlement.PARTIAL])
        .annotate(month=TruncMonth(Coalesce("due_date", "issue_date")))
        .values("month")
        .annotate(s=exact_sum(balance))
    )
    expected = kpis.cash_expected(
        ((r["month"], r["s"]) for r in open_rows),
        future_invoices(company, today=today, months=months, sales_rep=sales_rep),
        today=today,
        months=months,
    )
    return [round_money(v, company.currency) for v in expected]
