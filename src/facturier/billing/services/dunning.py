"""Dunning: the company's reminder policy, the daily pass, reminders by hand, disputes.

The schedule itself (which level is due, what stops reminders, the penalty arithmetic) is pure
and lives in `facturier.core.dunning`; this module reads the state, locks, and writes. Each
reminder is a `Reminder` row plus an `email.reminder` outbox row written in the same
transaction (the mail package composes and sends it). An automatic level is sent at most once
per invoice: the pass locks the invoice row and re-reads what was sent before writing, and the
unique constraint (invoice, level) refuses a second row whatever happens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from facturier.billing import clock, extensions
from facturier.billing.core_messages import core_message
from facturier.billing.models import (
    Company,
    Customer,
    DocType,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    Reminder,
    ReminderLevel,
    Settlement,
)
from facturier.billing.services.actors import Actor, PermissionRefused, actor_require
from facturier.billing.services.audit import audit_record
from facturier.billing.services.errors import InvalidInput, NotAllowed
from facturier.billing.services.limits import (
    check_date,
    check_not_ahead,
    check_text,
    check_visible,
)
from facturier.core import dunning as core
from facturier.core.roles import Can

ACTOR = "dunning-pass"
SYSTEM = Actor.system(ACTOR)
OUTBOX_KIND = "email.reminder"
_OPEN = [Settlement.OPEN, Settlement.PARTIAL]


@dataclass(frozen=True)
class LevelData:
    """One level of a policy as a caller gives it (see ReminderLevel for the fields)."""

    level: int
    name: str
    days: int
    enabled: bool = True
    attach_invoice: bool = True
    copy_sales_rep: bool = False
    formal_notice: bool = False


def default_levels() -> list[LevelData]:
    """DOMAIN "Dunning": courtesy note J-3 (off), reminder J+7, second reminder J+15, formal
    notice J+30. The sales rep is copied once the reminders escalate."""
    names = [_("Courtesy note"), _("Reminder"), _("Second reminder"), _("Formal notice")]
    return [
        LevelData(
            level=lv.level, name=name, days=lv.days, enabled=lv.enabled,
            copy_sales_rep=lv.level >= 3, formal_notice=lv.formal_notice,
        )
        for lv, name in zip(core.DEFAULT_POLICY, names, strict=True)
    ]  # fmt: skip


def reminder_policy(company: Company) -> list[ReminderLevel]:
    """The company's levels in order, created with the defaults on first use."""
    levels = list(ReminderLevel.objects.filter(company=company).order_by("level"))
    if levels:
        return levels
    try:
        with transaction.atomic():
            ReminderLevel.objects.bulk_create(_rows(company, default_levels()))
    except IntegrityError:
        pass  # another process created them first: read theirs
    return list(ReminderLevel.objects.filter(company=company).order_by("level"))


def _rows(company: Company, levels: Sequence[LevelData]) -> list[ReminderLevel]:
    return [ReminderLevel(company=company, **asdict(data)) for data in levels]


def level_data(row: ReminderLevel) -> LevelData:
    return LevelData(
        level=row.level, name=row.name, days=row.days, enabled=row.enabled,
        attach_invoice=row.attach_invoice, copy_sales_rep=row.copy_sales_rep,
        formal_notice=row.formal_notice,
    )  # fmt: skip


def _core_levels(levels: Sequence[ReminderLevel | LevelData]) -> list[core.Level]:
    return [core.Level(lv.level, lv.days, lv.enabled, lv.formal_notice) for lv in levels]


