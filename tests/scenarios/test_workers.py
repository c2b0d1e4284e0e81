"""Real worker processes against the test database (DOMAIN invariants 1, 2 and 5).

- Four OS processes (`facturier worker --until-idle` and `facturier billing run`) start at
  once on a few thousand due periods: each period is invoiced once, numbers are 1..N.
- A billing run is killed with SIGKILL in the middle, once while it holds numbers inside an
  uncommitted batch and once at whatever moment the kill lands; a later worker completes
  the work: no period twice, none missing, no gap in the numbers.

The subscriptions are committed (transactional test) so that the children, which open their
own connections (DATABASE_URL pointing at the test database), see them. The children use the
real clock: everything is due "today" in Paris.
"""

from __future__ import annotations

import itertools
import json
import signal
import sys
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction

from facturier.billing import clock
from facturier.billing.models import (
    BilledPeriod,
    BillingRun,
    Company,
    Customer,
    Invoice,
    InvoiceStatus,
    RunItem,
    Subscription,
)
from facturier.billing.services import audit_verify
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    schedule_of,
    subscription_create,
)
from facturier.core import recurrence as rec
from tests.actors import SYS
from tests.processes import Children, facturier_command

CHILD = Path(__file__).with_name("_worker_child.py")
D = Decimal


# -- the subscriptions and the invariants ---------------------------------------------------


def create_due(
    customers: list[Customer], today: date, *, monthly: int, weekly: int = 0, daily: int = 0
) -> dict[int, list[date]]:
    """Subscriptions due today, each with the starts of the periods due: monthly anchored
    today (one period), weekly anchored two weeks ago and daily anchored two days ago (three
    periods each: a catch-up)."""
    kinds = [("month", today)] * monthly
    kinds += [("week", today - timedelta(days=14))] * weekly
    kinds += [("day", today - timedelta(days=2))] * daily
    due: dict[int, list[date]] = {}
    with transaction.atomic():  # one commit: quicker, and the children see all or nothing
        for k, (unit, anchor) in enumerate(kinds):
            sub = subscription_create(
                customer=customers[k % len(customers)],
                name=f"{unit} {k:05}",
                actor=SYS,
                frequency_unit=unit,
                anchor=anchor,
                lines=[SubscriptionLineData(description=f"Service {k}", unit_price=D(k % 97 + 1))],
            )
            due[sub.pk] = [p.start for p in rec.periods_due(schedule_of(sub), today=today)]
    assert Counter(len(starts) for starts in due.values()) == Counter(
        {1: monthly, 3: weekly + daily} if weekly + daily else {1: monthly}
    )
    return due


def assert_billed_exactly_once(due: dict[int, list[date]]) -> list[Invoice]:
    """Each due period in the ledger once, with its own issued invoice; nothing else."""
    ledger: dict[int, list[BilledPeriod]] = {}
    for row in BilledPeriod.objects.order_by("subscription_id", "start"):
        ledger.setdefault(row.subscription_id, []).append(row)
    missing = {pk: starts for pk, starts in due.items() if pk not in ledger}
    assert not missing, f"{len(missing)} subscriptions not billed, e.g. {list(missing)[:5]}"
    assert set(ledger) == set(due)
    for pk, starts in due.items():
        assert [r.start for r in ledger[pk]] == starts, pk
        assert {r.outcome for r in ledger[pk]} == {"invoiced"}
    invoices = list(Invoice.objects.select_related("subscription"))
    total = sum(len(starts) for starts in due.values())
    assert len(invoices) == total
    assert Counter(i.subscription_id for i in invoices) == {k: len(v) for k, v in due.items()}
    assert all(i.status == InvoiceStatus.ISSUED for i in invoices)
    assert len({r.invoice_id for rows in ledger.values() for r in rows}) == total
    # The run ledger tells the same story: each period invoiced by exactly one run.
    items = Counter(
        (i.subscription_id, i.period_start)
        for i in RunItem.objects.filter(outcome="invoiced").only("subscription", "period_start")
    )
    assert set(items.values()) == {1}
    assert len(items) == total
    assert not RunItem.objects.exclude(outcome="invoiced").exists()
    for sub in Subscription.objects.all():
        assert sub.status == "active" and sub.next_billing_date > clock.company_today(sub.company)
    return invoices


def assert_gapless(invoices: list[Invoice]) -> None:
    """Invariants 1 and 2 over the yearly series, and the hash chains."""
    by_year: dict[int, list[Invoice]] = {}
    for inv in sorted(invoices, key=lambda i: (i.series_year, i.sequence)):
        by_year.setdefault(inv.series_year, []).append(inv)
    for year, group in by_year.items():
        assert [i.sequence for i in group] == list(range(1, len(group) + 1)), f"gap in {year}"
        assert [i.number for i in group] == [f"F{year}-{i.sequence:05d}" for i in group]
        for before, after in itertools.pairwise(group):
            assert before.issue_date <= after.issue_date
            assert before.issued_at <= after.issued_at
    assert audit_verify() == []


