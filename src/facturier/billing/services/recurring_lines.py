"""What a subscription bills for a period: its invoice lines, from `core.subscription_lines`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    BilledPeriod,
    ScheduledChange,
    Subscription,
    SubscriptionLine,
    UsageRecord,
)
from facturier.billing.services.drafts import LineData
from facturier.core import recurrence as rec
from facturier.core import subscription_lines as sl
from facturier.core.money import format_date

_WORDS = {
    "fr": {"prorata": "prorata", "d": "j", "adjust": "Ajustement", "usage": "consommation"},
    "en": {"prorata": "prorated", "d": "d", "adjust": "Adjustment", "usage": "usage"},
}


@dataclass
class PeriodInvoice:
    """The invoice a period calls for, before anything is written."""

    period: rec.Period
    billing_date: date
    lines: list[LineData]
    to_confirm: bool
    adjusted_changes: list[int] = field(default_factory=list)
    metered: rec.Period | None = None


def freeze_related(subs: Sequence[Subscription]) -> None:
    """Turn the prefetched relations of `subs` into plain lists, read many times by the run
    (each `.all()` on a prefetched relation builds a new QuerySet: a third of the run's
    Python time). Only for objects that are not changed afterwards."""
    for sub in subs:
        lines = list(sub.lines.all())
        for line in lines:
            line.__dict__["_changes"] = list(line.changes.all())
        sub.__dict__["_lines"] = lines
        sub.__dict__["_billed"] = list(sub.billed_periods.all())
        sub.__dict__["_pauses"] = list(sub.pauses.all())


def lines_of(sub: Subscription) -> list[SubscriptionLine]:
    return sub.__dict__.get("_lines") or list(sub.lines.all())


def changes_of(line: SubscriptionLine) -> list[ScheduledChange]:
    cached = line.__dict__.get("_changes")
    return cached if cached is not None else list(line.changes.all())


def billed_of(sub: Subscription) -> list[BilledPeriod]:
    cached = sub.__dict__.get("_billed")
    return cached if cached is not None else list(sub.billed_periods.all())


def plan_lines(sub: Subscription) -> list[sl.PlanLine]:
    return [plan_line(line, line.pk) for line in lines_of(sub)]


def plan_line(line: SubscriptionLine, key: int) -> sl.PlanLine:
    return sl.PlanLine(
        key, line.description, line.quantity, line.unit_price, line.mode,  # type: ignore[arg-type]
        starts_on=line.starts_on, ends_on=line.ends_on,
    )  # fmt: skip


def plan_changes(
    sub: Subscription, *, pending_only: bool = False, consumed: Collection[int] = ()
) -> list[sl.Change]:
    """The subscription's changes; `pending_only`: those not yet reflected on an invoice
    (neither in the database nor in `consumed`, the ones this run already reflected)."""
    return [
        sl.Change(c.line_id, c.effective, c.quantity, c.unit_price, c.pk)
        for line in lines_of(sub)
        for c in changes_of(line)
        if not (pending_only and (c.adjusted_on_id or c.pk in consumed))
    ]


def plan_changes_of(line: SubscriptionLine) -> list[sl.Change]:
    """One line's changes, as `core` takes them."""
    return [sl.Change(c.line_id, c.effective, c.quantity, c.unit_price, c.pk)
            for c in changes_of(line)]  # fmt: skip


def _metered_period(schedule: rec.Schedule, period: rec.Period) -> rec.Period | None:
    """Usage is billed in arrears: with the period itself when billing in arrears, with the
    previous period when billing in advance (none before the first)."""
    if schedule.timing == "arrears":
        return period
    try:
        return rec.period_at(schedule, period.index - 1)
    except ValueError:
        return None


def unbilled_usage(
    sub: Subscription, until: date, *, after: date | None = None
) -> dict[int, Decimal]:
    """Usage not billed yet up to `until` (and after `after`: a catch-up run planning several
    periods at once gives each usage record to the first of them only)."""
    records = UsageRecord.objects.filter(line__subscription=sub, invoice__isnull=True)
    if after is not None:
        records = records.filter(occurred_on__gt=after)
    rows = (
        records.filter(occurred_on__lte=until)
        .values("line_id")
        .annotate(total=exact_sum("quantity", places=4))
    )
    return {r["line_id"]: r["total"] for r in rows}


def period_invoice(
    sub: Subscription,
    schedule: rec.Schedule,
    period: rec.Period,
    *,
    billed: Sequence[rec.Period],
    usage: dict[int, Decimal] | None = None,
    consumed: set[int] | None = None,
) -> PeriodInvoice:
    """Lines for `period`: fixed lines (split and prorated at changes), metered usage, and
    adjustments for changes that fell inside periods already billed."""
    words = _WORDS.get(sub.customer.language, _WORDS["fr"])
    subscription_lines = {line.pk: line for line in lines_of(sub)}
    plan = plan_lines(sub)
    changes = plan_changes(sub)
    metered = _metered_period(schedule, period)
    drafts = sl.period_lines(plan, changes, period, usage=usage, metered_period=metered)
    pending = plan_changes(sub, pending_only=True, consumed=consumed or ())
    adjustments = sl.adjustment_lines(plan, pending, billed)
    if consumed is not None:
        # Reflected on this invoice (split or adjusted): a later period must not adjust again.
        consumed.update(c.change_id for c in pending if c.effective <= period.end)
    lines = []
    for draft in [*drafts, *adjustments]:
        source = subscription_lines[draft.key]
        text = draft.description
        if draft.note:
            days, base = draft.note.removesuffix(" d").split("/")
            text += f" ({words['prorata']} {days}/{base} {words['d']})"
        if draft.adjusts:
            lang = sub.customer.language
            text = (
                f"{words['adjust']} {text} – {format_date(draft.period_start, locale=lang)}"
                f" → {format_date(draft.period_end, locale=lang)}"
            )
        if source.mode == "metered":
            text += f" – {words['usage']}"
        # A line to confirm carries its placeholder quantity until a person confirms it.
        placeholder = source.mode == "to_confirm" and not draft.adjusts
        lines.append(
            LineData(
                description=text,
                quantity=draft.quantity,
                unit_price=draft.unit_price,
                vat_code=source.vat_code,
                unit_code=source.unit_code,
                discount_percent=source.discount_percent,
                kind=source.kind,
                product=source.product,
                period_start=draft.period_start,
                period_end=draft.period_end,
                placeholder_quantity=placeholder,
            )
        )
    return PeriodInvoice(
        period=period,
        billing_date=rec.billing_date(schedule, period),
        lines=lines,
        to_confirm=any(line.placeholder_quantity for line in lines),
        adjusted_changes=[a.adjusts for a in adjustments if a.adjusts],
        metered=metered,
    )


def billed_periods(sub: Subscription) -> list[rec.Period]:
    """Periods already invoiced (or drafted) — from the prefetch when the caller made one."""
    return [
        rec.Period(p.index, p.start, p.end)
        for p in billed_of(sub)
        if p.outcome in ("invoiced", "drafted")
    ]
