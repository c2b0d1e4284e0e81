"""The billing run: every due period of every due subscription becomes an invoice, once.

For each company, due subscriptions are claimed in small batches (`SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL, so concurrent runs and workers share the work instead of repeating it).
Each batch is one transaction: it writes the drafts and the ledger rows (unique on
(subscription, period start): a period can never be billed twice), then numbers every
invoice of the batch under one series lock. A crash anywhere rolls the batch back whole;
the next run finds the same periods due and bills them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from facturier.billing import clock
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
from facturier.billing.services.drafts import invoice_create
from facturier.billing.services.errors import ServiceError
from facturier.billing.services.issuing import invoices_issue, mention_label
from facturier.billing.services.subscriptions import next_billing_refresh, pauses_of, schedule_of
from facturier.billing.snapshots import buyer_snapshot, seller_snapshot
from facturier.core import recurrence as rec
from facturier.core.billing_plan import plan_billing
from facturier.core.mentions import missing_mentions

ACTOR = "billing-run"


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

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        counter = {"invoiced": "issued"}.get(outcome.outcome, outcome.outcome)
        setattr(self, counter, getattr(self, counter) + 1)
        if outcome.outcome != "failed":
            self.due += 1


class _DryRunRollback(Exception):
    pass


def subscriptions_due(company: Company, today: date) -> int:
    return Subscription.objects.filter(
        company=company, status=SubscriptionStatus.ACTIVE, next_billing_date__lte=today
    ).count()


def billing_run(
    *,
    as_of: date | None = None,
    company: Company | None = None,
    dry_run: bool = False,
    batch_size: int = 50,
    worker: str = "",
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunSummary:
    """Bill every period due on `as_of` (default: each company's today).

    `dry_run` does all the work in a transaction that is rolled back: the summary shows what
    would be issued, and nothing changes. `progress` is called with the number of
    subscriptions handled after each batch; `should_stop` is checked between batches.
    """
    summary = RunSummary()
    run = None
    if not dry_run:
        run = BillingRun.objects.create(
            company=company, as_of=as_of, started_at=clock.now(), worker=worker
        )
        summary.run_id = run.pk
    companies = [company] if company else list(Company.objects.order_by("pk"))
    for each in companies:
        today = as_of or clock.company_today(each)
        with contextlib.suppress(_DryRunRollback):
            _run_company(each, today, summary, run, dry_run, batch_size, progress, should_stop)
    if run is not None:
        for name in ("due", "issued", "drafted", "skipped", "failed"):
            setattr(run, name, getattr(summary, name))
        run.finished_at = clock.now()
        run.save()
    return summary


def _run_company(
    company: Company,
    today: date,
    summary: RunSummary,
    run: BillingRun | None,
    dry_run: bool,
    batch_size: int,
    progress: Callable[[int], None] | None,
    should_stop: Callable[[], bool],
) -> None:
    last_pk = 0
    with transaction.atomic() if dry_run else _NoOp():
        while not should_stop():
            with transaction.atomic():
                batch = _claim(company, today, last_pk, batch_size)
                if not batch:
                    break
                last_pk = batch[-1].pk
                _bill_batch(company, batch, today, summary, run)
            if progress:
                progress(len(batch))
        if dry_run:
            raise _DryRunRollback


class _NoOp:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _claim(company: Company, today: date, after_pk: int, size: int) -> list[Subscription]:
    qs = Subscription.objects.filter(
        company=company,
        status=SubscriptionStatus.ACTIVE,
        next_billing_date__lte=today,
        pk__gt=after_pk,
    ).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        # Another worker holds these rows: it bills them; we move on to the next ones.
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(
        qs.select_related("customer", "company").prefetch_related(
            "lines__changes", "lines__product", "pauses"
        )[:size]
    )


def _bill_batch(
    company: Company,
    batch: list[Subscription],
    today: date,
    summary: RunSummary,
    run: BillingRun | None,
) -> None:
    seller = seller_snapshot(company)
    done: list[Outcome] = []
    to_issue: dict[int, Outcome] = {}
    for sub in batch:
        try:
            # A savepoint per subscription: one failure rolls back that subscription only.
            with transaction.atomic():
                outcomes = _bill_subscription(sub, seller, today, run)
        except (ServiceError, ValueError) as exc:
            outcomes = [_failed(sub, str(exc))]
        for outcome in outcomes:
            if outcome.outcome == "invoiced" and outcome.invoice_id:
                to_issue[outcome.invoice_id] = outcome
            else:
                done.append(outcome)
    # Number the whole batch under one series lock (one block of consecutive numbers).
    result = invoices_issue(list(to_issue), actor=ACTOR)
    for inv in result.issued:
        outcome = to_issue.pop(inv.pk)
        outcome.number, outcome.total = inv.number, str(inv.total_gross)
        done.append(outcome)
    for invoice_id, outcome in to_issue.items():
        # Refused at issue (should have been caught above): undo the period, report it.
        BilledPeriod.objects.filter(invoice_id=invoice_id).delete()
        UsageRecord.objects.filter(invoice_id=invoice_id).update(invoice=None)
        ScheduledChange.objects.filter(adjusted_on_id=invoice_id).update(adjusted_on=None)
        Invoice.objects.filter(pk=invoice_id).delete()
        reason = str(result.refused.get(invoice_id, "refused at issue"))
        outcome.outcome, outcome.reason, outcome.invoice_id = "failed", reason, None
        done.append(outcome)
    for sub in batch:
        next_billing_refresh(sub)
    for outcome in sorted(done, key=lambda o: (o.subscription_id, o.period_start or date.min)):
        summary.add(outcome)
    if run is not None:
        RunItem.objects.bulk_create(
            RunItem(
                run=run,
                subscription_id=o.subscription_id,
                period_start=o.period_start,
                outcome=o.outcome,
                reason=o.reason[:500],
                invoice_id=o.invoice_id,
            )
            for o in done
        )


def _failed(sub: Subscription, reason: str) -> Outcome:
    return Outcome(sub.pk, sub.name, sub.customer.legal_name, None, None, "failed", reason)


def _bill_subscription(
    sub: Subscription, seller: dict[str, object], today: date, run: BillingRun | None
) -> list[Outcome]:
    schedule = schedule_of(sub)
    handled = set(BilledPeriod.objects.filter(subscription=sub).values_list("start", flat=True))
    plan = plan_billing(
        schedule,
        today=today,
        invoiced_starts=handled,
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
        reason = "missing " + ", ".join(mention_label(c) for c in codes)
        return [_failed(sub, reason)]
    outcomes = []
    billed = rl.billed_periods(sub)
    for planned in plan:
        period = planned.period
        base = Outcome(
            sub.pk, sub.name, sub.customer.legal_name, period.start, period.end, "skipped"
        )
        if planned.action == "skip":
            BilledPeriod.objects.create(
                subscription=sub, index=period.index, start=period.start, end=period.end,
                billing_date=planned.billing_date, outcome="skipped", reason=planned.reason,
                run=run,
            )  # fmt: skip
            base.reason = planned.reason
            outcomes.append(base)
            continue
        outcomes.append(_invoice_period(sub, schedule, period, billed, run, base))
        billed.append(period)
    return outcomes


def _invoice_period(
    sub: Subscription,
    schedule: rec.Schedule,
    period: rec.Period,
    billed: list[rec.Period],
    run: BillingRun | None,
    base: Outcome,
) -> Outcome:
    metered = rl._metered_period(schedule, period)
    usage = rl.unbilled_usage(sub, metered.end) if metered else {}
    planned = rl.period_invoice(sub, schedule, period, billed=billed, usage=usage)
    draft = invoice_create(
        company=sub.company,
        customer=sub.customer,
        lines=planned.lines,
        period_start=period.start,
        period_end=period.end,
        customer_po=sub.customer_po,
        payment_terms_days=sub.payment_terms_days,
        subscription=sub,
    )
    if metered:
        UsageRecord.objects.filter(
            line__subscription=sub, invoice__isnull=True, occurred_on__lte=metered.end
        ).update(invoice=draft)
    ScheduledChange.objects.filter(
        line__subscription=sub, adjusted_on__isnull=True, effective__lte=period.end
    ).update(adjusted_on=draft)
    wait = planned.to_confirm or sub.review_before_issue
    BilledPeriod.objects.create(
        subscription=sub, index=period.index, start=period.start, end=period.end,
        billing_date=planned.billing_date, outcome="drafted" if wait else "invoiced",
        invoice=draft, run=run,
    )  # fmt: skip
    base.invoice_id = draft.pk
    base.total = str(draft.total_gross)
    if wait:
        base.outcome = "drafted"
        base.reason = "lines to confirm" if planned.to_confirm else "review before issue"
        _notify_draft(sub, draft)
    else:
        base.outcome = "invoiced"
    return base


def _notify_draft(sub: Subscription, draft: Invoice) -> None:
    """Tell the owner of the subscription that a draft waits (delivered by the worker)."""
    owner = sub.sales_rep or sub.customer.sales_rep
    recipients = [owner.email] if owner and owner.email else []
    recipients = recipients or [m.user.email for m in sub.company.members.filter(role="owner")]
    OutboxMessage.objects.create(
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
