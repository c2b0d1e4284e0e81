"""DOMAIN invariants 1 and 2 under real concurrency: several OS processes issue drafts of the
same series at once, and a process dies while it holds the series lock.

The drafts are committed (transactional database) so that the child processes, which open
their own connections to the test database (tests/billing/_issuer.py), can see them. Runs on
SQLite (the writers queue on the database lock) and on PostgreSQL (they queue on the row lock).
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from facturier.billing.models import Company, Invoice, InvoiceStatus
from facturier.billing.services import audit_verify, invoice_issue
from facturier.billing.services.actors import Actor
from tests.processes import Children

ISSUER = Path(__file__).with_name("_issuer.py")
WORKERS = 8
DRAFTS_PER_WORKER = 25
NUMBER = re.compile(r"^F(\d{4})-(\d{5})$")


def start_issuer(children: Children, name: str, **orders: Any) -> subprocess.Popen[bytes]:
    return children.start(name, [sys.executable, str(ISSUER), json.dumps(orders)])


# -- the invariants -------------------------------------------------------------------------


def assert_invariants_1_and_2(company: Company) -> list[Invoice]:
    """Gapless, unique, well-formed numbers; dates never going back; chains intact."""
    issued = list(
        Invoice.objects.filter(company=company, status=InvoiceStatus.ISSUED).order_by("sequence")
    )
    # The series restarts each year: each year's counter is gapless on its own (a run across
    # midnight on 31 December would otherwise look like a duplicate).
    by_counter: dict[int | None, list[Invoice]] = {}
    for invoice in issued:
        by_counter.setdefault(invoice.series_year, []).append(invoice)
    for year, invoices in by_counter.items():
        sequences = [i.sequence for i in invoices]
        assert sequences == list(range(1, len(invoices) + 1)), f"gap or duplicate in {year}"
        for invoice in invoices:
            expected = f"F{invoice.issue_date.year}-{invoice.sequence:05d}"
            assert invoice.number == expected, (invoice.number, expected)
            assert NUMBER.match(str(invoice.number))
    assert len({i.number for i in issued}) == len(issued)
    assert len({i.series_id for i in issued}) <= 1
    # Invariant 2: a higher number never has an earlier date. issued_at is read under the same
    # lock as issue_date, so it must not go back either: that is what catches a date taken
    # before the lock, without waiting for midnight.
    by_time = sorted(issued, key=lambda i: (i.series_year, i.sequence))
    for before, after in itertools.pairwise(by_time):
        assert before.issue_date <= after.issue_date, (before.number, after.number)
        assert before.issued_at <= after.issued_at, (before.number, after.number)
    assert audit_verify() == []
    return issued


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_issue_gapless_numbers(
    company: Company,
    make_draft: Callable[..., Invoice],
    children: Children,
    tmp_path: Path,
) -> None:
    drafts = [make_draft().pk for _ in range(WORKERS * DRAFTS_PER_WORKER)]
    start = tmp_path / "start"
    ready = [tmp_path / f"ready-{k}" for k in range(WORKERS)]
    results = [tmp_path / f"result-{k}.json" for k in range(WORKERS)]
    for k in range(WORKERS):
        start_issuer(
            children,
            f"worker-{k}",
            mode="issue",
            ids=drafts[k::WORKERS],  # interleaved: batches hold non-adjacent drafts
            ready=str(ready[k]),
            start=str(start),
            result=str(results[k]),
        )
    children.wait_for(ready, timeout=60)  # all connected: now go, all together
    start.touch()
    children.wait_all(timeout=60)

    codes = {name: proc.returncode for name, proc in children.procs.items()}
    assert set(codes.values()) == {0}, f"{codes}\n{children.report()}"
    assert not Invoice.objects.filter(pk__in=drafts, status=InvoiceStatus.DRAFT).exists()
    issued = assert_invariants_1_and_2(company)
    assert len(issued) == len(drafts)
    # What each worker was told is what was committed.
    told: dict[int, str] = {}
    for result in results:
        told.update({int(pk): number for pk, number in json.loads(result.read_text()).items()})
    assert told == {i.pk: i.number for i in issued}
    if connection.vendor == "postgresql":
        # And they did take turns: walking the numbers in order, the worker changes more often
        # than the WORKERS - 1 times of workers that ran one after the other. PostgreSQL queues
        # lock waiters in order; SQLite's busy handler sleeps and retries, so there one worker
        # may legitimately run through its whole share while the others sleep.
        owner = {pk: k for k in range(WORKERS) for pk in drafts[k::WORKERS]}
        switches = sum(owner[a.pk] != owner[b.pk] for a, b in itertools.pairwise(issued))
        assert switches > WORKERS - 1, f"the workers did not overlap ({switches} switches)"


@pytest.mark.django_db(transaction=True)
def test_worker_killed_while_holding_the_series_lock_leaves_no_gap(
    company: Company,
    make_draft: Callable[..., Invoice],
    children: Children,
    tmp_path: Path,
) -> None:
    before = [
        invoice_issue(make_draft(), actor=Actor.system("x")) for _ in range(2)
    ]  # F…-00001, -00002
    doomed = [make_draft().pk for _ in range(3)]
    waiting = make_draft().pk
    marker = tmp_path / "holding"

    holder = start_issuer(children, "holder", mode="hold", ids=doomed, marker=str(marker), sleep=60)
    children.wait_for([marker], timeout=30)
    taken = json.loads(marker.read_text())
    assert [n[-5:] for n in taken] == ["00003", "00004", "00005"], taken
    # Uncommitted: nobody else sees these numbers.
    assert Invoice.objects.filter(pk__in=doomed, status=InvoiceStatus.DRAFT).count() == 3
    assert not Invoice.objects.filter(company=company, sequence__gt=2).exists()

    # A second worker wants a number now: it queues behind the lock.
    waiter = start_issuer(
        children,
        "waiter",
        mode="issue",
        ids=[waiting],
        ready=str(tmp_path / "ready"),
        start=str(tmp_path / "start"),
        result=str(tmp_path / "waiter.json"),
    )
    children.wait_for([tmp_path / "ready"], timeout=30)
    (tmp_path / "start").touch()
    time.sleep(1.0)
    assert waiter.poll() is None, f"the waiter did not wait for the lock\n{children.report()}"

    holder.kill()  # SIGKILL: no rollback from the client, the database must undo it
    assert holder.wait(10) == -9
    assert waiter.wait(30) == 0, children.report()

    # The dead worker's numbers were handed out again, in order: no gap.
    year = before[0].issue_date.year  # type: ignore[union-attr]
    assert json.loads((tmp_path / "waiter.json").read_text()) == {str(waiting): f"F{year}-00003"}
    for invoice in Invoice.objects.filter(pk__in=doomed):
        assert invoice.status == InvoiceStatus.DRAFT
        assert (invoice.number, invoice.sequence, invoice.issue_date) == (None, None, None)
    after = invoice_issue(Invoice.objects.get(pk=doomed[0]), actor=Actor.system("x"))
    assert after.sequence == 4
    issued = assert_invariants_1_and_2(company)
    assert [i.sequence for i in issued] == [1, 2, 3, 4]
