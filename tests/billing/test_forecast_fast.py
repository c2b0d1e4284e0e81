"""The forecast's faster path (few queries, totals kept by line values) gives exactly what
pricing every period on its own gives: on a mixed set of subscriptions with pauses, metered
lines, scheduled changes (inside periods to come and inside periods already billed), end
dates with a prorated last period, a prorated first stub, products and discounts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import time_machine

from facturier.billing.forecast import USAGE_WINDOW, forecast
from facturier.billing.models import Subscription, SubscriptionStatus, UsageRecord
from facturier.billing.services import recurring_lines as rl
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.drafts import build_lines, line_inputs
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    pauses_of,
    schedule_of,
    subscription_change,
    subscription_create,
    subscription_pause,
    usage_record,
)
from facturier.core.billing_plan import plan_billing
from facturier.core.forecast import ForecastItem, add_months_first
from facturier.core.totals import compute_totals
from tests.actors import SYS

D = Decimal
TODAY = date(2026, 11, 28)


def _plain(company, today, months):
    """Every planned period priced on its own, straight from the models: the reference."""
    horizon = add_months_first(today, months + 1) - timedelta(days=1)
    usage: dict[int, Decimal] = {}
    for record in UsageRecord.objects.filter(
        occurred_on__gt=today - USAGE_WINDOW, occurred_on__lte=today
    ):
        usage[record.line_id] = usage.get(record.line_id, D(0)) + record.quantity
    daily_all = {k: v / USAGE_WINDOW.days for k, v in usage.items()}
    items = []
    subs = Subscription.objects.filter(
        company=company, status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED]
    ).order_by("pk")
    for sub in subs:
        schedule = schedule_of(sub)
        handled = set(sub.billed_periods.values_list("start", flat=True))
        plan = plan_billing(schedule, today=horizon, invoiced_starts=handled,
                            pauses=pauses_of(sub), cancelled_from=sub.cancelled_from)  # fmt: skip
        lines = list(sub.lines.all())
        daily = {line.pk: daily_all[line.pk] for line in lines if line.pk in daily_all}
        billed = rl.billed_periods(sub)
        consumed: set[int] = set()
        for planned in plan:
            if planned.action != "invoice":
                continue
            metered = rl._metered_period(schedule, planned.period)
            use = (
                {k: (v * metered.days).quantize(D("0.0001")) for k, v in daily.items()}
                if metered
                else {}
            )
            invoice = rl.period_invoice(sub, schedule, planned.period, billed=billed,
                                        usage=use, consumed=consumed)  # fmt: skip
            totals = compute_totals(line_inputs(build_lines(sub.company, invoice.lines)), "EUR")
            items.append(
                ForecastItem(
                    max(planned.billing_date, today), sub.pk, sub.name,
                    sub.customer.legal_name, totals.net, totals.vat, planned.period.start,
                    planned.period.end,
                    bool(metered and any(line.mode == "metered" for line in lines)),
                )
            )  # fmt: skip
    return sorted(items, key=lambda i: (i.on, i.subscription_id))


def _create(customer, name, lines, **options):
    options.setdefault("frequency_unit", "month")
    return subscription_create(customer=customer, name=name, actor=SYS, lines=lines, **options)


def test_fast_forecast_equals_pricing_each_period(customer, consumer, company, product):
    line = SubscriptionLineData
    with time_machine.travel(datetime(2026, 9, 1, 8, tzinfo=UTC), tick=False):
        billed = _create(
            customer, "Déjà facturé", anchor=date(2026, 9, 1),
            lines=[line(description="Licence", quantity=D(3), unit_price=D("19.90"))],
        )  # fmt: skip
    for day in (date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)):
        with time_machine.travel(datetime.combine(day, datetime.min.time(), UTC) + timedelta(
            hours=8), tick=False):  # fmt: skip
            billing_run(as_of=day, company=company)
    with time_machine.travel(datetime(2026, 11, 28, 8, tzinfo=UTC), tick=False):
        # A change inside a period already billed: an adjustment on the next invoice.
        subscription_change(billed.lines.get(), effective=date(2026, 11, 15), quantity=D(5),
                            actor=SYS)  # fmt: skip
        changed = _create(
            customer, "Hébergement", anchor=date(2026, 12, 1),
            lines=[line(description="Serveur", quantity=D(2), unit_price=D(50)),
                   line(description="Support", unit_price=D("12.345"), vat_code="FR-10",
                        discount_percent=D("7.5"))],
        )  # fmt: skip
        first_line = changed.lines.order_by("position").first()
        # Mid-period changes: the period is split and prorated.
        subscription_change(first_line, effective=date(2027, 1, 17), quantity=D(3), actor=SYS)
        subscription_change(first_line, effective=date(2027, 3, 1), unit_price=D(45), actor=SYS)
        paused = _create(
            consumer, "Abonnement pausé", anchor=date(2026, 12, 5),
            lines=[line(product=product), line(description="Option", unit_price=D(4))],
        )  # fmt: skip
        subscription_pause(paused, start=date(2027, 1, 1), end=date(2027, 2, 28), actor=SYS)
        # The same schedule without the pause: a plan of its own.
        unpaused = _create(
            consumer, "Sans pause", anchor=date(2026, 12, 5),
            lines=[line(description="Option", unit_price=D(4))],
        )  # fmt: skip
        metered = _create(
            customer, "API", anchor=date(2026, 11, 1), timing="arrears",
            lines=[line(description="Appels", quantity=D(0), unit_price=D("0.013"),
                        mode="metered"),
                   line(description="Forfait", unit_price=D(9))],
        )  # fmt: skip
        usage_record(metered.lines.get(mode="metered"), occurred_on=date(2026, 11, 10),
                     quantity=D(12345), idempotency_key="u1")  # fmt: skip
        _create(
            consumer, "Fin prorata", anchor=date(2026, 12, 10), end_kind="until",
            end_date=date(2027, 3, 20), prorate_last=True, start=date(2026, 11, 29),
            lines=[line(description="Location", unit_price=D(31))],
        )  # fmt: skip
        _create(
            consumer, "Trimestriel", anchor=date(2026, 12, 31), interval=3, end_kind="count",
            end_count=2, lines=[line(description="Entretien", unit_price=D("99.99"))],
        )  # fmt: skip
        fast = forecast(company=company, today=TODAY, months=6)
        plain = _plain(company, TODAY, 6)
    assert fast == plain
    # The set really is mixed: prorated, estimated, several prices for one subscription.
    assert any(i.estimated for i in fast)
    assert len({i.net for i in fast if i.subscription_id == changed.pk}) >= 3
    assert {i.subscription_id for i in fast} >= {billed.pk, changed.pk, paused.pk, metered.pk}
    count = {sub: sum(1 for i in fast if i.subscription_id == sub) for sub in (paused.pk,
             unpaused.pk)}  # fmt: skip
    assert count[paused.pk] == count[unpaused.pk] - 2  # January and February paused
    adjusted = [i for i in fast if i.subscription_id == billed.pk]
    assert adjusted[0].net != adjusted[-1].net  # the first one carries the adjustment
