"""`facturier worker`: run due work on a tick, several workers at once, SIGTERM-safe.

Every periodic job is listed in JOBS. A job returns how much it did; `--until-idle` stops
once a whole tick did nothing. A stop request (SIGTERM, SIGINT) is honoured between units,
so the current transaction always finishes and a stop takes one unit's time at most (well
under systemd's 90 s): the billing run checks it between batches, the outbox between
messages, the dunning pass between invoices, the loop between jobs.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import OperationalError, close_old_connections

from facturier.billing import clock
from facturier.billing.models import Company
from facturier.billing.services.billing_run import billing_run, subscriptions_due
from facturier.billing.services.dunning import reminders_run
from facturier.billing.services.errors import NotAllowed
from facturier.billing.services.run_ledger import runs_close_abandoned
from facturier.worker.outbox import outbox_deliver, queue_digests

log = logging.getLogger("facturier.worker")


# A company whose run only failed (e.g. a customer missing its SIREN) is retried this much
# later, not on every tick: the failures are in the run ledger for a person to fix.
RETRY_FAILED_AFTER = timedelta(hours=1)
# A run refused as a whole (this machine's clock is behind the last issued document: the
# owners were alerted) is tried again this much later.
RETRY_REFUSED_AFTER = timedelta(minutes=5)


@dataclass
class Worker:
    name: str
    stop: threading.Event
    retry_at: dict[int, datetime] = field(default_factory=dict)
    # The local day of each company's last dunning pass by this worker (once a day).
    dunned_on: dict[int, date] = field(default_factory=dict)

    def bill_due_companies(self) -> int:
        """Bill each company whose local billing hour has come and that has due work;
        returns the periods handled (failures are not progress). Runs whose process died
        are closed first (as interrupted, with what they committed)."""
        if runs_close_abandoned():
            log.warning("worker %s: closed billing runs whose process died", self.name)
        done = 0
        for company in Company.objects.order_by("pk"):
            now = clock.now()
            local = now.astimezone(_zone(company.timezone))
            if local.hour < company.billing_hour or self.stop.is_set():
                continue
            if now < self.retry_at.get(company.pk, now) or not subscriptions_due(
                company, local.date()
            ):
                continue
            try:
                summary = billing_run(
                    company=company,
                    worker=self.name,
                    should_stop=self.stop.is_set,
                    keep_outcomes=False,
                )
            except NotAllowed as exc:
                log.error("billing %s refused: %s", company, exc)
                self.retry_at[company.pk] = now + RETRY_REFUSED_AFTER
                continue
            log.warning(
                "billing %s: issued %d, drafted %d, skipped %d, failed %d",
                company, summary.issued, summary.drafted, summary.skipped, summary.failed,
            )  # fmt: skip
            progress = summary.issued + summary.drafted + summary.skipped
            if summary.failed and not progress:
                self.retry_at[company.pk] = now + RETRY_FAILED_AFTER
            done += progress
        return done

    def remind_due_companies(self) -> int:
        """The dunning pass of each company, once per local day from its billing hour (after
        its billing run); returns the reminders sent. A pass is idempotent: a level is never
        sent twice, whichever worker runs it and however often."""
        sent = 0
        for company in Company.objects.order_by("pk"):
            local = clock.now().astimezone(_zone(company.timezone))
            today = local.date()
            if local.hour < company.billing_hour or self.dunned_on.get(company.pk) == today:
                continue
            if self.stop.is_set():
                break
            summary = reminders_run(company=company, as_of=today, should_stop=self.stop.is_set)
            if self.stop.is_set():
                break  # cut short: the next worker finishes today's pass
            self.dunned_on[company.pk] = today
            log.warning("dunning %s: sent %d reminders", company, summary.total_sent)
            sent += summary.total_sent
        return sent

    def deliver_outbox(self) -> int:
        return outbox_deliver(should_stop=self.stop.is_set)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


# Tamper evidence (docs/invoicing.md, "Audit"): once a day per company whose chains moved,
# a signed checkpoint of its chain heads.
def sign_checkpoints(worker: Worker) -> int:
    from facturier.billing.services.checkpoints import checkpoints_make_due

    return 0 if worker.stop.is_set() else checkpoints_make_due()


# The periodic jobs of the packages built on billing (direct-debit batches, platform
# statuses…), registered in billing/extensions.py.
def run_extension_jobs(worker: Worker) -> int:
    from facturier.billing import extensions

    done = 0
    for _name, job in extensions.periodic_jobs():
        if worker.stop.is_set():
            break
        done += job(worker.stop.is_set)
    return done


JOBS: list[Callable[[Worker], int]] = [
    Worker.bill_due_companies,
    Worker.deliver_outbox,
    Worker.remind_due_companies,
    queue_digests,  # after the billing run: the owners' daily digest
    sign_checkpoints,
    run_extension_jobs,
]

# After a database error (SQLite busy beyond its timeout, a PostgreSQL failover…) the job is
# retried after this pause; its transaction rolled back, so nothing is half done.
RETRY_PAUSE_S = 1.0


def _attempt(job: Callable[[Worker], int], worker: Worker) -> int:
    try:
        return job(worker)
    except OperationalError as exc:
        log.warning("worker %s: %s failed (%s); retrying", worker.name, job.__name__, exc)
        close_old_connections()
        worker.stop.wait(RETRY_PAUSE_S)
        return 1  # not idle: the work is still there


def run_worker(*, until_idle: bool = False, tick: float = 30.0) -> int:
    """Loop until stopped (or idle with `until_idle`); returns the units of work done."""
    stop = threading.Event()
    worker = Worker(name=f"{socket.gethostname()}:{os.getpid()}", stop=stop)

    def request_stop(signum: int, frame: Any) -> None:
        log.warning("worker %s: stop requested, finishing the current unit", worker.name)
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    total = 0
    try:
        while not stop.is_set():
            done = 0
            for job in JOBS:
                if stop.is_set():
                    break
                done += _attempt(job, worker)
            total += done
            if until_idle and done == 0:
                break
            if done == 0:
                stop.wait(tick)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return total
