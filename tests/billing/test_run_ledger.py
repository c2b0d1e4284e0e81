"""The run ledger's life: a run records its process and beats per batch; a run whose process
died (killed, crashed, gone from the host, or silent past STALE_AFTER) is closed as
interrupted by the next run or worker tick, with its counts recomputed from what it
committed. (A real SIGKILL: tests/scenarios/test_workers.py.)"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from click.testing import CliRunner

from facturier.billing.models import BillingRun, Invoice, RunStatus
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.run_ledger import (
    STALE_AFTER,
    process_alive,
    process_start,
    runs_close_abandoned,
)
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.worker.loop import Worker
from tests.actors import SYS

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def three(customer):
    for k in range(3):
        subscription_create(
            customer=customer, name=f"Sub {k}", actor=SYS, frequency_unit="month",
            anchor=date(2026, 11, 28),
            lines=[SubscriptionLineData(description="Service", unit_price=D("10.00"))],
        )  # fmt: skip


def dead_pid() -> int:
    """The pid of a process that has ended (and was reaped)."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def as_if_killed(run: BillingRun, **fields: object) -> None:
    """What a run killed after committing its batches leaves: running, counts at zero (as
    before this fix, the counts were only written at the end)."""
    BillingRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, finished_at=None, due=0, issued=0, **fields
    )


def test_a_run_records_its_process_and_finishes(three):
    summary = billing_run(batch_size=1)
    run = BillingRun.objects.get(pk=summary.run_id)
    assert (run.status, run.host, run.pid) == ("finished", socket.gethostname(), os.getpid())
    assert run.finished_at == run.heartbeat_at == NOW
    assert (run.due, run.issued) == (3, 3)


def test_a_run_whose_process_died_is_closed_by_the_next_run(three):
    killed = BillingRun.objects.get(pk=billing_run(batch_size=1).run_id)
    as_if_killed(killed, pid=dead_pid())
    later = billing_run()
    killed.refresh_from_db()
    assert (killed.status, killed.due, killed.issued, killed.failed) == ("interrupted", 3, 3, 0)
    assert killed.finished_at is None
    assert BillingRun.objects.get(pk=later.run_id).status == "finished"
    assert runs_close_abandoned() == 0  # closed once


def test_the_worker_tick_closes_them_too(three):
    killed = BillingRun.objects.get(pk=billing_run().run_id)
    as_if_killed(killed, pid=dead_pid())
    Worker(name="w", stop=threading.Event()).bill_due_companies()
    killed.refresh_from_db()
    assert (killed.status, killed.issued) == ("interrupted", 3)


def test_a_silent_run_is_abandoned_after_the_threshold(three):
    live = BillingRun.objects.get(pk=billing_run().run_id)
    # Another machine's run (its pid means nothing here), and a live process of this host.
    as_if_killed(live, host="elsewhere", heartbeat_at=NOW - STALE_AFTER + timedelta(minutes=1))
    parent = os.getppid()
    here = BillingRun.objects.create(
        started_at=NOW, heartbeat_at=NOW - timedelta(minutes=1), host=socket.gethostname(),
        pid=parent, pid_start=process_start(parent),
    )  # fmt: skip
    assert runs_close_abandoned() == 0
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert runs_close_abandoned() == 1  # the other machine's run: silent too long
    live.refresh_from_db()
    here.refresh_from_db()
    assert (live.status, live.issued, here.status) == ("interrupted", 3, "running")


def test_a_run_stopped_by_an_error_is_interrupted_with_what_it_committed(three):
    def boom(count: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        billing_run(batch_size=1, progress=boom)  # dies after its first batch committed
    run = BillingRun.objects.get()
    assert (run.status, run.due, run.issued) == ("interrupted", 1, 1)
    assert Invoice.objects.filter(status="issued").count() == 1


def test_listed_as_interrupted(three):
    killed = BillingRun.objects.get(pk=billing_run().run_id)
    as_if_killed(killed, pid=dead_pid())
    out = CliRunner().invoke(cli, ["billing", "runs"])
    assert out.exit_code == 0, out.output
    [line] = out.output.splitlines()
    assert f"{killed.pk:>6} 2026-11-28 10:00:00 UTC interrupted issued      3" in line


def test_process_alive():
    me = os.getpid()
    assert process_alive(me, started=process_start(me))
    # Same pid, another start: the pid was reused by another program.
    assert not process_alive(me, started=(process_start(me) or 0) + 1)
    assert not process_alive(dead_pid(), started=None)
    zombie = subprocess.Popen(["true"])  # ends at once; not reaped until wait()
    deadline = time.monotonic() + 10
    while process_alive(zombie.pid, started=None):
        assert time.monotonic() < deadline, "a zombie is seen as alive"
        time.sleep(0.01)
    assert zombie.returncode is None  # still unreaped: seen dead as a zombie
    zombie.wait()
