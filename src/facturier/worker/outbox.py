"""Deliver outbox rows: at least once, with exponential backoff, then `failed`.

A row is leased in a short transaction, then delivered outside any transaction (sending mail
or rendering a PDF never holds a database lock), then its outcome is written with one
`DeliveryAttempt` per recipient tried. A worker that dies mid-delivery leaves the lease to
expire (LEASE): another worker delivers the row then. The lease's expiry time is also its
token: each attempt starts by renewing the lease only if the row still carries this worker's
token, so a slow worker whose lease expired never delivers a row another worker took. Every
attempt of a message carries the same Message-ID (`<outbox-<id>@facturier>`), so a receiver
can recognise a repeat.

Each attempt is recorded BEFORE the message is handed to the server: the row's attempt count
and one `started` DeliveryAttempt per recipient are committed first, then the message is
sent, then (before the SMTP connection is even closed) each `started` row gets its outcome.
A worker killed in between leaves `started` rows: "attempt started, outcome unknown". The
log never shows fewer attempts than were made; a repeat after such a crash is the one
duplicate at-least-once delivery allows (docs/mail.md).

A recipient refused for now (SMTP 4xx) is tried again with the next attempt; one refused for
good (5xx) is not. Recipients that have the message are remembered in the row's payload
(`delivered`), so a retry sends only to the others. A row ends `sent` when every recipient
has the message, `failed` when one was refused for good or the attempts ran out; a failed
row's `next_attempt_at` is the time it failed (the daily digest reads it).

A pass checks `should_stop` before each row: a stop request (SIGTERM) waits for one message
at most, and the rows leased but not tried are handed back at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import Max

from facturier.billing import clock, extensions
from facturier.billing.models import (
    AttemptOutcome,
    Company,
    DeliveryAttempt,
    Invoice,
    OutboxMessage,
    OutboxStatus,
)
from facturier.billing.services.outbox import (
    INVOICE_EMAIL,
    digest_queue_due,
    invoice_email_queue,
)
from facturier.mail.compose import compose
from facturier.mail.transport import Outcome, SendError, envelope, send

log = logging.getLogger("facturier.worker")

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
# How long a worker may take to deliver a row once its attempt started, before another worker
# may try (a repeat then is the one at-least-once allows).
LEASE = timedelta(minutes=5)
# How long the rows of a leased batch wait for their turn: a worker killed mid-batch holds
# them this long. A row whose turn comes later is taken by another worker, never delivered
# twice (the lease is a token, checked when each attempt starts).
BATCH_LEASE = timedelta(minutes=1)

# Called with the recipients about to be tried, right before the message leaves (None for a
# render: nothing leaves).
BeforeSend = Callable[[list[tuple[str, str]] | None], None]
# Called with what the server answered, before the connection is closed.
OnSent = Callable[[list[Outcome]], None]


def _nothing(*args: Any) -> None:
    return None


def _deliver(
    msg: OutboxMessage, *, before_send: BeforeSend = _nothing, on_sent: OnSent = _nothing
) -> list[Outcome] | None:
    if msg.kind == "document.render":
        from facturier.worker.render import document_render

        before_send(None)  # nothing leaves: the lease is checked, no attempt is recorded first
        document_render(msg)
        # The PDF exists: now the document can be emailed (once, whatever the retries).
        invoice = Invoice.objects.select_related("customer", "subscription").get(
            pk=msg.payload["invoice_id"]
        )
        invoice_email_queue(invoice)
        return None
    handler = extensions.outbox_handler_for(msg.kind)
    if handler is not None:  # a kind of a package built on billing (webhooks, platform…)
        before_send(None)  # the lease is checked; the handler raises to be retried
        handler(msg)
        return None
    email = compose(msg)
    if email is None:
        return None  # nobody to tell: nothing to send, the row is done
    done = {a.lower() for a in msg.payload.get("delivered", []) + msg.payload.get("refused", [])}
    before_send([(a, f) for a, f in envelope(email) if a.lower() not in done])
    return send(email, skip=frozenset(done), on_sent=on_sent)


@dataclass
class PassSummary:
    handled: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    stopped: bool = False


def _never() -> bool:
    return False


def outbox_deliver(*, batch_size: int = 20, should_stop: Callable[[], bool] = _never) -> int:
    """Deliver the rows due when the pass starts; returns how many were handled (sent,
    retried or failed). Rows queued during the pass (an invoice email after its render)
    wait for the next pass. The pass is logged, failures included."""
    summary = outbox_pass(batch_size=batch_size, should_stop=should_stop)
    return summary.handled


def outbox_pass(*, batch_size: int = 20, should_stop: Callable[[], bool] = _never) -> PassSummary:
    summary = PassSummary()
    # The rows that exist and are due when the pass starts: a pass always ends.
    due_by, last = clock.now(), OutboxMessage.objects.aggregate(m=Max("pk"))["m"] or 0
    while not summary.stopped:
        batch, until = _lease(batch_size, due_by, last)
        if not batch:
            break
        for k, msg in enumerate(batch):
            if should_stop():
                _release(batch[k:], until)
                summary.stopped = True
                break
            status = _attempt(msg, lease=until)
            if status is None:
                continue  # our lease had expired and another worker took the row
            summary.handled += 1
            if status == OutboxStatus.SENT:
                summary.sent += 1
            elif status == OutboxStatus.FAILED:
                summary.failed += 1
            else:
                summary.retrying += 1
    if summary.handled:
        level = logging.WARNING if summary.failed else logging.INFO
        log.log(
            level,
            "outbox: %d handled, %d done, %d to retry, %d failed (facturier mail list --failed)",
            summary.handled, summary.sent, summary.retrying, summary.failed,
        )  # fmt: skip
    return summary


def _lease(size: int, due_by: datetime, last: int) -> tuple[list[OutboxMessage], datetime]:
    """Lease due rows until a time that is also the lease's token: a row is ours while its
    `next_attempt_at` is still that time (another worker's lease writes another one)."""
    until = clock.now() + BATCH_LEASE
    with transaction.atomic():
        qs = OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=due_by, pk__lte=last
        ).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        batch = list(qs[:size])
        OutboxMessage.objects.filter(pk__in=[m.pk for m in batch]).update(next_attempt_at=until)
    return batch, until


