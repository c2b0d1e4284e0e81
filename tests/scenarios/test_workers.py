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
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
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

CHILD = Path(__file__).with_name("_worker_child.py")
D = Decimal


# -- child processes (the approach of tests/billing/test_numbering_concurrency.py) ----------


def child_env() -> dict[str, str]:
    """The environment that points a child process at this test database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = "sqlite:///" + str(Path(db["NAME"]).resolve())  # sqlite:////abs/path
    elif connection.vendor == "postgresql":
        user = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            user += ":" + quote(db["PASSWORD"], safe="")
        host = quote(db["HOST"] or "localhost", safe="")
        port = f":{db['PORT']}" if db["PORT"] else ""
        url = f"postgres://{user}@{host}{port}/{quote(db['NAME'], safe='')}"
    else:
        pytest.skip(f"no child-process URL for {connection.vendor}")
    return {
        **os.environ,
        "DATABASE_URL": url,
        "FACTURIER_DATA_DIR": str(settings.DATA_DIR),
        "DJANGO_SETTINGS_MODULE": "facturier.settings",
        "FACTURIER_DB_CONN_MAX_AGE": "0",
    }


def facturier_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("facturier")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from facturier.cli import main; main()", *args]


class Children:
    """Child processes, their output in files (no pipe to fill up)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.env = child_env()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        out = (self.workdir / f"{name}.out").open("wb")
        err = (self.workdir / f"{name}.err").open("wb")
        with out, err:
            proc = subprocess.Popen(
                command, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err
            )
        self.procs[name] = proc
        return proc

    def output(self, name: str) -> str:
        return "".join(
            (self.workdir / f"{name}.{kind}").read_text(errors="replace") for kind in ("out", "err")
        )

    def report(self) -> str:
        return "\n".join(
            f"--- {name}: exit {proc.returncode}\n{self.output(name)[-3000:]}"
            for name, proc in self.procs.items()
        )

    def wait_all(self, timeout: float) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pytest.fail(f"a child did not finish in {timeout} s\n{self.report()}")
        return {name: proc.returncode for name, proc in self.procs.items()}

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    kids = Children(tmp_path)
    try:
        yield kids
    finally:
        kids.kill_all()


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
                actor="t",
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
    assert killed.finished_at is None
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
    if "hold_at" in orders:  # the numbers the dead batch held went to the later run's invoices
        reissued = Invoice.objects.filter(number__in=taken)
        assert reissued.count() == batch
        assert set(
            BilledPeriod.objects.filter(invoice__in=reissued).values_list("run_id", flat=True)
        ) == {later.pk}
