"""Edit a subscription without rewriting history: `subscription_update`.

One service for the web edit page and `facturier subscriptions edit`: header fields, the end
rule, and lines added, removed or re-priced from a date, checked together and written in one
transaction with one audit event (every changed field, before and after). The rules:

- what was invoiced never changes: a period in the ledger (invoiced, or a draft waiting)
  keeps its invoice; a line is added or removed from the first period not billed yet at the
  earliest (`SubscriptionLine.starts_on` / `ends_on`: the billing run bills a line for its
  days only); a quantity or price changes from the start of the last billed period at the
  earliest (`ScheduledChange`: inside a billed period, the prorated difference goes on the
  next invoice, once);
- the end rule cannot end before what was already billed;
- header fields apply to every invoice not issued yet: the next periods, and the drafts
  waiting whose purchase order or payment terms were the subscription's (a value edited
  by hand on a draft stays); emailing and copy options are read when an invoice is sent;
- changed by someone who may not issue invoices, a change of what is invoiced (lines,
  prices, end rule, review switched off) puts the subscription back under approval.

`subscription_edit_plan` does every check and returns what would be written, writing
nothing: the edit page's preview prices the next invoices from it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from facturier.billing import extensions
from facturier.billing.core_messages import core_message
from facturier.billing.models import (
    Invoice,
    InvoiceStatus,
    ScheduledChange,
    Subscription,
    SubscriptionLine,
    SubscriptionStatus,
)
from facturier.billing.services import recurring_lines as rl
from facturier.billing.services.actors import Actor, actor_require
from facturier.billing.services.audit import audit_record
from facturier.billing.services.errors import InvalidInput, NotAllowed
from facturier.billing.services.limits import QUANTITY, UNIT_PRICE, check_decimal, check_text
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    _lines,
    _refuse_before_billed,
    next_billing_refresh,
    schedule_of,
)
from facturier.core import recurrence as rec
from facturier.core import subscription_lines as sl
from facturier.core.money import format_date
from facturier.core.roles import Can

HEADER = ("name", "sales_rep", "copy_sales_rep", "send_invoices", "payment_terms_days",
          "customer_po", "review_before_issue")  # fmt: skip
END = ("end_kind", "end_count", "end_date", "prorate_last")
# Copied onto each draft by the billing run: a draft still holding the old value follows.
ON_DRAFTS = ("customer_po", "payment_terms_days")
ZERO = Decimal(0)


@dataclass(frozen=True)
class LineChange:
    """A new quantity and/or unit price for the line at `position`, from the edit's date."""

    position: int
    quantity: Decimal | None = None
    unit_price: Decimal | None = None


@dataclass
class EditPlan:
    """What an edit writes, checked, nothing written yet."""

    sub: Subscription  # a copy with the new field values
    before: dict[str, Any]  # changed fields: their old values
    effective: date | None = None
    lines: list[SubscriptionLine] = field(default_factory=list)  # every line, as edited
    added: list[SubscriptionLine] = field(default_factory=list)
    ended: list[SubscriptionLine] = field(default_factory=list)  # ends_on set
    dropped: list[SubscriptionLine] = field(default_factory=list)  # never billed: deleted
    changes: list[ScheduledChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.before or self.added or self.ended or self.dropped or self.changes)

    @property
    def invoicing_changed(self) -> bool:
        """Whether what gets invoiced changes (approval needed from a sales rep)."""
        review_off = "review_before_issue" in self.before and not self.sub.review_before_issue
        ends = any(name in self.before for name in END)
        return bool(self.added or self.ended or self.dropped or self.changes or ends or review_off)


def _billed(sub: Subscription) -> Any:
    return sub.billed_periods.filter(outcome__in=("invoiced", "drafted"))


def first_open_start(sub: Subscription) -> date:
    """Start of the first period not billed yet (no invoice nor draft for it): the earliest
    day a line may be added or removed from."""
    schedule = schedule_of(sub)
    last_end: date | None = _billed(sub).aggregate(end=Max("end"))["end"]
    if last_end is None:
        return rec.first_start(schedule)
    return last_end + rec.ONE_DAY