def _check_levels(levels: Sequence[LevelData]) -> list[LevelData]:
    cleaned = []
    for i, data in enumerate(levels, start=1):
        where = f"levels[{i}]"
        for name in ("level", "days"):
            value = getattr(data, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidInput(_("must be a whole number"), field=f"{where}.{name}")
        name = str(data.name).strip()
        if not name or len(name) > 100:
            raise InvalidInput(_("a name of 1 to 100 characters"), field=f"{where}.name")
        check_visible(check_text(name, f"{where}.name", max_length=100), f"{where}.name")
        cleaned.append(LevelData(**{**asdict(data), "name": name}))
    try:
        core.check_policy(_core_levels(cleaned))
    except core.PolicyError as exc:
        raise InvalidInput(core_message(exc), field="levels") from exc
    return sorted(cleaned, key=lambda d: d.level)


@transaction.atomic
def reminder_policy_set(
    company: Company, levels: Sequence[LevelData], *, by: Actor
) -> list[ReminderLevel]:
    """Replace the company's levels, validated as a whole (numbered 1..n, days rising, at most
    one formal notice and it comes last). Reminders already sent keep their level number."""
    actor_require(by, Can.MANAGE_SETTINGS, company=company)
    cleaned = _check_levels(levels)
    # One writer at a time. NO KEY: rows that reference the company (audit events, outbox,
    # checkpoints) may still be inserted meanwhile; a full lock here deadlocked with a worker
    # that held the chain head and inserted its checkpoint.
    Company.objects.select_for_update(no_key=True).filter(pk=company.pk).first()
    before = [level_data(row) for row in reminder_policy(company)]
    if before == cleaned:
        return reminder_policy(company)
    ReminderLevel.objects.filter(company=company).delete()
    ReminderLevel.objects.bulk_create(_rows(company, cleaned))
    audit_record(
        company=company, actor=by, action="reminder_policy.updated", object_type="company",
        object_id=company.pk, data={"levels": [asdict(d) for d in cleaned]},
    )  # fmt: skip
    return reminder_policy(company)


def reminder_level_change(company: Company, level: int, *, by: Actor, **changes: Any) -> None:
    """Change some fields of one level; the whole policy is validated again."""
    current = [level_data(row) for row in reminder_policy(company)]
    if level not in {d.level for d in current}:
        raise InvalidInput(_("no level {level} in the policy").format(level=level), field="level")
    unknown = set(changes) - (set(LevelData.__dataclass_fields__) - {"level"})
    if unknown:
        raise InvalidInput(_("unknown field {name}").format(name=sorted(unknown)[0]))
    new = [LevelData(**{**asdict(d), **changes}) if d.level == level else d for d in current]
    reminder_policy_set(company, new, by=by)


# --- the pass -----------------------------------------------------------------------------


@dataclass
class ReminderOutcome:
    invoice_id: int
    number: str
    customer: str
    outcome: str  # sent (or would be, in a dry run), skipped
    level: int | None
    name: str = ""
    reason: str = ""
    days_late: int = 0
    amount_due: Decimal = Decimal("0.00")
    penalty: Decimal = Decimal("0.00")
    indemnity: Decimal = Decimal("0.00")
    reminder_id: int | None = None


@dataclass
class DunningSummary:
    dry_run: bool = False
    sent: Counter[int] = field(default_factory=Counter)  # per level
    skipped: Counter[str] = field(default_factory=Counter)  # per reason
    outcomes: list[ReminderOutcome] = field(default_factory=list)

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    def add(self, outcome: ReminderOutcome) -> None:
        self.outcomes.append(outcome)
        if outcome.outcome == "sent" and outcome.level is not None:
            self.sent[outcome.level] += 1
        else:
            self.skipped[outcome.reason] += 1


def reminders_run(
    *,
    as_of: date | None = None,
    company: Company | None = None,
    dry_run: bool = False,
    actor: Actor = SYSTEM,
    should_stop: Callable[[], bool] = lambda: False,
) -> DunningSummary:
    """Send each invoice the reminder due on `as_of` (default: each company's today; refused
    outside the dates anyone may give, and, unless dry, after today: nothing is sent ahead).

    Safe to run any number of times and from several processes at once: a level already sent
    is never sent again. A dry run plans the same way and writes nothing. The actor must be
    allowed to send invoices (the worker and the command line are). `should_stop` is checked
    between invoices (a stopping worker leaves the rest to the next pass)."""
    for each in [company] if company else []:
        actor_require(actor, Can.ISSUE_INVOICES, company=each)
    if company is None and not actor.is_system:
        raise PermissionRefused(_("Only the system runs the reminders of every company."))
    summary = DunningSummary(dry_run=dry_run)
    companies = [company] if company else list(Company.objects.order_by("pk"))
    if as_of is not None:
        for each in companies:  # before anything is written; a year ahead at most, as billing
            today = clock.company_today(each)
            check_date(as_of, "as_of", today=today, years_ahead=1)
            check_not_ahead(as_of, "as_of", today=today, dry_run=dry_run)
    for each in companies:
        today = as_of or clock.company_today(each)
        policy = _policy_read(each) if dry_run else reminder_policy(each)
        groups: dict[tuple[int, int], list[Invoice]] = {}
        for invoice, sent in _candidates(each, policy, today):
            if should_stop():
                return summary
            outcomes, level = _invoice_plan(invoice, sent, policy, today)
            for outcome in outcomes:
                summary.add(outcome)
            if level is not None:
                groups.setdefault((invoice.customer_id, level.level), []).append(invoice)
        levels = {row.level: row for row in policy}
        for (_customer, level_number), invoices in groups.items():
            if should_stop():
                return summary
            level = levels[level_number]
            if dry_run:
                sent_now = [_outcome(inv, level, today, "sent") for inv in invoices]
            else:
                sent_now = _send_group(invoices, policy, level, today, actor.name)
            for outcome in sent_now:
                summary.add(outcome)
    return summary


def _policy_read(company: Company) -> list[ReminderLevel]:
    rows = list(ReminderLevel.objects.filter(company=company).order_by("level"))
    return rows or _rows(company, default_levels())


def _candidates(
    company: Company, policy: Sequence[ReminderLevel], today: date
) -> list[tuple[Invoice, set[int]]]:
    """Open invoices old enough for the earliest enabled level, with the levels sent."""
    enabled = [lv.days for lv in policy if lv.enabled]
    if not enabled:
        return []
    invoices = list(
        Invoice.objects.filter(
            company=company, status=InvoiceStatus.ISSUED, doc_type=DocType.INVOICE,
            settlement__in=_OPEN, due_date__lte=today - timedelta(days=min(enabled)),
        ).select_related("customer", "company").order_by("due_date", "pk")
    )  # fmt: skip
    sent: dict[int, set[int]] = {inv.pk: set() for inv in invoices}
    rows = Reminder.objects.filter(invoice__in=[i.pk for i in invoices], manual=False)
    for invoice_id, level in rows.values_list("invoice_id", "level"):
        if level is not None:
            sent[invoice_id].add(level)
    return [(inv, sent[inv.pk]) for inv in invoices]


def invoice_state(invoice: Invoice) -> core.InvoiceState:
    settled = invoice.settlement in (Settlement.PAID, Settlement.CANCELLED)
    return core.InvoiceState(
        issued=invoice.is_issued,
        credit_note=invoice.doc_type == DocType.CREDIT_NOTE,
        balance=Decimal(0) if settled else invoice.balance,
        disputed=invoice.disputed,
        customer_paused=invoice.customer.reminders_paused,
        # Set by the direct-debit package while a collection is in progress (a reminder
        # hold registered in billing/extensions.py). See docs/dunning.md.
        debit_in_collection=extensions.debit_in_collection(invoice),
    )


def _invoice_plan(
    invoice: Invoice,
    sent: set[int],
    policy: Sequence[ReminderLevel],
    today: date,
) -> tuple[list[ReminderOutcome], ReminderLevel | None]:
    """What the pass does for one invoice: the outcomes already known (skipped, superseded)
    and the level to send, if any (sent with the customer's other invoices of that level)."""
    assert invoice.due_date is not None  # issued invoices always have one
    plan = core.reminder_plan(
        _core_levels(policy), due_date=invoice.due_date, today=today, sent=sent
    )
    if plan.send is None:
        return [], None
    rows = {row.level: row for row in policy}
    reason = core.stop_reason(invoice_state(invoice))
    if reason:
        return [_outcome(invoice, rows[plan.send.level], today, "skipped", reason)], None
    out = [
        _outcome(invoice, rows[lv.level], today, "skipped", core.SUPERSEDED)
        for lv in plan.superseded
    ]
    return out, rows[plan.send.level]


def _outcome(
    invoice: Invoice, level: ReminderLevel, today: date, outcome: str, reason: str = ""
) -> ReminderOutcome:
    assert invoice.due_date is not None
    return ReminderOutcome(
        invoice.pk, str(invoice.number), invoice.customer.legal_name, outcome, level.level,
        level.name, reason, core.days_late(invoice.due_date, today), invoice.balance,
    )  # fmt: skip


def _send_group(
    invoices: Sequence[Invoice],
    policy: Sequence[ReminderLevel],
    level: ReminderLevel,
    today: date,
    actor: str,
) -> list[ReminderOutcome]:
    """Send one level to one customer for all of `invoices` in one email (a statement of
    account when there are several), each invoice keeping its own reminder row."""
    try:
        written, refused = _write_group([inv.pk for inv in invoices], policy, level, today, actor)
    except IntegrityError:  # another pass won the race on (invoice, level): it sent them
        written, refused = {}, {inv.pk: "already_sent" for inv in invoices}
    out = []
    for invoice in invoices:
        reminder = written.get(invoice.pk)
        if reminder is None:
            reason = refused.get(invoice.pk, "already_sent")
            out.append(_outcome(invoice, level, today, "skipped", reason))
            continue
        done = _outcome(invoice, level, today, "sent")
        done.penalty, done.indemnity = reminder.penalty, reminder.indemnity
        done.reminder_id = reminder.pk
        out.append(done)
    return out


@transaction.atomic
def _write_group(
    invoice_ids: Sequence[int],
    policy: Sequence[ReminderLevel],
    level: ReminderLevel,
    today: date,
    actor: str,
) -> tuple[dict[int, Reminder], dict[int, str]]:
    """Under the invoices' row locks (taken in id order), check each again and write its
    reminder; one outbox row carries them all. Returns (written, refused with why)."""
    locked = list(
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer", "company")
        .filter(pk__in=invoice_ids)
        .order_by("pk")
    )
    sent: dict[int, set[int]] = {inv.pk: set() for inv in locked}
    rows = Reminder.objects.filter(invoice__in=locked, manual=False, level__isnull=False)
    for invoice_id, done_level in rows.values_list("invoice_id", "level"):
        if done_level is not None:
            sent[invoice_id].add(done_level)
    ready, refused = [], {}
    for invoice in locked:
        reason = core.stop_reason(invoice_state(invoice))
        assert invoice.due_date is not None
        plan = core.reminder_plan(
            _core_levels(policy), due_date=invoice.due_date, today=today, sent=sent[invoice.pk]
        )
        if not reason and (plan.send is None or plan.send.level != level.level):
            reason = "already_sent"
        if reason:
            refused[invoice.pk] = reason
        else:
            ready.append(invoice)
    if not ready:
        return {}, refused
    reminders = [_reminder_row(invoice, level, today, manual=False, by=actor) for invoice in ready]
    _queue(reminders)
    return {r.invoice_id: r for r in reminders}, refused


def _reminder_row(
    invoice: Invoice, level: ReminderLevel | None, today: date, *, manual: bool, by: str
) -> Reminder:
    """One invoice's reminder, saved (its email is queued by `_queue`), in the caller's
    transaction. Penalty and indemnity are what the message states: only a formal notice
    states them (the indemnity is due per invoice)."""
    assert invoice.due_date is not None
    late = core.days_late(invoice.due_date, today)
    claim = core.Claim(Decimal("0.00"), Decimal("0.00"))
    if level is not None and level.formal_notice:
        claim = core.formal_notice_claim(
            invoice.balance, annual_rate_percent=invoice.company.late_penalty_rate,
            days_late=late, business=invoice.customer.is_business,
        )  # fmt: skip
    return Reminder.objects.create(
        invoice=invoice, level=level.level if level else None, manual=manual, sent_on=today,
        days_late=late, amount_due=invoice.balance, penalty=claim.penalty,
        indemnity=claim.indemnity, created_by=by,
    )  # fmt: skip


def _queue(reminders: Sequence[Reminder]) -> OutboxMessage:
    """One email for these reminders (one customer, one level, one day): the mail package
    composes a single reminder, or a statement of account listing every invoice."""
    first = reminders[0]
    invoice = first.invoice
    message = OutboxMessage.objects.create(
        company=invoice.company, kind=OUTBOX_KIND, key=f"reminder:{first.pk}",
        invoice=invoice, payload={"reminder_ids": [r.pk for r in reminders]},
        next_attempt_at=clock.now(),
    )  # fmt: skip
    Reminder.objects.filter(pk__in=[r.pk for r in reminders]).update(message=message)
    for reminder in reminders:
        reminder.message = message
    return message


# --- by hand ------------------------------------------------------------------------------


def _refusal(invoice: Invoice) -> str | None:
    reason = core.stop_reason(invoice_state(invoice))
    number = invoice.number or _("this draft")
    return {
        core.NOT_ISSUED: _("a draft cannot be reminded: issue it first"),
        core.CREDIT_NOTE: _("{number} is a credit note: credit notes are never reminded"),
        core.PAID: _("{number} is paid (or cancelled by a credit note): nothing to remind"),
        core.DISPUTED: _("{number} is disputed: clear the dispute before sending a reminder"),
    }.get(reason or "", "").format(number=number) or None


@transaction.atomic
def reminder_send_now(invoice: Invoice, *, by: Actor, today: date | None = None) -> Reminder:
    """Send a reminder by hand (not a level of the policy: the general reminder wording).

    Refused, with nothing written, for a draft, a credit note, a paid or a disputed invoice;
    allowed while the customer's automatic reminders are paused (a person decided)."""
    actor_require(by, Can.ISSUE_INVOICES, company=invoice.company)
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer", "company")
        .get(pk=invoice.pk)
    )
    refusal = _refusal(invoice)
    if refusal:
        raise NotAllowed(refusal)
    reminder = _reminder_row(
        invoice, None, today or clock.company_today(invoice.company), manual=True, by=by.name
    )
    _queue([reminder])
    audit_record(
        company=invoice.company, actor=by, action="invoice.reminder_sent", object_type="invoice",
        object_id=invoice.pk, data={"number": invoice.number, "reminder": reminder.pk},
    )  # fmt: skip
    return reminder


