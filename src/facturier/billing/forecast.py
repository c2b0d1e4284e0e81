"""The forecast selector: invoices each active subscription will produce, never stored.

Every invoice to come is priced as the billing run would price it (the same period plan,
lines and totals code), but what is the same from one period to the next is computed once:
the related rows are read with a few queries (no `IN` list of every subscription id, no
model object per billed period) and the totals of an invoice are kept by the values they
depend on (most periods of a subscription have the same lines: quantity, price, VAT,
discount), so `build_lines` and `compute_totals` run once per distinct invoice, not once per
period; the period plan (pure) once per distinct schedule, history and pauses.
tests/billing/test_forecast_fast.py checks the result equals the plain computation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from facturier.billing import clock
from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    BilledPeriod,
    Company,
    ScheduledChange,
    Subscription,
    SubscriptionLine,
    SubscriptionPause,
    SubscriptionStatus,
    UsageRecord,
)
from facturier.billing.services import recurring_lines as rl
from facturier.billing.services.drafts import LineData, build_lines, line_inputs
from facturier.billing.services.errors import InvalidInput
from facturier.billing.services.limits import check_date
from facturier.billing.services.subscriptions import pauses_of, refuse_far_future, schedule_of
from facturier.core import recurrence as rec
from facturier.core.billing_plan import PlannedPeriod, plan_billing
from facturier.core.forecast import ForecastItem, add_months_first
from facturier.core.totals import compute_totals

USAGE_WINDOW = timedelta(days=90)
MAX_MONTHS = 120  # ten years ahead at most
FORECAST_STATUSES = [SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED]


def forecast(*, company: Company, today: date, months: int = 6) -> list[ForecastItem]:
    """Invoices to be issued from `today` to the end of the `months`-th month ahead.

    Periods already due but not yet billed are shown on `today` (the next run issues them).
    Metered lines are estimated from the average daily usage of the last 90 days.
    A `today` more than a year after the company's today, or before the dates anyone may
    give (`limits.check_date`), is refused (InvalidInput).
    """
    refuse_far_future(company, today, field="as_of")
    check_date(today, "as_of", today=clock.company_today(company))
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput(_("give 1 to %(max)s months") % {"max": MAX_MONTHS}, field="months")
    horizon = add_months_first(today, months + 1) - timedelta(days=1)
    subs, handled, billed = _load(company)
    daily = _daily_usage(company, today)
    totals = _Totals(company)
    plans = _Plans()
    items: list[ForecastItem] = []
    for sub in subs:
        items += _subscription_forecast(
            sub, today, horizon, daily, handled[sub.pk], billed[sub.pk], totals, plans
        )
    return sorted(items, key=lambda i: (i.on, i.subscription_id))


def _load(
    company: Company,
) -> tuple[list[Subscription], dict[int, set[date]], dict[int, list[rec.Period]]]:
    """The company's running subscriptions with their lines (and products), changes and
    pauses attached the way `recurring_lines.freeze_related` attaches them; and per
    subscription, the starts of its handled periods and its periods already invoiced."""
    running = Subscription.objects.filter(company=company, status__in=FORECAST_STATUSES)
    subs = list(running.select_related("customer").order_by("pk"))
    lines: dict[int, list[SubscriptionLine]] = defaultdict(list)
    line_qs = SubscriptionLine.objects.filter(subscription__in=running.values("pk"))
    for line in line_qs.select_related("product").order_by("subscription_id", "position", "pk"):
        line.__dict__["_changes"] = []
        lines[line.subscription_id].append(line)
    by_line = {line.pk: line for group in lines.values() for line in group}
    changes = ScheduledChange.objects.filter(line__subscription__in=running.values("pk"))
    for change in changes.order_by("pk"):
        by_line[change.line_id].__dict__["_changes"].append(change)
    pauses: dict[int, list[SubscriptionPause]] = defaultdict(list)
    for pause in SubscriptionPause.objects.filter(subscription__in=running.values("pk")).order_by(
        "pk"
    ):
        pauses[pause.subscription_id].append(pause)
    for sub in subs:
        sub.company = company  # the same object for all: one Company, not one per row
        sub.__dict__["_lines"] = lines[sub.pk]
        sub.__dict__["_pauses"] = pauses[sub.pk]
    handled: dict[int, set[date]] = defaultdict(set)
    billed: dict[int, list[rec.Period]] = defaultdict(list)
    rows = BilledPeriod.objects.filter(subscription__in=running.values("pk")).order_by("pk")
    for sub_id, index, start, end, outcome in rows.values_list(
        "subscription_id", "index", "start", "end", "outcome"
    ):
        handled[sub_id].add(start)
        if outcome in ("invoiced", "drafted"):  # as recurring_lines.billed_periods
            billed[sub_id].append(rec.Period(index, start, end))
    return subs, handled, billed


def _daily_usage(company: Company, today: date) -> dict[int, Decimal]:
    """Average daily usage of each metered line over the last 90 days, by line id."""
    rows = (
        UsageRecord.objects.filter(
            line__subscription__company=company,
            occurred_on__gt=today - USAGE_WINDOW,
            occurred_on__lte=today,
        )
        .values("line_id")
        .annotate(total=exact_sum("quantity", places=4))
    )
    return {r["line_id"]: r["total"] / USAGE_WINDOW.days for r in rows}


class _Totals:
    """(net, VAT) of an invoice's lines, computed once per distinct set of line values.

    The key holds every value `build_lines` and `compute_totals` read, in line order: the
    description only as "has one" (its text changes from period to period, never the
    amounts; an empty one is refused the same way), the product by id (one product object
    per id within a forecast)."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.known: dict[tuple[Any, ...], tuple[Decimal, Decimal]] = {}

    @staticmethod
    def _key(line: LineData) -> tuple[Any, ...]:
        product = line.product
        described = bool((line.description or (product.name if product else "")).strip())
        return (
            described, str(line.quantity), str(line.unit_price), line.vat_code,
            line.unit_code, str(line.discount_percent), str(line.discount_amount), line.kind,
            product.pk if product else None,
        )  # fmt: skip

    def of(self, lines: Sequence[LineData]) -> tuple[Decimal, Decimal]:
        key = tuple(self._key(line) for line in lines)
        found = self.known.get(key)
        if found is None:
            built = line_inputs(build_lines(self.company, lines))
            result = compute_totals(built, self.company.currency)
            found = self.known[key] = (result.net, result.vat)
        return found


