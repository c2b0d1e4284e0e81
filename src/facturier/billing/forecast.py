"""The forecast selector: invoices each active subscription will produce, never stored."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from facturier.billing.models import Company, Subscription, SubscriptionStatus, UsageRecord
from facturier.billing.services import recurring_lines as rl
from facturier.billing.services.drafts import build_lines, line_inputs
from facturier.billing.services.subscriptions import pauses_of, schedule_of
from facturier.core.billing_plan import plan_billing
from facturier.core.forecast import ForecastItem, add_months_first
from facturier.core.totals import compute_totals

USAGE_WINDOW = timedelta(days=90)


def forecast(*, company: Company, today: date, months: int = 6) -> list[ForecastItem]:
    """Invoices to be issued from `today` to the end of the `months`-th month ahead.

    Periods already due but not yet billed are shown on `today` (the next run issues them).
    Metered lines are estimated from the average daily usage of the last 90 days.
    """
    horizon = add_months_first(today, months + 1) - timedelta(days=1)
    items: list[ForecastItem] = []
    subs = list(
        Subscription.objects.filter(
            company=company, status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED]
        )
        .select_related("customer", "company")
        .prefetch_related("lines__changes", "lines__product", "pauses", "billed_periods")
        .order_by("pk")
    )
    # A handful of queries whatever the number of subscriptions (not a few per subscription).
    rl.freeze_related(subs)
    daily = _daily_usage(company, today)
    for sub in subs:
        items += _subscription_forecast(sub, today, horizon, daily)
    return sorted(items, key=lambda i: (i.on, i.subscription_id))


def _daily_usage(company: Company, today: date) -> dict[int, Decimal]:
    """Average daily usage of each metered line over the last 90 days, by line id."""
    rows = (
        UsageRecord.objects.filter(
            line__subscription__company=company,
            occurred_on__gt=today - USAGE_WINDOW,
            occurred_on__lte=today,
        )
        .values("line_id")
        .annotate(total=Sum("quantity"))
    )
    return {r["line_id"]: r["total"] / USAGE_WINDOW.days for r in rows}


def _subscription_forecast(
    sub: Subscription, today: date, horizon: date, all_daily: dict[int, Decimal]
) -> list[ForecastItem]:
    schedule = schedule_of(sub)
    handled = {p.start for p in rl.billed_of(sub)}
    plan = plan_billing(
        schedule, today=horizon, invoiced_starts=handled, pauses=pauses_of(sub),
        cancelled_from=sub.cancelled_from,
    )  # fmt: skip
    daily = {line.pk: all_daily[line.pk] for line in rl.lines_of(sub) if line.pk in all_daily}
    billed = rl.billed_periods(sub)
    consumed: set[int] = set()  # changes already shown on an earlier forecast invoice
    out: list[ForecastItem] = []
    for planned in plan:
        if planned.action != "invoice":
            continue
        metered = rl._metered_period(schedule, planned.period)
        usage = (
            {k: (v * metered.days).quantize(Decimal("0.0001")) for k, v in daily.items()}
            if metered
            else {}
        )
        invoice = rl.period_invoice(
            sub, schedule, planned.period, billed=billed, usage=usage, consumed=consumed
        )
        lines = line_inputs(build_lines(sub.company, invoice.lines))
        totals = compute_totals(lines, sub.company.currency)
        out.append(
            ForecastItem(
                on=max(planned.billing_date, today),
                subscription_id=sub.pk,
                subscription=sub.name,
                customer=sub.customer.legal_name,
                net=totals.net,
                vat=totals.vat,
                period_start=planned.period.start,
                period_end=planned.period.end,
                estimated=bool(
                    metered and any(line.mode == "metered" for line in rl.lines_of(sub))
                ),
            )
        )
    return out