@transaction.atomic
def invoice_dispute_set(invoice: Invoice, *, disputed: bool, by: Actor) -> Invoice:
    """Flag an issued invoice as disputed by the customer (no reminder while it is), or clear
    the flag. Setting the flag it already has changes nothing and records nothing."""
    actor_require(by, Can.ISSUE_INVOICES, company=invoice.company)
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice.pk)
    if not invoice.is_issued:
        raise NotAllowed(_("only an issued invoice can be disputed"))
    if invoice.doc_type != DocType.INVOICE:
        raise NotAllowed(_("a credit note cannot be disputed"))
    if invoice.disputed == disputed:
        return invoice
    invoice.disputed = disputed
    invoice.save(update_fields=["disputed"])
    audit_record(
        company=invoice.company, actor=by, object_type="invoice", object_id=invoice.pk,
        action="invoice.disputed" if disputed else "invoice.dispute_cleared",
        data={"number": invoice.number},
    )  # fmt: skip
    return invoice


@transaction.atomic
def customer_reminders_pause(customer: Customer, *, paused: bool, by: Actor) -> Customer:
    """Pause (or resume) the automatic reminders of all the customer's invoices."""
    actor_require(by, Can.ISSUE_INVOICES, company=customer.company)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.reminders_paused == paused:
        return customer
    customer.reminders_paused = paused
    customer.save(update_fields=["reminders_paused"])
    audit_record(
        company=customer.company, actor=by, object_type="customer", object_id=customer.pk,
        action="customer.reminders_paused" if paused else "customer.reminders_resumed",
        data={"code": customer.code},
    )  # fmt: skip
    return customer