def subscription_edit_plan(
    sub: Subscription,
    *,
    effective: date | None = None,
    add_lines: Sequence[SubscriptionLineData] = (),
    remove_lines: Sequence[int] = (),
    line_changes: Sequence[LineChange] = (),
    **fields: Any,
) -> EditPlan:
    """Check an edit (InvalidInput / NotAllowed name the field at fault) and return what it
    would write; nothing is written."""
    plan = EditPlan(sub=copy.copy(sub), before={})
    _header(plan, fields)
    _end_rule(plan, fields)
    if add_lines or remove_lines or line_changes:
        if sub.status == SubscriptionStatus.CANCELLED:
            raise NotAllowed(_("a cancelled subscription bills nothing more: its lines stay"),
                             field="effective")  # fmt: skip
        if effective is None:
            raise InvalidInput(_("give the date the lines change from"), field="effective")
        plan.effective = effective
    plan.lines = [copy.copy(line) for line in sub.lines.order_by("position")]
    if plan.effective is not None:
        _removals(plan, remove_lines)
        _changes(plan, line_changes)
        _additions(plan, add_lines)
        if not any(line.ends_on is None for line in plan.lines if line not in plan.dropped):
            raise InvalidInput(
                _("a subscription keeps at least one line: cancel it instead"),
                field="remove_lines",
            )
    return plan


def _header(plan: EditPlan, fields: dict[str, Any]) -> None:
    sub = plan.sub
    for name in fields:
        if name not in HEADER and name not in END:
            raise InvalidInput(f"unknown field '{name}'", field=name)
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if not fields["name"]:
            raise InvalidInput(_("a subscription needs a name"), field="name")
        check_text(fields["name"], "name", max_length=200)
    rep = fields.get("sales_rep")
    if (
        rep is not None
        and not User.objects.filter(pk=rep.pk, membership__company=sub.company).exists()
    ):
        raise InvalidInput(_("the sales rep is not a member of the company"), field="sales_rep")
    terms = fields.get("payment_terms_days")
    if terms is not None and not 0 <= terms <= 60:
        raise InvalidInput(_("payment terms must be 0 to 60 days"), field="payment_terms_days")
    if "customer_po" in fields:
        fields["customer_po"] = fields["customer_po"] or ""
        check_text(fields["customer_po"], "customer_po", max_length=50)
    for name in HEADER:
        if name in fields and fields[name] != getattr(sub, name):
            plan.before[name] = getattr(sub, name)
            setattr(sub, name, fields[name])


def _end_rule(plan: EditPlan, fields: dict[str, Any]) -> None:
    """The new end rule, valid and not ending before what was already billed."""
    if not any(name in fields for name in END):
        return
    sub = plan.sub
    values = {name: fields.get(name, getattr(sub, name)) for name in END}
    kind = values["end_kind"]
    if kind not in ("never", "count", "until"):
        raise InvalidInput(f"unknown end '{kind}'", field="end_kind")
    # A value of another kind is not kept: it would come back unseen with that kind.
    values["end_count"] = values["end_count"] if kind == "count" else None
    values["end_date"] = values["end_date"] if kind == "until" else None
    values["prorate_last"] = bool(values["prorate_last"]) and kind == "until"
    if kind == "count" and not values["end_count"]:
        raise InvalidInput(_("give the number of invoices"), field="end_count")
    if kind == "until" and values["end_date"] is None:
        raise InvalidInput(_("give the last day of service"), field="end_date")
    changed = {n: v for n, v in values.items() if v != getattr(sub, n)}
    if not changed:
        return
    if sub.status == SubscriptionStatus.CANCELLED:
        raise NotAllowed(_("a cancelled subscription bills nothing more"), field="end_kind")
    for name, value in changed.items():
        plan.before[name] = getattr(sub, name)
        setattr(sub, name, value)
    try:
        schedule_of(sub)
    except ValueError as exc:
        raise InvalidInput(
            core_message(exc), field="end_date" if kind == "until" else "end_count"
        ) from exc
    _refuse_end_before_billed(plan.sub)