def _release(rows: list[OutboxMessage], until: datetime) -> None:
    """Hand back leased rows that were not tried (the worker is stopping): the next worker
    takes them at once instead of after the lease."""
    for msg in rows:
        OutboxMessage.objects.filter(
            pk=msg.pk, status=OutboxStatus.PENDING, next_attempt_at=until
        ).update(next_attempt_at=msg.next_attempt_at)


class LeaseLost(Exception):
    """The row's lease expired and another worker leased it: this one must not deliver it."""


@dataclass
class _Try:
    """One attempt at one row: the `started` log rows, then what became of each recipient."""

    msg: OutboxMessage
    lease: datetime | None = None
    started: dict[str, DeliveryAttempt] = field(default_factory=dict)
    recorded: bool = False

    def start(self, todo: list[tuple[str, str]] | None) -> None:
        """Commit the attempt (count and `started` rows) before anything leaves, if the row
        is still ours (its lease renewed from now); LeaseLost if not. A render (`todo` is
        None) sends nothing: the lease is only checked, and the attempt recorded after."""
        now = clock.now()
        if todo is None:
            mine = OutboxMessage.objects.filter(pk=self.msg.pk, status=OutboxStatus.PENDING)
            if self.lease is not None and not mine.filter(next_attempt_at=self.lease).exists():
                raise LeaseLost
            return
        with transaction.atomic():
            row = OutboxMessage.objects.filter(pk=self.msg.pk, status=OutboxStatus.PENDING)
            if self.lease is not None:
                row = row.filter(next_attempt_at=self.lease)
            if not row.update(attempts=self.msg.attempts, next_attempt_at=now + LEASE):
                raise LeaseLost
            rows = DeliveryAttempt.objects.bulk_create(
                DeliveryAttempt(
                    message=self.msg, invoice_id=self.msg.invoice_id, recipient=a[:254],
                    field=f, outcome=AttemptOutcome.STARTED, attempted_at=now,
                )
                for a, f in todo
            )  # fmt: skip
        self.started = {row.recipient.lower(): row for row in rows}

    def sent(self, outcomes: list[Outcome]) -> None:
        """The server answered: record it at once (the connection is still open)."""
        self.finish(_outcomes(self.msg, outcomes))

    def failed(self, exc: Exception) -> None:
        error = str(exc) if isinstance(exc, SendError) else f"{type(exc).__name__}: {exc}"
        final = self.msg.attempts >= MAX_ATTEMPTS or getattr(exc, "permanent", False) is True
        outcome = AttemptOutcome.FAILED if final else AttemptOutcome.RETRY
        logged = [(a, f, str(outcome), error) for a, f in getattr(exc, "recipients", [])]
        _retry_or_fail(self.msg, error[:2000], final=final)
        self.finish(logged)

    def finish(self, logged: list[tuple[str, str, str, str]]) -> None:
        """Write the row's new state and each recipient's outcome, in one transaction."""
        if self.recorded:
            return
        now = clock.now()
        updated, created = [], []
        for recipient, fld, outcome, error in logged:
            row = self.started.pop(recipient[:254].lower(), None)
            if row is None:
                row = DeliveryAttempt(
                    message=self.msg, invoice_id=self.msg.invoice_id, recipient=recipient[:254],
                    field=fld, attempted_at=now,
                )  # fmt: skip
                created.append(row)
            else:
                updated.append(row)
            row.outcome, row.error = outcome, error[:2000]
        with transaction.atomic():
            self.msg.save(
                update_fields=[
                    "attempts", "last_error", "status", "next_attempt_at", "sent_at", "payload",
                ]
            )  # fmt: skip
            DeliveryAttempt.objects.bulk_update(updated, ["outcome", "error"])
            DeliveryAttempt.objects.bulk_create(created)
            if (
                self.msg.status == OutboxStatus.SENT
                and self.msg.kind == INVOICE_EMAIL
                and self.msg.invoice_id is not None
            ):
                extensions.invoice_sent.send(None, invoice=self.msg.invoice, message=self.msg)
        self.recorded = True