# --- reads --------------------------------------------------------------------------------


def reminders_list(*, company: Company, invoice: Invoice | None = None) -> QuerySet[Reminder]:
    qs = Reminder.objects.filter(invoice__company=company).select_related("invoice", "message")
    if invoice is not None:
        qs = qs.filter(invoice=invoice)
    return qs.order_by("sent_on", "pk")


# How a level's status reads on a page.
STATUS_LABELS = {
    "sent": gettext_lazy("sent"),
    "planned": gettext_lazy("planned"),
    "off": gettext_lazy("off"),
    "passed": gettext_lazy("date passed"),
    core.SUPERSEDED: gettext_lazy("replaced by a later level"),
    core.NOT_ISSUED: gettext_lazy("not issued"),
    core.CREDIT_NOTE: gettext_lazy("credit note"),
    core.PAID: gettext_lazy("paid"),
    core.DISPUTED: gettext_lazy("stopped: disputed"),
    core.PAUSED: gettext_lazy("stopped: customer's reminders paused"),
    core.DEBIT_IN_COLLECTION: gettext_lazy("stopped: direct debit in collection"),
    core.NO_DUE_DATE: gettext_lazy("no due date"),
}


@dataclass(frozen=True)
class LevelStatus:
    level: int
    name: str
    days: int
    on: date
    status: str  # sent, planned, superseded, off, passed, or a stop reason (paid, disputed…)

    @property
    def label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))


def reminder_schedule(invoice: Invoice, today: date) -> list[LevelStatus]:
    """Where each level of the policy stands for an issued invoice: sent, planned, or why not
    (off, superseded, passed, or what stops reminders: paid, disputed, paused…)."""
    if invoice.due_date is None or not invoice.is_issued or invoice.doc_type != DocType.INVOICE:
        return []
    stopped = core.stop_reason(invoice_state(invoice))
    sent = {r.level: r.sent_on for r in Reminder.objects.filter(invoice=invoice, manual=False)}
    top = max((lv for lv in sent if lv is not None), default=0)
    out = []
    for row in _policy_read(invoice.company):
        on = core.send_date(core.Level(row.level, row.days), invoice.due_date)
        if row.level in sent:
            status, on = "sent", sent[row.level]
        elif not row.enabled:
            status = "off"
        elif row.level < top:
            status = "superseded"
        elif row.days < 0 and today >= invoice.due_date:
            status = "passed"
        else:
            status = stopped or "planned"
        out.append(LevelStatus(row.level, row.name, row.days, on, status))
    return out