def _refuse_end_before_billed(sub: Subscription) -> None:
    billed = _billed(sub)
    if sub.end_kind == "count" and sub.end_count is not None:
        done = billed.count()
        if sub.end_count < done:
            raise InvalidInput(
                _("%(n)s invoices were already billed: the number of invoices cannot be lower")
                % {"n": done},
                field="end_count",
            )
    last = billed.order_by("-start").first()
    if sub.end_kind == "until" and sub.end_date is not None and last is not None:
        # Without proration the period holding the end date is billed whole: it may be the
        # last one billed; with it, a billed period cannot be cut afterwards.
        earliest = last.end if sub.prorate_last else last.start
        if sub.end_date < earliest:
            raise InvalidInput(
                _("the service was billed until %(end)s: end on %(earliest)s at the earliest "
                  "(earlier invoices are corrected with credit notes)")
                % {"end": format_date(last.end), "earliest": format_date(earliest)},
                field="end_date",
            )  # fmt: skip


def _line_at(plan: EditPlan, position: int) -> SubscriptionLine:
    line = next((x for x in plan.lines if x.position == position), None)
    if line is None:
        raise InvalidInput(
            _("the subscription has no line %(n)s") % {"n": position}, field=f"line[{position}]"
        )
    return line


def _refuse_before_open(plan: EditPlan, field_name: str) -> date:
    assert plan.effective is not None
    earliest = first_open_start(plan.sub)
    if plan.effective < earliest:
        raise InvalidInput(
            _("the periods until %(last)s are already billed: lines are added or removed from "
              "%(earliest)s (the first period not billed yet) at the earliest")
            % {"last": format_date(earliest - rec.ONE_DAY), "earliest": format_date(earliest)},
            field=field_name,
        )  # fmt: skip
    return earliest


def _removals(plan: EditPlan, positions: Sequence[int]) -> None:
    if not positions:
        return
    assert plan.effective is not None
    _refuse_before_open(plan, "effective")
    for position in dict.fromkeys(positions):
        line = _line_at(plan, position)
        last_day = plan.effective - rec.ONE_DAY
        if line.ends_on is not None and line.ends_on <= last_day:
            raise InvalidInput(
                _("line %(n)s is not billed after %(d)s already")
                % {"n": position, "d": format_date(line.ends_on)},
                field=f"line[{position}].remove",
            )
        never_billed = line.starts_on is not None and line.starts_on >= plan.effective
        if never_billed and not line.usage.exists():  # added for later, removed: it goes
            plan.dropped.append(line)
            continue
        line.ends_on = last_day
        plan.ended.append(line)


def _changes(plan: EditPlan, changes: Sequence[LineChange]) -> None:
    assert plan.effective is not None
    effective = plan.effective
    removed = {line.position for line in [*plan.ended, *plan.dropped]}
    for change in changes:
        where = f"line[{change.position}]"
        line = _line_at(plan, change.position)
        if change.position in removed:
            raise InvalidInput(_("line %(n)s is removed") % {"n": change.position}, field=where)
        quantity, price = change.quantity, change.unit_price
        if quantity is not None:
            quantity = check_decimal(quantity, f"{where}.quantity", **QUANTITY, minimum=ZERO)
        if price is not None:
            price = check_decimal(price, f"{where}.unit_price", **UNIT_PRICE, minimum=ZERO)
        now_q, now_p = sl.values_at(rl.plan_line(line, line.pk), rl.plan_changes_of(line),
                                    effective)  # fmt: skip
        if quantity == now_q:
            quantity = None
        if price == now_p:
            price = None
        if quantity is None and price is None:
            continue  # the value in force already
        if rl.plan_line(line, line.pk).window(effective, effective) is None:
            raise InvalidInput(
                _("line %(n)s is not billed on %(d)s") % {"n": change.position,
                                                          "d": format_date(effective)},
                field=f"{where}.quantity",
            )  # fmt: skip
        _refuse_before_billed(
            plan.sub, effective, field="effective",
            before_start=_("the subscription starts on %(start)s: a change applies from then "
                           "at the earliest"),
            before_billed=_(
                "the period from %(start)s is already invoiced: a change applies from "
                "%(start)s at the earliest (inside that period, the difference goes on the "
                "next invoice)"
            ),
        )  # fmt: skip
        plan.changes.append(
            ScheduledChange(line=line, effective=effective, quantity=quantity, unit_price=price)
        )


def _additions(plan: EditPlan, lines: Sequence[SubscriptionLineData]) -> None:
    if not lines:
        return
    assert plan.effective is not None
    _refuse_before_open(plan, "effective")
    try:
        added = _lines(plan.sub, lines)
    except InvalidInput as exc:
        if exc.field and exc.field.startswith("lines"):
            exc.field = "add_" + exc.field
        raise
    top = max((line.position for line in plan.lines), default=0)
    for i, line in enumerate(added, start=1):
        line.position = top + i
        line.starts_on = plan.effective
    plan.added = added
    plan.lines += added


