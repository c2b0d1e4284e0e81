"""The live preview of a subscription being set up: its first invoices, dates and amounts.

Nothing is written: the unsaved data is checked the way `subscription_create` checks it, the
schedule comes from `core.recurrence`, each period's lines from `core.subscription_lines`
(stub and last-period proration included) and the totals from `core.totals`, as the billing
run would compute them. Metered lines are left out of the amounts (their quantity is the
usage still to come) and flagged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any

from facturier.billing.core_messages import core_message
from facturier.billing.models import Customer, ScheduledChange, Subscription, SubscriptionLine
from facturier.billing.services import recurring_lines as rl
from facturier.billing.services.drafts import LineData, build_lines, line_inputs
from facturier.billing.services.errors import InvalidInput
from facturier.billing.services.subscription_edit import EditPlan, subscription_edit_plan
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    _lines,
    check_dates,
    pauses_of,
    schedule_of,
    schedule_period_check,
    schedule_window_check,
)
from facturier.core import recurrence as rec
from facturier.core import subscription_lines as sl
from facturier.core.totals import compute_totals

PREVIEW_COUNT = 6

# The schedule options a preview takes, as `subscription_create` does.
OPTIONS = frozenset(
    {
        "semi_monthly_day1", "semi_monthly_day2", "start", "timing", "days_before",
        "end_kind", "end_count", "end_date", "prorate_last",
    }
)  # fmt: skip

# core.recurrence says what is wrong in words; these name the form field at fault.
_FIELD_OF_ERROR = (
    ("end rule kind", "end_kind"),
    ("semi-monthly", "semi_monthly_day1"),
    ("interval", "interval"),
    ("service start", "start"),
    ("end date", "end_date"),
    ("'until'", "end_date"),
    ("'count'", "end_count"),
    ("days_before", "days_before"),
    ("timing", "timing"),
    ("Unit", "frequency_unit"),
)


def schedule_error_field(message: str) -> str:
    """The input a schedule error is about.

    >>> schedule_error_field("service start must not be after the anchor")
    'start'
    """
    return next((f for key, f in _FIELD_OF_ERROR if key in message), "frequency_unit")


@dataclass(frozen=True)
class PreviewInvoice:
    period_start: date
    period_end: date
    billing_date: date  # when the schedule says the invoice is due
    issue_on: date  # when it will be issued: a period already due goes out with the next run
    prorated: bool
    net: Decimal
    vat: Decimal
    gross: Decimal
    metered: bool = False  # metered usage comes on top of the amounts shown
    to_confirm: bool = False  # waits as a draft for someone to confirm it
    was: Decimal | None = None  # an edit's preview: the amount excl. VAT before the edit


def _line_data(source: SubscriptionLine, values: SubscriptionLine | sl.DraftLine) -> LineData:
    """An invoice line of `source` with the quantity and price of `values`."""
    return LineData(
        description=source.description,
        quantity=values.quantity,
        unit_price=values.unit_price,
        vat_code=source.vat_code,
        unit_code=source.unit_code,
        discount_percent=source.discount_percent,
        kind=source.kind,
    )


def subscription_preview(
    *,
    customer: Customer,
    lines: Sequence[SubscriptionLineData],
    frequency_unit: str,
    anchor: date,
    today: date,
    interval: int = 1,
    count: int = PREVIEW_COUNT,
    **options: Any,
) -> list[PreviewInvoice]:
    """The first `count` invoices of a subscription not yet saved; InvalidInput names the
    field at fault (the same refusals as `subscription_create`)."""
    sub, schedule = _unsaved(customer, frequency_unit, anchor, interval, options, today)
    # The service's own line check (unsaved rows): the preview refuses what creation refuses.
    sources = _lines(sub, lines)
    # Quantities, prices and discounts checked once, each error naming its line.
    build_lines(sub.company, [_line_data(line, line) for line in sources])
    plan = [
        sl.PlanLine(line.position, line.description, line.quantity, line.unit_price, line.mode)  # type: ignore[arg-type]
        for line in sources
    ]
    by_position = {line.position: line for line in sources}
    metered = any(line.mode == "metered" for line in sources)
    to_confirm = any(line.mode == "to_confirm" for line in sources)
    # Periods starting up to occurrence `count` hold the first `count` (stub included); near
    # the end of the calendar (31/12/9999) there are fewer.
    try:
        horizon = rec.occurrence_start(schedule.anchor, schedule.frequency, count)
    except OverflowError:
        horizon = date.max
    out = []
    for period in islice(rec.periods(schedule, until=horizon), count):
        drafts = [d for d in sl.period_lines(plan, [], period) if d.key in by_position]
        data = [_line_data(by_position[draft.key], draft) for draft in drafts]
        totals = compute_totals(line_inputs(build_lines(sub.company, data)), sub.company.currency)
        billing = rec.billing_date(schedule, period)
        out.append(
            PreviewInvoice(
                period_start=period.start,
                period_end=period.end,
                billing_date=billing,
                issue_on=max(billing, today),
                prorated=period.prorated,
                net=totals.net,
                vat=totals.vat,
                gross=totals.gross,
                metered=metered,
                to_confirm=to_confirm,
            )
        )
    return out


def first_run_count(
    *,
    customer: Customer,
    frequency_unit: str,
    anchor: date,
    today: date,
    interval: int = 1,
    **options: Any,
) -> int:
    """How many invoices the first billing run after saving would produce at once: the
    periods already due on `today` (a catch-up; at most a year back, as creation refuses
    more). Shown before saving, so that nobody is surprised by a batch of invoices."""
    _sub, schedule = _unsaved(customer, frequency_unit, anchor, interval, options, today)
    return len(rec.periods_due(schedule, today=today))


def _unsaved(
    customer: Customer,
    frequency_unit: str,
    anchor: date,
    interval: int,
    options: dict[str, Any],
    today: date,
) -> tuple[Subscription, rec.Schedule]:
    """The subscription being set up, unsaved, and its schedule, checked the way
    `subscription_create` checks them (InvalidInput names the field at fault)."""
    unknown = set(options) - OPTIONS
    if unknown:
        key = sorted(unknown)[0]
        raise InvalidInput(f"unknown option '{key}'", field=key)
    sub = Subscription(
        company=customer.company,
        customer=customer,
        frequency_unit=frequency_unit,
        interval=interval,
        anchor=anchor,
        **options,
    )
    schedule_window_check(anchor, options.get("start"), today=today)
    try:
        schedule = schedule_of(sub)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(core_message(exc), field=schedule_error_field(str(exc))) from exc
    schedule_period_check(schedule)
    check_dates(sub)  # the same refusals as creation: not more than a year back...
    return sub, schedule


def next_invoices(
    sub: Subscription, *, today: date, count: int = PREVIEW_COUNT
) -> list[PreviewInvoice]:
    """The next `count` invoices of a saved subscription, as the billing run will price them
    (periods already billed, paused or cancelled are left out; changes inside a billed
    period add their prorated difference to the next invoice). Metered usage is not known
    yet: those lines count for nothing and are flagged. Reads `sub`'s relations from the
    caches `recurring_lines.freeze_related` sets when present (an edit's preview sets them
    to the edited lines)."""
    if "_lines" not in sub.__dict__:
        rl.freeze_related([sub])
    schedule = schedule_of(sub)
    handled = {p.start for p in rl.billed_of(sub)}
    billed = rl.billed_periods(sub)
    pauses = pauses_of(sub)
    first = rec.index_after(schedule, max(handled)) if handled else rec.first_index(schedule)
    consumed: set[int] = set()
    out: list[PreviewInvoice] = []
    for period in rec.periods_from(schedule, max(first, rec.first_index(schedule))):
        if len(out) >= count or (sub.cancelled_from and period.start >= sub.cancelled_from):
            break
        if period.start in handled or any(p.covers(period.start) for p in pauses):
            continue
        invoice = rl.period_invoice(sub, schedule, period, billed=billed, usage={},
                                    consumed=consumed)  # fmt: skip
        billed.append(period)
        totals = compute_totals(
            line_inputs(build_lines(sub.company, invoice.lines)), sub.company.currency
        )
        metered = any(line.mode == "metered" for line in rl.lines_of(sub) if line.ends_on is None)
        out.append(
            PreviewInvoice(
                period_start=period.start, period_end=period.end,
                billing_date=invoice.billing_date, issue_on=max(invoice.billing_date, today),
                prorated=period.prorated, net=totals.net, vat=totals.vat, gross=totals.gross,
                metered=metered, to_confirm=invoice.to_confirm,
            )
        )  # fmt: skip
    return out


def subscription_edit_preview(
    sub: Subscription, *, today: date, count: int = PREVIEW_COUNT, **edit: Any
) -> list[PreviewInvoice]:
    """The next invoices of `sub` as `subscription_update(sub, **edit)` would leave it, each
    with its amount before the edit (`was`) when the edit changes it. Checked as the
    service checks (InvalidInput / NotAllowed name the field); nothing is written."""
    before = {i.period_start: i.net for i in next_invoices(sub, today=today, count=count)}
    plan = subscription_edit_plan(sub, **edit)
    edited = _edited(plan)
    return [
        dataclasses.replace(item, was=before.get(item.period_start))
        if before.get(item.period_start) != item.net
        else item
        for item in next_invoices(edited, today=today, count=count)
    ]


def _edited(plan: EditPlan) -> Subscription:
    """The edited subscription in memory: its lines and changes as the edit leaves them
    (new rows get stand-in negative ids, never saved)."""
    sub = plan.sub
    new_changes: dict[int, list[ScheduledChange]] = {}
    stand_in = 0
    lines = []
    for line in plan.lines:
        if line in plan.dropped:
            continue
        if line.pk is None:
            stand_in -= 1
            line.pk = stand_in
        lines.append(line)
    for change in plan.changes:
        stand_in -= 1
        change.pk = stand_in
        new_changes.setdefault(change.line.pk, []).append(change)
    for line in lines:
        existing = list(line.changes.all()) if line.pk > 0 else []
        line.__dict__["_changes"] = existing + new_changes.get(line.pk, [])
    sub.__dict__["_lines"] = lines
    sub.__dict__["_billed"] = list(sub.billed_periods.all())
    sub.__dict__["_pauses"] = list(sub.pauses.all())
    return sub
