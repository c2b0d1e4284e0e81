"""Recurring profiles: create, pause, resume, cancel, change at a date, record usage."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from facturier.billing import clock
from facturier.billing.models import (
    BilledPeriod,
    Customer,
    Invoice,
    Product,
    ScheduledChange,
    Subscription,
    SubscriptionLine,
    SubscriptionPause,
    SubscriptionStatus,
    UsageRecord,
)
from facturier.billing.services.audit import audit_record
from facturier.billing.services.drafts import resolve_line
from facturier.billing.services.errors import InvalidInput, NotAllowed
from facturier.core import recurrence as rec
from facturier.core.billing_plan import PauseWindow, periods_for_invoices


def schedule_of(sub: Subscription) -> rec.Schedule:
    """The subscription's schedule as `core` computes it.

    "After N invoices" counts invoices, not periods: periods skipped by a pause push the end.
    """
    schedule = rec.Schedule(
        anchor=sub.anchor,
        frequency=rec.Frequency(
            rec.Unit(sub.frequency_unit),
            sub.interval,
            (sub.semi_monthly_day1, sub.semi_monthly_day2),
        ),
        end=rec.EndRule(
            kind=sub.end_kind,  # type: ignore[arg-type]
            count=sub.end_count if sub.end_kind == "count" else None,
            until=sub.end_date if sub.end_kind == "until" else None,
            prorate_last=sub.prorate_last and sub.end_kind == "until",
        ),
        start=sub.start if sub.start and sub.start < sub.anchor else None,
        timing=sub.timing,  # type: ignore[arg-type]
        days_before=sub.days_before,
    )
    if sub.end_kind == "count" and sub.end_count and sub.pk is not None:
        unbounded = dataclasses.replace(schedule, end=rec.EndRule())
        count = periods_for_invoices(unbounded, sub.end_count, pauses_of(sub))
        schedule = dataclasses.replace(schedule, end=rec.EndRule(kind="count", count=count))
    return schedule


def pauses_of(sub: Subscription) -> list[PauseWindow]:
    cached = sub.__dict__.get("_pauses")  # see recurring_lines.freeze_related
    pauses = cached if cached is not None else sub.pauses.all()
    return [PauseWindow(p.start, p.end) for p in pauses]


def next_billing_refresh(sub: Subscription) -> None:
    """Recompute the cached next billing date (and finish an exhausted subscription)."""
    handled = set(sub.billed_periods.values_list("start", flat=True))
    sub.next_billing_date, sub.status = next_billing(sub, handled)
    sub.save(update_fields=["next_billing_date", "status"])


def next_billing(sub: Subscription, handled: set[date]) -> tuple[date | None, str]:
    """(next billing date, status) given the starts of the periods already handled: the
    billing date of the first period neither handled, paused nor cancelled.

    A subscription whose schedule (or cancellation) is used up is finished (or cancelled);
    one that waits behind a pause "until resumed" stays paused, with no next date."""
    schedule = schedule_of(sub)
    pauses = pauses_of(sub)
    open_pause = next((p for p in pauses if p.end is None), None)
    status = sub.status
    horizon = max([*handled, sub.anchor]) + rec.ONE_DAY * 3700
    for period in rec.periods(schedule, until=horizon):
        if sub.cancelled_from and period.start >= sub.cancelled_from:
            break
        if period.start in handled:
            continue
        if open_pause is not None and period.start >= open_pause.start:
            # Nothing more until resumed — or ever, once cancelled while paused.
            if sub.cancelled_from:
                return None, SubscriptionStatus.CANCELLED
            return None, SubscriptionStatus.PAUSED
        if any(p.covers(period.start) for p in pauses):
            continue
        return rec.billing_date(schedule, period), status
    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED):
        status = SubscriptionStatus.CANCELLED if sub.cancelled_from else SubscriptionStatus.FINISHED
    return None, status


@dataclass(frozen=True)
class SubscriptionLineData:
    description: str = ""
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    vat_code: str | None = None
    unit_code: str | None = None
    discount_percent: Decimal = Decimal(0)
    mode: str = "fixed"
    kind: str | None = None
    product: Product | None = None


def _lines(sub: Subscription, lines: Sequence[SubscriptionLineData]) -> list[SubscriptionLine]:
    if not lines:
        raise InvalidInput("a subscription needs at least one line", field="lines")
    out = []
    for i, data in enumerate(lines, start=1):
        where = f"lines[{i}]"
        resolved = resolve_line(data, company=sub.company, where=where)
        if resolved.unit_price < 0:
            raise InvalidInput("a line needs a unit price ≥ 0", field=f"{where}.unit_price")
        if data.mode not in ("fixed", "metered", "to_confirm"):
            raise InvalidInput(f"unknown line mode '{data.mode}'", field=f"{where}.mode")
        out.append(
            SubscriptionLine(
                subscription=sub,
                position=i,
                product=data.product,
                description=resolved.description,
                kind=resolved.kind,
                mode=data.mode,
                quantity=Decimal(data.quantity),
                unit_code=resolved.unit_code,
                unit_price=resolved.unit_price,
                discount_percent=Decimal(data.discount_percent),
                vat_code=resolved.vat.code,
            )
        )
    return out


@transaction.atomic
def subscription_create(
    *,
    customer: Customer,
    name: str,
    lines: Sequence[SubscriptionLineData],
    frequency_unit: str,
    anchor: date,
    actor: str,
    interval: int = 1,
    **options: Any,
) -> Subscription:
    """A recurring profile, active at once; invoices come from the billing run.

    Options: semi_monthly_day1/2, start (prorated stub before the anchor), timing
    ("advance"/"arrears"), days_before, end_kind ("never"/"count"/"until"), end_count,
    end_date, prorate_last, payment_terms_days, customer_po, sales_rep, copy_sales_rep,
    review_before_issue.
    """
    if not name.strip():
        raise InvalidInput("a subscription needs a name", field="name")
    sub = Subscription(
        company=customer.company,
        customer=customer,
        name=name.strip(),
        frequency_unit=frequency_unit,
        interval=interval,
        anchor=anchor,
    )
    known = {f.name for f in Subscription._meta.get_fields()}
    for key, value in options.items():
        if key not in known or key in {"status", "next_billing_date", "cancelled_from"}:
            raise InvalidInput(f"unknown option '{key}'", field=key)
        setattr(sub, key, value)
    try:
        schedule_of(sub)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="frequency") from exc
    sub.save()
    SubscriptionLine.objects.bulk_create(_lines(sub, lines))
    next_billing_refresh(sub)
    audit_record(
        company=sub.company, actor=actor, action="subscription.created",
        object_type="subscription", object_id=sub.pk, data={"name": sub.name},
    )  # fmt: skip
    return sub


def _locked(sub: Subscription) -> Subscription:
    return Subscription.objects.select_for_update().get(pk=sub.pk)


@transaction.atomic
def subscription_pause(
    sub: Subscription, *, start: date, end: date | None = None, actor: str
) -> Subscription:
    """Pause from `start` (until `end`, or until resumed): periods starting in the pause are
    recorded as skipped and not billed."""
    sub = _locked(sub)
    if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED):
        raise NotAllowed(f"a {sub.status} subscription cannot be paused")
    if sub.pauses.filter(end__isnull=True).exists():
        raise NotAllowed("the subscription is already paused until resumed")
    if end is not None and end < start:
        raise InvalidInput("the pause ends before it starts", field="end")
    if sub.billed_periods.filter(start__gte=start).exclude(outcome="skipped").exists():
        raise NotAllowed("periods from that date are already billed", field="start")
    SubscriptionPause.objects.create(subscription=sub, start=start, end=end)
    # Status follows: "paused" once nothing more is billed until resumed (periods before
    # the pause start are still billed on their dates).
    next_billing_refresh(sub)
    audit_record(
        company=sub.company, actor=actor, action="subscription.paused",
        object_type="subscription", object_id=sub.pk, data={"start": start, "end": end},
    )  # fmt: skip
    return sub


@transaction.atomic
def subscription_resume(sub: Subscription, *, on: date, actor: str) -> Subscription:
    """End the open pause the day before `on`; billing continues on the same anchor."""
    sub = _locked(sub)
    pause = sub.pauses.filter(end__isnull=True).first()
    if pause is None:
        raise NotAllowed("the subscription is not paused")
    if on <= pause.start:
        raise InvalidInput("resume after the pause started", field="on")
    if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED):
        raise NotAllowed(f"a {sub.status} subscription cannot be resumed")
    pause.end = on - rec.ONE_DAY
    pause.save(update_fields=["end"])
    sub.status = SubscriptionStatus.ACTIVE
    next_billing_refresh(sub)
    audit_record(
        company=sub.company, actor=actor, action="subscription.resumed",
        object_type="subscription", object_id=sub.pk, data={"on": on},
    )  # fmt: skip
    return sub


@transaction.atomic
def subscription_cancel(
    sub: Subscription,
    *,
    actor: str,
    at_period_end: bool = True,
    on: date | None = None,
    credit: bool = False,
) -> Subscription:
    """Cancel: nothing is billed after the current period (at period end) or from `on`
    (cancel now, default today). With `credit`, cancelling now also issues a credit note
    for the days already invoiced from `on` on, prorated by days."""
    sub = _locked(sub)
    if sub.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.FINISHED):
        return sub  # already done: a retry is harmless
    today = on or clock.company_today(sub.company)
    schedule = schedule_of(sub)
    if at_period_end:
        current = list(rec.periods(schedule, until=today))
        cut = current[-1].end + rec.ONE_DAY if current else sub.anchor
    else:
        cut = today
    sub.cancelled_from = cut
    sub.save(update_fields=["cancelled_from"])
    next_billing_refresh(sub)
    if credit and not at_period_end:
        _credit_unused(sub, cut, actor)
    audit_record(
        company=sub.company, actor=actor, action="subscription.cancelled",
        object_type="subscription", object_id=sub.pk, data={"from": cut},
    )  # fmt: skip
    return sub


def _credit_unused(sub: Subscription, cut: date, actor: str) -> None:
    """One credit note per invoice that billed service from `cut` on, for those days."""
    from facturier.billing.services.credit_notes import credit_note_create
    from facturier.billing.services.drafts import LineData

    billed = BilledPeriod.objects.filter(
        subscription=sub, outcome="invoiced", end__gte=cut, invoice__status="issued"
    ).select_related("invoice")
    for period in billed:
        invoice = period.invoice
        assert invoice is not None  # outcome "invoiced" always has one
        lines = []
        for line in invoice.lines.order_by("position"):
            start, end = line.period_start or period.start, line.period_end or period.end
            unused = (end - max(start, cut)).days + 1
            if unused <= 0 or line.quantity <= 0:
                continue
            days = (end - start).days + 1
            lines.append(
                LineData(
                    description=f"{line.description} ({unused}/{days} j non consommés)",
                    quantity=line.quantity,
                    unit_price=(line.unit_price * unused / days).quantize(Decimal("0.000001")),
                    vat_code=line.vat_code,
                    unit_code=line.unit_code,
                    discount_percent=line.discount_percent,
                    kind=line.kind,
                    period_start=max(start, cut),
                    period_end=end,
                )
            )
        if lines:
            credit_note_create(invoice, actor=actor, lines=lines, reason="Résiliation")


@transaction.atomic
def subscription_change(
    line: SubscriptionLine,
    *,
    effective: date,
    actor: str,
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
) -> ScheduledChange:
    """A new quantity or price from `effective`; inside a billed period, the difference is
    prorated by days onto the next invoice."""
    if quantity is None and unit_price is None:
        raise InvalidInput("give a new quantity or a new price", field="quantity")
    if (quantity is not None and quantity < 0) or (unit_price is not None and unit_price < 0):
        raise InvalidInput("must not be negative", field="quantity")
    change = ScheduledChange.objects.create(
        line=line, effective=effective, quantity=quantity, unit_price=unit_price
    )
    sub = line.subscription
    audit_record(
        company=sub.company, actor=actor, action="subscription.changed",
        object_type="subscription", object_id=sub.pk,
        data={"line": line.position, "effective": effective, "quantity": quantity,
              "unit_price": unit_price},
    )  # fmt: skip
    return change


def usage_record(
    line: SubscriptionLine, *, occurred_on: date, quantity: Decimal, idempotency_key: str
) -> tuple[UsageRecord, bool]:
    """Store a usage record once per idempotency key; returns (record, created).

    Usage is billed by the first invoice whose metered period ends on or after the day it
    occurred, so a record arriving after its period was invoiced goes on the next invoice."""
    if line.mode != "metered":
        raise InvalidInput("usage is recorded on metered lines only", field="line")
    if not idempotency_key:
        raise InvalidInput("an idempotency key is required", field="idempotency_key")
    try:
        with transaction.atomic():
            record = UsageRecord.objects.create(
                line=line, occurred_on=occurred_on, quantity=quantity,
                idempotency_key=idempotency_key,
            )  # fmt: skip
            return record, True
    except IntegrityError:
        return UsageRecord.objects.get(line=line, idempotency_key=idempotency_key), False


@transaction.atomic
def draft_confirm(invoice: Invoice, *, actor: str) -> Invoice:
    """Issue a recurring draft that waited for confirmation or review."""
    from facturier.billing.services.issuing import invoice_issue

    issued = invoice_issue(invoice, actor=actor)
    BilledPeriod.objects.filter(invoice=issued, outcome="drafted").update(outcome="invoiced")
    return issued
