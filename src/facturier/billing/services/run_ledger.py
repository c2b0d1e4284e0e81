"""The run ledger's life: a BillingRun is `running` while its process works, `finished` when
it ends, and `interrupted` when its process died before (kill -9, a crash, a machine down).

A run records who runs it (host, pid) and beats once per committed batch (`heartbeat_at`).
A run is abandoned when its heartbeat is older than STALE_AFTER, or when its process is gone
from this host (no such pid, a zombie, or another process that reused the pid: a process is
named by its pid and its start time in ticks after boot, which no clock change moves). Any later
run and every worker tick close abandoned runs: the counts are recomputed from the run's own
RunItem rows (written in the same transactions as its invoices, so they are exactly what it
committed) and the run is marked `interrupted`.
"""

from __future__ import annotations

import contextlib
import os
import socket
from datetime import date, datetime, timedelta
from pathlib import Path

from django.db import DatabaseError, connection, transaction
from django.db.models import Count

from facturier.billing import clock, extensions
from facturier.billing.models import BillingRun, RunItem, RunStatus

# Far longer than any batch takes (seconds): a run this silent is not working any more.
STALE_AFTER = timedelta(minutes=10)
# The runs this process is working on (a run of this pid that is not here was dropped).
_LIVE: set[int] = set()
COUNTERS = ("issued", "drafted", "skipped", "failed")


def run_start(*, company_id: int | None, as_of: date | None, worker: str) -> BillingRun:
    now = clock.now()
    run = BillingRun.objects.create(
        company_id=company_id, as_of=as_of, started_at=now, worker=worker,
        status=RunStatus.RUNNING, host=socket.gethostname()[:255], pid=os.getpid(),
        pid_start=process_start(os.getpid()), heartbeat_at=now,
    )  # fmt: skip
    _LIVE.add(run.pk)
    return run


def run_beat(run: BillingRun, counts: dict[str, int]) -> None:
    """Inside a batch's transaction: the heartbeat and the counts so far, committed with
    the batch (a run closed as interrupted by mistake is running again)."""
    BillingRun.objects.filter(pk=run.pk).update(
        heartbeat_at=clock.now(), status=RunStatus.RUNNING, **counts
    )


def run_finish(run: BillingRun, counts: dict[str, int]) -> None:
    _LIVE.discard(run.pk)
    for name, value in counts.items():
        setattr(run, name, value)
    run.finished_at = run.heartbeat_at = clock.now()
    run.status = RunStatus.FINISHED
    run.save()
    extensions.billing_run_finished.send(None, run=run)


def run_abandon(run: BillingRun) -> None:
    """The run stops on an error: close it as interrupted now if the database answers
    (otherwise the next run or worker tick will)."""
    _LIVE.discard(run.pk)
    with contextlib.suppress(DatabaseError):  # a broken connection or transaction
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()  # reconnects after a server restart
        _interrupt(run.pk)


def runs_close_abandoned() -> int:
    """Close every abandoned run as interrupted; returns how many were closed."""
    now, host = clock.now(), socket.gethostname()[:255]
    closed = 0
    for run in BillingRun.objects.filter(status=RunStatus.RUNNING).exclude(pk__in=_LIVE):
        if _abandoned(run, now, host):
            closed += _interrupt(run.pk)
    return closed


def _abandoned(run: BillingRun, now: datetime, host: str) -> bool:
    if now - (run.heartbeat_at or run.started_at) > STALE_AFTER:
        return True
    if run.host != host or run.pid is None:
        return False  # another machine's run: only its heartbeat tells
    if run.pid == os.getpid():
        return True  # this process, which is not working on it (not in _LIVE)
    return not process_alive(run.pid, started=run.pid_start)


def _interrupt(pk: int) -> int:
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().filter(pk=pk).first()
        if run is None or run.status != RunStatus.RUNNING:
            return 0  # closed meanwhile by someone else, or it finished
        counts = dict.fromkeys(COUNTERS, 0)
        rows = RunItem.objects.filter(run=run).values("outcome").annotate(n=Count("pk"))
        for row in rows.order_by():
            name = {"invoiced": "issued"}.get(row["outcome"], row["outcome"])
            if name in counts:
                counts[name] = row["n"]
        for name, value in counts.items():
            setattr(run, name, value)
        run.due = counts["issued"] + counts["drafted"] + counts["skipped"]
        run.status = RunStatus.INTERRUPTED
        run.save(update_fields=[*COUNTERS, "due", "status"])
    return 1


def process_start(pid: int) -> int | None:
    """When process `pid` started, in clock ticks after boot (Linux), or None: with the pid,
    it names one process, whatever the wall clock does."""
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_alive(pid: int, *, started: int | None) -> bool:
    """Whether process `pid` of this host exists, is not a zombie, and is the one that
    started at `started` (process_start): a later process with the same pid is another
    program. Without /proc, only whether the pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists (another user's)
    fields = _stat(pid)
    if fields is None:
        return True  # no /proc: the pid exists, that is all we know
    if fields[0] in ("Z", "X"):
        return False  # dead, not yet reaped by its parent
    return started is None or len(fields) < 20 or int(fields[19]) == started