@transaction.atomic
def subscription_update(
    sub: Subscription,
    *,
    actor: Actor,
    effective: date | None = None,
    add_lines: Sequence[SubscriptionLineData] = (),
    remove_lines: Sequence[int] = (),
    line_changes: Sequence[LineChange] = (),
    **fields: Any,
) -> Subscription:
    """Edit a subscription (see the module's rules); refused with nothing written, or one
    audit event `subscription.updated` listing every changed field, before and after.

    `fields`: name, sales_rep, copy_sales_rep, send_invoices, payment_terms_days,
    customer_po, review_before_issue, end_kind, end_count, end_date, prorate_last. Lines
    (added, removed by position, re-priced by position) change from `effective`.
    """
    actor_require(actor, Can.MANAGE_SUBSCRIPTIONS, company=sub.company)
    sub = Subscription.objects.select_for_update().get(pk=sub.pk)
    plan = subscription_edit_plan(
        sub, effective=effective, add_lines=add_lines, remove_lines=remove_lines,
        line_changes=line_changes, **fields,
    )  # fmt: skip
    if plan.empty:
        return sub
    edited = plan.sub
    changes = audit_changes(plan)  # the values in force before anything is written
    drafts = _follow_on_drafts(edited, plan.before)
    if plan.invoicing_changed and not actor.may(Can.ISSUE_INVOICES):
        edited.awaiting_approval = True
    if edited.status == SubscriptionStatus.FINISHED and any(n in plan.before for n in END):
        edited.status = SubscriptionStatus.ACTIVE  # a longer end: billing goes on (or not)
    edited.save()
    for line in plan.ended:
        line.save(update_fields=["ends_on"])
    for line in plan.dropped:
        line.delete()
    SubscriptionLine.objects.bulk_create(plan.added)
    ScheduledChange.objects.bulk_create(plan.changes)
    next_billing_refresh(edited)
    audit_record(
        company=edited.company, actor=actor, action="subscription.updated",
        object_type="subscription", object_id=edited.pk,
        data={"changes": changes, "effective": plan.effective,
              "drafts_updated": drafts, "awaiting_approval": edited.awaiting_approval},
    )  # fmt: skip
    extensions.subscription_changed.send(None, subscription=edited, change="edited", actor=actor)
    return edited


def _follow_on_drafts(sub: Subscription, before: dict[str, Any]) -> int:
    """Drafts waiting that still hold the subscription's old purchase order or payment terms
    take the new one (a value edited by hand on a draft stays). Returns how many changed."""
    changed: set[int] = set()
    for name in ON_DRAFTS:
        if name not in before:
            continue
        drafts = Invoice.objects.filter(subscription=sub, status=InvoiceStatus.DRAFT)
        drafts = drafts.filter(**{name: before[name]})
        changed.update(drafts.values_list("pk", flat=True))
        drafts.update(**{name: getattr(sub, name)})
    return len(changed)


def _shown(value: Any) -> Any:
    if isinstance(value, User):
        return value.get_username()
    return value


def _line_text(line: SubscriptionLine) -> str:
    return f"{line.description}; {line.quantity.normalize()} × {line.unit_price.normalize()}"


def audit_changes(plan: EditPlan) -> dict[str, dict[str, Any]]:
    """Every changed field with its value before and after, lines included."""
    out = {
        name: {"before": _shown(old), "after": _shown(getattr(plan.sub, name))}
        for name, old in plan.before.items()
    }
    for line in plan.added:
        out[f"line {line.position}"] = {"before": None, "after": _line_text(line)}
    for line in [*plan.ended, *plan.dropped]:
        out[f"line {line.position}"] = {"before": _line_text(line), "after": None}
    for change in plan.changes:
        line = change.line
        now_q, now_p = sl.values_at(
            rl.plan_line(line, line.pk), rl.plan_changes_of(line), change.effective
        )
        if change.quantity is not None:
            out[f"line {line.position} quantity"] = {"before": now_q, "after": change.quantity}
        if change.unit_price is not None:
            out[f"line {line.position} unit_price"] = {"before": now_p, "after": change.unit_price}
    return out