class _Plans:
    """`plan_billing` (pure) computed once per distinct input: subscriptions billed on the
    same day of the month with the same history and pauses share their plan."""

    def __init__(self) -> None:
        self.known: dict[tuple[Any, ...], list[PlannedPeriod]] = {}

    def of(
        self, sub: Subscription, schedule: rec.Schedule, horizon: date, handled: set[date]
    ) -> list[PlannedPeriod]:
        pauses = tuple(pauses_of(sub))
        key = (schedule, horizon, frozenset(handled), pauses, sub.cancelled_from)
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = plan_billing(
                schedule, today=horizon, invoiced_starts=handled, pauses=pauses,
                cancelled_from=sub.cancelled_from,
            )  # fmt: skip
        return found


def _subscription_forecast(
    sub: Subscription,
    today: date,
    horizon: date,
    all_daily: dict[int, Decimal],
    handled: set[date],
    billed: list[rec.Period],
    totals: _Totals,
    plans: _Plans,
) -> list[ForecastItem]:
    schedule = schedule_of(sub)
    plan = plans.of(sub, schedule, horizon, handled)
    sub_lines = rl.lines_of(sub)
    daily = {line.pk: all_daily[line.pk] for line in sub_lines if line.pk in all_daily}
    has_metered = any(line.mode == "metered" for line in sub_lines)
    # Without usage nor metered lines the metered period changes nothing: not computed.
    needs_metered = bool(daily) or has_metered
    consumed: set[int] = set()  # changes already shown on an earlier forecast invoice
    out: list[ForecastItem] = []
    for planned in plan:
        if planned.action != "invoice":
            continue
        metered = rl._metered_period(schedule, planned.period) if needs_metered else None
        usage = (
            {k: (v * metered.days).quantize(Decimal("0.0001")) for k, v in daily.items()}
            if metered
            else {}
        )
        invoice = rl.period_invoice(
            sub, schedule, planned.period, billed=billed, usage=usage, consumed=consumed
        )
        net, vat = totals.of(invoice.lines)
        out.append(
            ForecastItem(
                on=max(planned.billing_date, today),
                subscription_id=sub.pk,
                subscription=sub.name,
                customer=sub.customer.legal_name,
                net=net,
                vat=vat,
                period_start=planned.period.start,
                period_end=planned.period.end,
                estimated=bool(metered and has_metered),
            )
        )
    return out
