"""The billing run: every due period of every due subscription becomes an invoice, once.

For each company, due subscriptions are claimed in small batches (`SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL, so concurrent runs and workers share the work instead of repeating it).
Each batch is one transaction: it writes the drafts and the ledger rows (unique on
(subscription, period start): a period can never be billed twice), then numbers every
invoice of the batch under one series lock. A crash anywhere rolls the batch back whole;
the next run finds the same periods due and bills them.

The run's record (BillingRun) beats once per batch, in the batch's transaction, with its
counts so far; a run whose process died is closed as `interrupted` by the next run or
worker tick (run_ledger.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from facturier.billing import clock
from facturier.billing.bulk import rows_update
from facturier.billing.models import (
    BilledPeriod,
    BillingRun,
    Company,
    Invoice,
    OutboxMessage,
    RunItem,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    UsageRecord,
)
from facturier.billing.services import recurring_lines as rl
from facturier.billing.services.actors import Actor, PermissionRefused, actor_require
from facturier.billing.services.chronology import ClockBehind
from facturier.billing.services.drafts import DraftBuild, draft_build, drafts_save
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.issuing import invoices_issue, mention_label
from facturier.billing.services.limits import check_date, check_not_ahead
from facturier.billing.services.run_ledger import (
    run_abandon,
    run_beat,
    run_finish,
    run_start,
    runs_close_abandoned,
)
from facturier.billing.services.subscriptions import (
    next_billing,
    pauses_of,
    refuse_far_future,
    schedule_of,
)
from facturier.billing.snapshots import buyer_snapshot, seller_snapshot
from facturier.core.billing_plan import PlannedPeriod, plan_billing
from facturier.core.mentions import missing_mentions
from facturier.core.roles import Can

ACTOR = "billing-run"
# The run issues for the company on its own schedule: the system. What a person may not
# issue never reaches it as an invoice (subscriptions awaiting approval give drafts).
SYSTEM = Actor.system(ACTOR)


@dataclass
class Outcome:
    subscription_id: int
    subscription: str
    customer: str
    period_start: date | None
    period_end: date | None
    outcome: str  # invoiced, drafted, skipped, failed
    reason: str = ""
    invoice_id: int | None = None
    number: str | None = None
    total: str | None = None


@dataclass
class RunSummary:
    run_id: int | None = None
    due: int = 0
    issued: int = 0
    drafted: int = 0
    skipped: int = 0
    failed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    # Failures are always kept; the other outcomes only when asked (a worker's memory must
    # not grow with the number of invoices: the run ledger has them all).
    keep_outcomes: bool = True

    def add(self, outcome: Outcome) -> None:
        if self.keep_outcomes or outcome.outcome == "failed":
            self.outcomes.append(outcome)
        counter = {"invoiced": "issued"}.get(outcome.outcome, outcome.outcome)
        setattr(self, counter, getattr(self, counter) + 1)
        if outcome.outcome != "failed":
            self.due += 1


class _DryRunRollback(Exception):
    pass


# A paused subscription still bills the periods before its pause (and has no next date
# once only paused periods are left), so both statuses are looked at.
_BILLABLE = [SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED]


def subscriptions_due(company: Company, today: date) -> int:
    return Subscription.objects.filter(
        company=company, status__in=_BILLABLE, next_billing_date__lte=today
    ).count()


def billing_run(
    *,
    as_of: date | None = None,
    company: Company | None = None,
    dry_run: bool = False,
    batch_size: int = 200,
    worker: str = "",
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    keep_outcomes: bool = True,
    actor: Actor = SYSTEM,
) -> RunSummary:
    """Bill every period due on `as_of` (default: each company's today). A run that writes
    takes today or a past day only: invoices are never issued ahead of time, whatever the
    command asks (a dry run may look up to a year ahead).

    `dry_run` does all the work in a transaction that is rolled back: the summary shows what
    would be issued, and nothing changes. `progress` is called with the number of
    subscriptions handled after each batch; `should_stop` is checked between batches.
    Every run but a dry run is recorded, even one that found nothing to do. A person starting
    it (`actor`) must be allowed to run billing for the company.
    """
    if company is None and not actor.is_system:
        raise PermissionRefused(_("Only the system runs the billing of every company."))
    companies = [company] if company else list(Company.objects.order_by("pk"))
    for each in companies:
        actor_require(actor, Can.RUN_BILLING, company=each)
    if as_of is not None:
        for each in companies:  # before anything is written, the run record included
            refuse_far_future(each, as_of, field="as_of")
            today = clock.company_today(each)
            check_date(as_of, "as_of", today=today)
            check_not_ahead(as_of, "as_of", today=today, dry_run=dry_run)
    if not dry_run:
        runs_close_abandoned()  # earlier runs whose process died: closed, counted
    run = _Run(as_of=as_of, company=company, dry_run=dry_run, worker=worker)
    run.summary.keep_outcomes = keep_outcomes
    run.ledger()
    try:
        for each in companies:
            today = as_of or clock.company_today(each)
            scope = transaction.atomic() if dry_run else contextlib.nullcontext()
            with contextlib.suppress(_DryRunRollback), scope:
                _run_company(each, today, run, batch_size, progress, should_stop)
                if dry_run:
                    raise _DryRunRollback
    except BaseException:
        if run.record is not None:
            run_abandon(run.record)
        raise
    run.finish()
    return run.summary


@dataclass
class _Run:
    """A run in progress and its BillingRun row (none for a dry run)."""

    as_of: date | None
    company: Company | None
    dry_run: bool
    worker: str
    summary: RunSummary = field(default_factory=RunSummary)
    record: BillingRun | None = None

    def ledger(self) -> BillingRun | None:
        if self.record is None and not self.dry_run:
            self.record = run_start(
                company_id=self.company.pk if self.company else None,
                as_of=self.as_of,
                worker=self.worker,
            )
            self.summary.run_id = self.record.pk
        return self.record

    def counts(self) -> dict[str, int]:
        return {
            n: getattr(self.summary, n) for n in ("due", "issued", "drafted", "skipped", "failed")
        }

    def beat(self) -> None:
        """In the batch's transaction: committed with it, or not at all."""
        if self.record is not None:
            run_beat(self.record, self.counts())

    def finish(self) -> None:
        if self.record is not None:
            run_finish(self.record, self.counts())


def _run_company(
    company: Company,
    today: date,
    run: _Run,
    batch_size: int,
    progress: Callable[[int], None] | None,
    should_stop: Callable[[], bool],
) -> None:
    # Billed subscriptions leave the due set (their next date moves on); the few that stay
    # due (failed) are set aside so that this run does not take them again.
    stuck: set[int] = set()
    while not should_stop():
        try:
            with transaction.atomic():
                batch = _claim(company, today, stuck, batch_size)
                if not batch:
                    return
                _bill_batch(company, batch, today, run.summary, run.ledger())
                stuck.update(
                    s.pk for s in batch if s.next_billing_date and s.next_billing_date <= today
                )
                run.beat()
        except ClockBehind as exc:
            exc.alert()  # the batch rolled back, and the alert queued inside it: again
            raise
        if progress:
            progress(len(batch))
        if connection.vendor == "sqlite" and not run.dry_run:
            # SQLite has one writer: let another process (a web request, another worker)
            # take the lock between batches instead of starving on its busy timeout.
            time.sleep(0.005)


def _claim(company: Company, today: date, stuck: set[int], size: int) -> list[Subscription]:
    """The next due subscriptions, oldest billing date first, read through the partial
    index `subscription_due` (so a claim costs the same whatever the number due)."""
    qs = (
        Subscription.objects.filter(
            company=company, status__in=_BILLABLE, next_billing_date__lte=today
        )
        .exclude(pk__in=stuck)
        .order_by("next_billing_date", "pk")
    )
    if connection.features.has_select_for_update_skip_locked:
        # Another worker holds these rows: it bills them; we move on to the next ones.
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    batch = list(
        qs.select_related(
            "customer", "company", "sales_rep", "customer__sales_rep"
        ).prefetch_related("lines__changes", "lines__product", "pauses", "billed_periods")[:size]
    )
    rl.freeze_related(batch)
    return batch


@dataclass
class _Write:
    """One due period of one subscription, computed before anything is written."""

    sub: Subscription
    planned: PlannedPeriod
    outcome: Outcome
    build: DraftBuild | None = None
    wait: bool = False
    metered_end: date | None = None
    ledger: BilledPeriod | None = None


def _bill_batch(
    company: Company,
    batch: list[Subscription],
    today: date,
    summary: RunSummary,
    run: BillingRun | None,
) -> None:
    """Plan every subscription of the batch in memory, then write the batch with a few bulk
    statements and number all its invoices under one series lock."""
    seller = seller_snapshot(company)
    done: list[Outcome] = []
    writes: list[_Write] = []
    for sub in batch:
        try:
            writes += _plan_subscription(sub, seller, today)
        except (ServiceError, ValueError) as exc:
            done.append(_failed(sub, str(exc)))
    _write(writes, run)
    to_issue = {w.build.invoice.pk: w for w in writes if w.build and not w.wait}
    result = invoices_issue(list(to_issue), actor=SYSTEM)
    for inv in result.issued:
        w = to_issue.pop(inv.pk)
        w.outcome.number, w.outcome.total = inv.number, str(inv.total_gross)
    for invoice_id, w in to_issue.items():
        _undo(invoice_id, w, str(result.refused.get(invoice_id, "refused at issue")))
    done += [w.outcome for w in writes]
    _advance(batch, writes)
    done.sort(key=lambda o: (o.subscription_id, o.period_start or date.min))
    for outcome in done:
        summary.add(outcome)
    if run is not None:
        RunItem.objects.bulk_create(
            RunItem(
                run=run, subscription_id=o.subscription_id, period_start=o.period_start,
                outcome=o.outcome, reason=o.reason[:500], invoice_id=o.invoice_id,
            )
            for o in done
        )  # fmt: skip


def _plan_subscription(sub: Subscription, seller: dict[str, Any], today: date) -> list[_Write]:
    """What the run must write for one subscription (nothing is written here)."""
    schedule = schedule_of(sub)
    plan = plan_billing(
        schedule,
        today=today,
        invoiced_starts={p.start for p in rl.billed_of(sub)},
        pauses=pauses_of(sub),
        cancelled_from=sub.cancelled_from,
    )
    if not plan:
        return []
    codes = missing_mentions(
        seller, buyer_snapshot(sub.customer), lines=1, doc_type="invoice", corrects=None,
        due_date_set=True,
    )  # fmt: skip
    if codes:
        raise ServiceError("missing " + ", ".join(mention_label(c) for c in codes))
    billed = rl.billed_periods(sub)
    has_metered = any(line.mode == "metered" for line in rl.lines_of(sub))
    consumed: set[int] = set()
    writes = []
    usage_until: date | None = None  # usage up to here is on an invoice of this run
    for planned in plan:
        period = planned.period
        outcome = Outcome(
            sub.pk, sub.name, sub.customer.legal_name, period.start, period.end, "skipped",
            reason=planned.reason,
        )  # fmt: skip
        if planned.action == "skip":
            writes.append(_Write(sub, planned, outcome))
            continue
        metered = rl._metered_period(schedule, period) if has_metered else None
        usage = rl.unbilled_usage(sub, metered.end, after=usage_until) if metered else {}
        usage_until = metered.end if metered else usage_until
        invoice = rl.period_invoice(
            sub, schedule, period, billed=billed, usage=usage, consumed=consumed
        )
        build = draft_build(
            company=sub.company, customer=sub.customer, lines=invoice.lines,
            period_start=period.start, period_end=period.end, customer_po=sub.customer_po,
            payment_terms_days=sub.payment_terms_days, subscription=sub,
        )  # fmt: skip
        wait = invoice.to_confirm or sub.review_before_issue or sub.awaiting_approval
        outcome.outcome = "drafted" if wait else "invoiced"
        outcome.total = str(build.invoice.total_gross)
        if wait:
            outcome.reason = _wait_reason(sub, to_confirm=invoice.to_confirm)
        writes.append(_Write(sub, planned, outcome, build, wait, metered.end if metered else None))
        billed.append(period)  # later periods of this run adjust nothing twice
    return writes


def _wait_reason(sub: Subscription, *, to_confirm: bool) -> str:
    if sub.awaiting_approval:
        return "awaiting approval"
    return "lines to confirm" if to_confirm else "review before issue"


def _write(writes: list[_Write], run: BillingRun | None) -> None:
    drafts_save([w.build for w in writes if w.build])
    for w in writes:
        period = w.planned.period
        w.ledger = BilledPeriod(
            subscription=w.sub, index=period.index, start=period.start, end=period.end,
            billing_date=w.planned.billing_date, outcome=w.outcome.outcome, reason=w.outcome.reason,
            invoice=w.build.invoice if w.build else None, run=run,
        )  # fmt: skip
        if w.build:
            w.outcome.invoice_id = w.build.invoice.pk
    BilledPeriod.objects.bulk_create([w.ledger for w in writes if w.ledger])
    for w in writes:
        if not w.build:
            continue
        invoice = w.build.invoice
        if w.metered_end:
            UsageRecord.objects.filter(
                line__subscription=w.sub, invoice__isnull=True, occurred_on__lte=w.metered_end
            ).update(invoice=invoice)
        lines = rl.lines_of(w.sub)
        if any(c.adjusted_on_id is None for line in lines for c in rl.changes_of(line)):
            # Changes now reflected on an invoice (split or adjusted): never adjusted again.
            ScheduledChange.objects.filter(
                line__subscription=w.sub,
                adjusted_on__isnull=True,
                effective__lte=w.planned.period.end,
            ).update(adjusted_on=invoice)
    OutboxMessage.objects.bulk_create(
        _draft_notice(w.sub, w.build.invoice) for w in writes if w.build and w.wait
    )


def _undo(invoice_id: int, w: _Write, reason: str) -> None:
    """A draft refused at issue (should have been caught while planning): forget the period
    so that the next run tries again, and report it."""
    BilledPeriod.objects.filter(invoice_id=invoice_id).delete()
    UsageRecord.objects.filter(invoice_id=invoice_id).update(invoice=None)
    ScheduledChange.objects.filter(adjusted_on_id=invoice_id).update(adjusted_on=None)
    Invoice.objects.filter(pk=invoice_id).delete()
    w.ledger = None
    w.outcome.outcome, w.outcome.reason, w.outcome.invoice_id = "failed", reason, None


def _advance(batch: list[Subscription], writes: list[_Write]) -> None:
    """Move each subscription's next billing date past what this batch handled."""
    new: dict[int, set[date]] = {}
    for w in writes:
        if w.ledger is not None:
            new.setdefault(w.sub.pk, set()).add(w.planned.period.start)
    changed = []
    for sub in batch:
        handled = {p.start for p in rl.billed_of(sub)} | new.get(sub.pk, set())
        nxt, status = next_billing(sub, handled)
        if (nxt, status) != (sub.next_billing_date, sub.status):
            sub.next_billing_date, sub.status = nxt, status
            changed.append(sub)
    rows_update(changed, ["next_billing_date", "status"])


def _failed(sub: Subscription, reason: str) -> Outcome:
    return Outcome(sub.pk, sub.name, sub.customer.legal_name, None, None, "failed", reason)


def _draft_notice(sub: Subscription, draft: Invoice) -> OutboxMessage:
    """Tell the owner of the subscription that a draft waits (delivered by the worker); one
    awaiting approval waits for those who may approve it: the owners and accountants."""
    owner = sub.sales_rep or sub.customer.sales_rep
    recipients = [owner.email] if owner and owner.email and not sub.awaiting_approval else []
    approvers = ("owner", "accountant") if sub.awaiting_approval else ("owner",)
    recipients = recipients or [
        m.user.email for m in sub.company.members.filter(role__in=approvers)
    ]
    return OutboxMessage(
        company=sub.company,
        kind="notify.draft_waiting",
        key=f"draft-waiting:{draft.pk}",
        payload={
            "to": [r for r in recipients if r],
            "subscription": sub.name,
            "customer": sub.customer.legal_name,
            "invoice_id": draft.pk,
            "period_start": draft.period_start.isoformat() if draft.period_start else None,
            "period_end": draft.period_end.isoformat() if draft.period_end else None,
            "total": str(draft.total_gross),
        },
        next_attempt_at=clock.now(),
    )