def billable_company(company: Company) -> None:
    """The worker bills a company once its local hour reaches billing_hour: at once here."""
    Company.objects.filter(pk=company.pk).update(billing_hour=0)


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_four_workers_at_once_bill_every_period_once(
    company: Company, customer: Customer, consumer: Customer, children: Children
) -> None:
    billable_company(company)
    today = clock.company_today(company)
    due = create_due([customer, consumer], today, monthly=1800, weekly=100, daily=100)
    assert sum(map(len, due.values())) == 2400

    commands = {
        "worker-1": facturier_command("worker", "--until-idle", "--tick", "0.2"),
        "worker-2": facturier_command("worker", "--until-idle", "--tick", "0.2"),
        "run-1": facturier_command("billing", "run", "--quiet", "--batch-size", "20"),
        "run-2": facturier_command("billing", "run", "--quiet", "--batch-size", "50"),
    }
    for name, command in commands.items():
        children.start(name, command)
    codes = children.wait_all(timeout=240)
    assert set(codes.values()) == {0}, f"{codes}\n{children.report()}"

    invoices = assert_billed_exactly_once(due)
    assert_gapless(invoices)
    runs = list(BillingRun.objects.all())
    assert all(run.finished_at is not None and run.failed == 0 for run in runs)
    assert {run.status for run in runs} == {"finished"}
    assert sum(run.issued for run in runs) == len(invoices)
    # They ran at the same time: several runs had started before the last invoice was issued.
    last = max(i.issued_at for i in invoices)
    assert sum(run.started_at < last for run in runs) >= 2, [(r.started_at, r.issued) for r in runs]
    if connection.vendor == "postgresql":
        # SKIP LOCKED hands each run other rows: the work is shared. (SQLite's writers queue
        # on the database lock, and the one holding it may well take every batch.)
        busy = [run for run in runs if run.issued]
        assert len(busy) >= 2, [(run.worker, run.issued) for run in runs]


def read_progress(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("when", ["holding numbers inside a batch", "whenever the kill lands"])
def test_run_killed_midway_then_a_worker_completes(
    when: str, company: Company, customer: Customer, children: Children, tmp_path: Path
) -> None:
    billable_company(company)
    today = clock.company_today(company)
    due = create_due([customer], today, monthly=400)
    batch, hold_at = 10, 4
    progress, marker = tmp_path / "progress", tmp_path / "holding"
    orders = {"batch_size": batch, "progress": str(progress)}
    if when.startswith("holding"):
        orders |= {"hold_at": hold_at, "marker": str(marker)}
    doomed = children.start("doomed", [sys.executable, str(CHILD), json.dumps(orders)])

    deadline = time.monotonic() + 60
    ready = (lambda: marker.exists()) if "hold_at" in orders else (
        lambda: len(read_progress(progress)) >= 3
    )  # fmt: skip
    while not ready():
        assert doomed.poll() is None, f"the run ended before the kill\n{children.report()}"
        assert time.monotonic() < deadline, f"the run is too slow\n{children.report()}"
        time.sleep(0.005)
    doomed.send_signal(signal.SIGKILL)  # no rollback from the client: the database undoes it
    assert doomed.wait(10) == -signal.SIGKILL
    assert "done" not in read_progress(progress), "the run finished before the kill"

    # What survived: whole batches only, numbered 1..n, the run left unfinished.
    billed = BilledPeriod.objects.count()
    issued = Invoice.objects.filter(status=InvoiceStatus.ISSUED).count()
    assert issued == billed == Invoice.objects.count()
    assert billed % batch == 0 and billed >= 3 * batch
    assert_gapless(list(Invoice.objects.all()))
    killed = BillingRun.objects.get(worker="doomed")
    assert (killed.status, killed.finished_at) == ("running", None)  # nobody closed it yet
    assert RunItem.objects.filter(run=killed).count() == billed
    if "hold_at" in orders:
        assert billed == (hold_at - 1) * batch
        year = today.year
        taken = json.loads(marker.read_text())  # numbers the dead batch held, never committed
        first = (hold_at - 1) * batch + 1
        assert taken == [f"F{year}-{n:05d}" for n in range(first, first + batch)]

    # A later worker finds the rest due and bills it; nothing twice, no gap.
    children.start("later", facturier_command("worker", "--until-idle", "--tick", "0.2"))
    codes = children.wait_all(timeout=120)
    assert codes["later"] == 0, children.report()
    invoices = assert_billed_exactly_once(due)
    assert len(invoices) == 400
    assert_gapless(invoices)
    later = BillingRun.objects.exclude(pk=killed.pk).get()
    assert later.issued == 400 - billed and later.finished_at is not None
    assert later.status == "finished"
    # The later worker closed the dead run, counting what it had committed.
    killed.refresh_from_db()
    assert (killed.status, killed.due, killed.issued, killed.failed) == (
        "interrupted", billed, billed, 0,
    )  # fmt: skip
    assert killed.finished_at is None
    if "hold_at" in orders:  # the numbers the dead batch held went to the later run's invoices
        reissued = Invoice.objects.filter(number__in=taken)
        assert reissued.count() == batch
        assert set(
            BilledPeriod.objects.filter(invoice__in=reissued).values_list("run_id", flat=True)
        ) == {later.pk}
