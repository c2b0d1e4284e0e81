"""Recurring profiles: create, pause, resume, cancel, change at a date, record usage."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from facturier.billing import clock, extensions
from facturier.billing.core_messages import core_message
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
from facturier.billing.services.actors import Actor, actor_require
from facturier.billing.services.audit import audit_record
from facturier.billing.services.drafts import check_reverse_charge, resolve_line
from facturier.billing.services.errors import InvalidInput, NotAllowed
from facturier.billing.services.limits import (
    QUANTITY,
    UNIT_PRICE,
    check_date,
    check_decimal,
    check_period_length,
    check_text,
    check_visible,
)
from facturier.core import recurrence as rec
from facturier.core.billing_plan import PauseWindow, periods_for_invoices
from facturier.core.money import format_date
from facturier.core.roles import Can

# How far from the company's today a date may lie: a subscription starting earlier would
# have the next run catch up years of invoices; a run or forecast later is a typo.
YEAR = 12  # months

ZERO = Decimal(0)


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
        # None: a pause until resumed comes before the last invoice; no end until resumed.
        end = rec.EndRule() if count is None else rec.EndRule(kind="count", count=count)
        schedule = dataclasses.replace(schedule, end=end)
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
    # Period by period, jumping over each pause: no horizon to guess, and a long pause (or
    # one ending at the end of the calendar) costs one step.
    index = rec.first_index(schedule)
    while (period := rec.period_or_none(schedule, index)) is not None:
        index += 1
        if sub.cancelled_from and period.start >= sub.cancelled_from:
            break
        if period.start in handled:
            continue
        if open_pause is not None and period.start >= open_pause.start:
            # Nothing more until resumed — or ever, once cancelled while paused.
            if sub.cancelled_from:
                return None, SubscriptionStatus.CANCELLED
            return None, SubscriptionStatus.PAUSED
        ends = [p.end for p in pauses if p.end is not None and p.covers(period.start)]
        if ends:
            index = max(index, rec.index_after(schedule, max(ends)))
            continue
        return rec.billing_date(schedule, period), status
    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED):
        status = SubscriptionStatus.CANCELLED if sub.cancelled_from else SubscriptionStatus.FINISHED
    return None, status


def refuse_far_future(company: Any, day: date, *, field: str) -> None:
    """Refuse `day` when it lies more than a year after the company's today (billing or
    forecasting "as of" 31/12/9999 is a typo, and would plan every period until then)."""
    limit = rec.add_months(clock.company_today(company), YEAR)
    if day > limit:
        raise InvalidInput(
            _("%(date)s is more than a year ahead: give a date until %(limit)s")
            % {"date": format_date(day), "limit": format_date(limit)},
            field=field,
        )


def _last_billed_start(sub: Subscription) -> date | None:
    """Start of the last period already invoiced (or drafted), None if none."""
    billed = sub.billed_periods.filter(outcome__in=("invoiced", "drafted"))
    last: date | None = billed.aggregate(last=Max("start"))["last"]
    return last


def _refuse_before_billed(
    sub: Subscription, day: date, *, field: str, before_start: str, before_billed: str
) -> None:
    """Refuse `day` before the subscription's first period starts, or before the start of
    its last period already invoiced: the messages (with a %(start)s placeholder) say from
    which date at the earliest. Earlier invoices are corrected with credit notes."""
    first = rec.first_start(schedule_of(sub))
    if day < first:
        raise InvalidInput(before_start % {"start": format_date(first)}, field=field)
    last = _last_billed_start(sub)
    if last is not None and day < last:
        raise InvalidInput(before_billed % {"start": format_date(last)}, field=field)


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
    categories = []
    for i, data in enumerate(lines, start=1):
        where = f"lines[{i}]"
        resolved = resolve_line(data, company=sub.company, where=where)
        categories.append(resolved.vat.category)
        if resolved.unit_price < 0:
            raise InvalidInput(_("a line needs a unit price ≥ 0"), field=f"{where}.unit_price")
        check_decimal(resolved.unit_price, f"{where}.unit_price", **UNIT_PRICE)
        quantity = check_decimal(data.quantity, f"{where}.quantity", **QUANTITY, minimum=ZERO)
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
                quantity=quantity,
                unit_code=resolved.unit_code,
                unit_price=resolved.unit_price,
                discount_percent=Decimal(data.discount_percent),
                vat_code=resolved.vat.code,
            )
        )
    check_reverse_charge(sub.customer, categories)  # its invoices could not be drafted
    return out


@transaction.atomic
def subscription_create(
    *,
    customer: Customer,
    name: str,
    lines: Sequence[SubscriptionLineData],
    frequency_unit: str,
    anchor: date,
    actor: Actor,
    interval: int = 1,
    **options: Any,
) -> Subscription:
    """A recurring profile, active at once; invoices come from the billing run.

    Created by someone who may not issue invoices (a sales rep), it awaits the approval of
    an owner or accountant: until then the billing run prepares its invoices as drafts.

    Options: semi_monthly_day1/2, start (prorated stub before the anchor), timing
    ("advance"/"arrears"), days_before, end_kind ("never"/"count"/"until"), end_count,
    end_date, prorate_last, payment_terms_days, customer_po, sales_rep, copy_sales_rep,
    review_before_issue.
    """
    actor_require(actor, Can.MANAGE_SUBSCRIPTIONS, company=customer.company)
    if not name.strip():
        raise InvalidInput("a subscription needs a name", field="name")
    check_visible(check_text(name.strip(), "name", max_length=200), "name")
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
        if key not in known or key in _STATE_FIELDS:
            raise InvalidInput(f"unknown option '{key}'", field=key)
        if isinstance(value, str):  # the purchase order is printed on every invoice
            check_text(value, key, max_length=getattr(Subscription._meta.get_field(key),
                                                     "max_length", None))  # fmt: skip
        setattr(sub, key, value)
    check_dates(sub)
    sub.awaiting_approval = not actor.may(Can.ISSUE_INVOICES)
    sub.save()
    SubscriptionLine.objects.bulk_create(_lines(sub, lines))
    next_billing_refresh(sub)
    audit_record(
        company=sub.company, actor=actor, action="subscription.created",
        object_type="subscription", object_id=sub.pk,
        data={"name": sub.name, "awaiting_approval": sub.awaiting_approval},
    )  # fmt: skip
    extensions.subscription_changed.send(None, subscription=sub, change="created", actor=actor)
    return sub


# Written by the services only, never given as options.
_STATE_FIELDS = {"status", "next_billing_date", "cancelled_from", "awaiting_approval"}


def _needs_approval_after(sub: Subscription, actor: Actor) -> None:
    """A change of amounts by someone who may not issue puts the subscription back under
    approval: the worker prepares drafts until an owner or accountant approves it."""
    if not actor.may(Can.ISSUE_INVOICES) and not sub.awaiting_approval:
        sub.awaiting_approval = True
        sub.save(update_fields=["awaiting_approval"])


@transaction.atomic
def subscription_approve(sub: Subscription, *, actor: Actor) -> Subscription:
    """An owner or accountant approves what a sales rep set up: from the next run its
    invoices are issued (drafts already prepared stay drafts, to be reviewed one by one)."""
    actor_require(actor, Can.ISSUE_INVOICES, company=sub.company)
    sub = _locked(sub)
    if not sub.awaiting_approval:
        return sub
    sub.awaiting_approval = False
    sub.save(update_fields=["awaiting_approval"])
    audit_record(
        company=sub.company, actor=actor, action="subscription.approved",
        object_type="subscription", object_id=sub.pk, data={"name": sub.name},
    )  # fmt: skip
    extensions.subscription_changed.send(None, subscription=sub, change="approved", actor=actor)
    return sub


def check_dates(sub: Subscription) -> None:
    """A schedule `core` accepts, a service start before the first period, and a first
    period that is not years in the past (the next run would catch up every period since)."""
    today = clock.company_today(sub.company)
    schedule_window_check(sub.anchor, sub.start, today=today)
    if sub.start is not None and sub.anchor is not None and sub.start > sub.anchor:
        raise InvalidInput(
            _("the service start must be before the first period start (%(anchor)s)")
            % {"anchor": format_date(sub.anchor)},
            field="start",
        )
    try:
        schedule = schedule_of(sub)
    except (ValueError, OverflowError) as exc:
        field = "start" if str(exc).startswith("service start") else "frequency"
        raise InvalidInput(core_message(exc), field=field) from exc
    schedule_period_check(schedule)
    first = rec.first_start(schedule)
    if first < rec.add_months(today, -YEAR):
        raise InvalidInput(
            _(
                "the first period would start on %(start)s, more than a year ago: start "
                "from the next period to invoice"
            )
            % {"start": format_date(first)},
            field="start" if first < sub.anchor else "anchor",
        )
    if rec.period_or_none(schedule, rec.first_index(schedule)) is None:
        raise InvalidInput(_("the first period ends after 31/12/9999"), field="anchor")


def schedule_window_check(anchor: date, start: date | None, *, today: date) -> None:
    """The first period's start and the service start within the dates a person may give
    (`limits.check_date`): checked before any date arithmetic (31/12/9999 overflows)."""
    check_date(anchor, "anchor", today=today)
    if start is not None:
        check_date(start, "start", today=today)


def schedule_period_check(schedule: rec.Schedule) -> None:
    """A period of the schedule lasts at most `limits.MAX_PERIOD_YEARS` (its invoices could
    not be drafted otherwise)."""
    try:
        second = rec.occurrence_start(schedule.anchor, schedule.frequency, 1)
    except OverflowError:
        second = date.max
    check_period_length(schedule.anchor, second - rec.ONE_DAY, "interval")


def _locked(sub: Subscription) -> Subscription:
    return Subscription.objects.select_for_update().get(pk=sub.pk)


@transaction.atomic
def subscription_pause(
    sub: Subscription, *, start: date, end: date | None = None, actor: Actor
) -> Subscription:
    """Pause from `start` (until `end`, or until resumed): periods starting in the pause are
    recorded as skipped and not billed."""
    actor_require(actor, Can.MANAGE_SUBSCRIPTIONS, company=sub.company)
    sub = _locked(sub)
    if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED):
        raise NotAllowed(f"a {sub.status} subscription cannot be paused")
    if sub.pauses.filter(end__isnull=True).exists():
        raise NotAllowed("the subscription is already paused until resumed")
    if end is not None and end < start:
        raise InvalidInput("the pause ends before it starts", field="end")
    check_date(start, "start", today=clock.company_today(sub.company))
    for other in sub.pauses.order_by("start"):
        if start <= (other.end or date.max) and (end is None or other.start <= end):
            raise InvalidInput(
                _("this pause overlaps the pause from %(start)s to %(end)s")
                % {"start": format_date(other.start), "end": format_date(other.end or date.max)},
                field="start",
            )
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
    extensions.subscription_changed.send(None, subscription=sub, change="paused", actor=actor)
    return sub


@transaction.atomic
def subscription_resume(sub: Subscription, *, on: date, actor: Actor) -> Subscription:
    """End the open pause the day before `on`; billing continues on the same anchor."""
    actor_require(actor, Can.MANAGE_SUBSCRIPTIONS, company=sub.company)
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
    extensions.subscription_changed.send(None, subscription=sub, change="resumed", actor=actor)
    return sub


@transaction.atomic
def subscription_cancel(
    sub: Subscription,
    *,
    actor: Actor,
    at_period_end: bool = True,
    on: date | None = None,
    credit: bool = False,
) -> Subscription:
    """Cancel: nothing is billed after the current period (at period end) or from `on`
    (cancel now, default today). With `credit`, cancelling now also issues a credit note
    for the days already invoiced from `on` on, prorated by days: only an actor who may
    issue credit notes may ask for it (refused before anything changes)."""
    actor_require(actor, Can.MANAGE_SUBSCRIPTIONS, company=sub.company)
    if credit and not at_period_end:
        actor_require(actor, Can.ISSUE_CREDIT_NOTES, company=sub.company)
    sub = _locked(sub)
    if sub.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.FINISHED):
        return sub  # already done: a retry is harmless
    schedule = schedule_of(sub)
    if on is not None:
        _refuse_before_billed(
            sub, on, field="on",
            before_start=_(
                "the subscription starts on %(start)s: cancel from then at the earliest"
            ),
            before_billed=_(
                "the period from %(start)s is already invoiced: cancel from %(start)s at the "
                "earliest, and correct earlier invoices with a credit note"
            ),
        )  # fmt: skip
    today = on or clock.company_today(sub.company)
    if at_period_end:
        current = list(rec.periods(schedule, until=today))
        cut = current[-1].end + rec.ONE_DAY if current else rec.first_start(schedule)
    else:
        # "Now" before the subscription started (or inside a period billed in advance):
        # nothing is billed from the first period not invoiced yet.
        cut = max(today, rec.first_start(schedule), _last_billed_start(sub) or today)
    sub.cancelled_from = cut
    sub.save(update_fields=["cancelled_from"])
    next_billing_refresh(sub)
    if credit and not at_period_end:
        _credit_unused(sub, cut, actor)
    audit_record(
        company=sub.company, actor=actor, action="subscription.cancelled",
        object_type="subscription", object_id=sub.pk, data={"from": cut},
    )  # fmt: skip
    extensions.subscription_changed.send(None, subscription=sub, change="cancelled", actor=actor)
    return sub


def _credit_unused(sub: Subscription, cut: date, actor: Actor) -> None:
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
    actor: Actor,
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
) -> ScheduledChange:
    """A new quantity or price from `effective`; inside a billed period, the difference is
    prorated by days onto the next invoice. Made by someone who may not issue invoices, it
    puts the subscription back under approval."""
    actor_require(actor, Can.MANAGE_SUBSCRIPTIONS, company=line.subscription.company)
    if quantity is None and unit_price is None:
        raise InvalidInput("give a new quantity or a new price", field="quantity")
    if quantity is not None:
        quantity = check_decimal(quantity, "quantity", **QUANTITY, minimum=ZERO)
    if unit_price is not None:
        unit_price = check_decimal(unit_price, "unit_price", **UNIT_PRICE, minimum=ZERO)
    _refuse_before_billed(
        line.subscription, effective, field="effective",
        before_start=_("the subscription starts on %(start)s: a change applies from then at "
                       "the earliest"),
        before_billed=_(
            "the period from %(start)s is already invoiced: a change applies from %(start)s at "
            "the earliest (inside that period, the difference goes on the next invoice)"
        ),
    )  # fmt: skip
    change = ScheduledChange.objects.create(
        line=line, effective=effective, quantity=quantity, unit_price=unit_price
    )
    sub = line.subscription
    _needs_approval_after(sub, actor)
    audit_record(
        company=sub.company, actor=actor, action="subscription.changed",
        object_type="subscription", object_id=sub.pk,
        data={"line": line.position, "effective": effective, "quantity": quantity,
              "unit_price": unit_price},
    )  # fmt: skip
    extensions.subscription_changed.send(None, subscription=sub, change="changed", actor=actor)
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
    check_text(idempotency_key, "idempotency_key", max_length=100)
    sub = line.subscription
    if sub.next_billing_date is None and sub.status in (
        SubscriptionStatus.CANCELLED,
        SubscriptionStatus.FINISHED,
    ):
        raise NotAllowed(
            _("%(name)s will issue no more invoices: usage recorded now would never be billed")
            % {"name": sub.name},
            field="line",
        )
    quantity = check_decimal(quantity, "quantity", **QUANTITY, minimum=ZERO)
    today = clock.company_today(line.subscription.company)
    if occurred_on > today:
        raise InvalidInput(
            _("usage cannot be recorded in advance: %(date)s is after today (%(today)s)")
            % {"date": format_date(occurred_on), "today": format_date(today)},
            field="occurred_on",
        )
    check_date(occurred_on, "occurred_on", today=today)
    if (line.starts_on and occurred_on < line.starts_on) or (
        line.ends_on and occurred_on > line.ends_on
    ):
        raise InvalidInput(
            _("this line is not billed on %(date)s: usage recorded then would never be billed")
            % {"date": format_date(occurred_on)},
            field="occurred_on",
        )
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
def draft_confirm(invoice: Invoice, *, actor: Actor, as_is: bool = False) -> Invoice:
    """Issue a recurring draft that waited for confirmation or review (issuing marks its
    billing period "invoiced", whichever path issues it). A line to confirm still holding
    its placeholder quantity is refused unless `as_is` (the quantities confirmed as they
    are)."""
    from facturier.billing.services.issuing import invoice_issue

    return invoice_issue(invoice, actor=actor, as_is=as_is)