def _attempt(
    msg: OutboxMessage, deliver: Callable[..., Any] = _deliver, *, lease: datetime | None = None
) -> str | None:
    """One try at a leased row; writes its outcome and the delivery log; returns the status
    (None when the lease was lost: nothing was sent or written)."""
    msg.attempts += 1
    attempt = _Try(msg, lease)
    try:
        result = deliver(msg, before_send=attempt.start, on_sent=attempt.sent)
    except LeaseLost:
        return None
    except Exception as exc:  # any transport error: retry later, never lose the row
        if not attempt.recorded:  # (an error after the outcome was written changes nothing)
            attempt.failed(exc)
    else:
        if not attempt.recorded:  # nothing was sent (a render, nobody to tell)
            attempt.finish(_outcomes(msg, list(result or [])))
    return msg.status


def _outcomes(msg: OutboxMessage, outcomes: list[Outcome]) -> list[tuple[str, str, str, str]]:
    """Apply what the server said to the row; returns the log lines (recipient, field,
    outcome, error)."""
    final = msg.attempts >= MAX_ATTEMPTS
    logged: list[tuple[str, str, str, str]] = []
    for o in outcomes:
        if o.delivered:
            logged.append((o.recipient, o.field, AttemptOutcome.SENT, ""))
        elif o.permanent or final:
            logged.append((o.recipient, o.field, AttemptOutcome.FAILED, o.error))
        else:
            logged.append((o.recipient, o.field, AttemptOutcome.RETRY, o.error))
    _remember(msg, "delivered", [o.recipient for o in outcomes if o.delivered])
    _remember(msg, "refused", [o.recipient for o in outcomes if not o.delivered and o.permanent])
    later = [o for o in outcomes if not o.delivered and not o.permanent]
    refused = msg.payload.get("refused", [])
    if later:
        shown = "; ".join(f"{o.recipient}: {o.error}" for o in later)
        _retry_or_fail(msg, f"refused for now: {shown}"[:2000], final=final)
    elif refused:
        errors = {o.recipient: o.error for o in outcomes}
        shown = "; ".join(f"{a}: {errors.get(a, 'refused earlier')}" for a in refused)
        _retry_or_fail(msg, f"refused: {shown}"[:2000], final=True)
    else:
        msg.status = OutboxStatus.SENT
        msg.sent_at = clock.now()
    return logged


def _remember(msg: OutboxMessage, key: str, addresses: list[str]) -> None:
    if addresses:
        msg.payload = {**msg.payload, key: [*msg.payload.get(key, []), *addresses]}


def _retry_or_fail(msg: OutboxMessage, error: str, *, final: bool) -> None:
    msg.last_error = error
    if final:
        msg.status = OutboxStatus.FAILED
        msg.next_attempt_at = clock.now()  # when it failed
    else:
        msg.next_attempt_at = clock.now() + BASE_DELAY * 2 ** (msg.attempts - 1)


# --- the daily digest (a worker job) -------------------------------------------------------


class Stoppable(Protocol):
    stop: threading.Event


def queue_digests(worker: Stoppable) -> int:
    """Queue each company's daily digest once its billing run is done (once a day)."""
    queued = 0
    for company in Company.objects.order_by("pk"):
        if worker.stop.is_set():
            break
        if digest_queue_due(company) is not None:
            queued += 1
    return queued
