"""Deliver outbox rows: at least once, with exponential backoff, then `failed`.

A row is leased in a short transaction, then delivered outside any transaction (sending mail
or rendering a PDF never holds a database lock), then its outcome is written with one
`DeliveryAttempt` per recipient tried. A worker that dies mid-delivery leaves the lease to
expire (LEASE): another worker delivers the row then. Every attempt of a message carries the
same Message-ID (`<outbox-<id>@facturier>`), so a receiver can recognise a repeat.

A recipient refused for now (SMTP 4xx) is tried again with the next attempt; one refused for
good (5xx) is not. Recipients that have the message are remembered in the row's payload
(`delivered`), so a retry sends only to the others. A row ends `sent` when every recipient
has the message, `failed` when one was refused for good or the attempts ran out; a failed
row's `next_attempt_at` is the time it failed (the daily digest reads it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import Max

from facturier.billing import clock
from facturier.billing.models import (
    AttemptOutcome,
    Company,
    DeliveryAttempt,
    Invoice,
    OutboxMessage,
    OutboxStatus,
)
from facturier.billing.services.outbox import digest_queue_due, invoice_email_queue
from facturier.mail.compose import compose
from facturier.mail.transport import Outcome, SendError, send

log = logging.getLogger("facturier.worker")

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
# How long a worker may take to deliver a leased row before another worker may try.
LEASE = timedelta(minutes=5)


def _deliver(msg: OutboxMessage) -> list[Outcome] | None:
    if msg.kind == "document.render":
        from facturier.worker.render import document_render

        document_render(msg)
        # The PDF exists: now the document can be emailed (once, whatever the retries).
        invoice = Invoice.objects.select_related("customer", "subscription").get(
            pk=msg.payload["invoice_id"]
        )
        invoice_email_queue(invoice)
        return None
    email = compose(msg)
    if email is None:
        return None  # nobody to tell: nothing to send, the row is done
    done = {a.lower() for a in msg.payload.get("delivered", []) + msg.payload.get("refused", [])}
    return send(email, skip=frozenset(done))


@dataclass
class PassSummary:
    handled: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def outbox_deliver(
    *, batch_size: int = 20, deliver: Callable[[OutboxMessage], Any] = _deliver
) -> int:
    """Deliver the rows due when the pass starts; returns how many were handled (sent,
    retried or failed). Rows queued during the pass (an invoice email after its render)
    wait for the next pass. The pass is logged, failures included."""
    summary = outbox_pass(batch_size=batch_size, deliver=deliver)
    return summary.handled


def outbox_pass(
    *, batch_size: int = 20, deliver: Callable[[OutboxMessage], Any] = _deliver
) -> PassSummary:
    summary = PassSummary()
    # The rows that exist and are due when the pass starts: a pass always ends.
    due_by, last = clock.now(), OutboxMessage.objects.aggregate(m=Max("pk"))["m"] or 0
    while True:
        batch = _lease(batch_size, due_by, last)
        if not batch:
            break
        for msg in batch:
            status = _attempt(msg, deliver)
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


def _lease(size: int, due_by: datetime, last: int) -> list[OutboxMessage]:
    with transaction.atomic():
        qs = OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=due_by, pk__lte=last
        ).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        batch = list(qs[:size])
        OutboxMessage.objects.filter(pk__in=[m.pk for m in batch]).update(
            next_attempt_at=clock.now() + LEASE
        )
    return batch


def _attempt(msg: OutboxMessage, deliver: Callable[[OutboxMessage], Any]) -> str:
    """One try at a leased row; writes its outcome and the delivery log; returns the status."""
    msg.attempts += 1
    final = msg.attempts >= MAX_ATTEMPTS
    attempts: list[tuple[str, str, str, str]] = []  # recipient, field, outcome, error
    try:
        result = deliver(msg)
    except Exception as exc:  # any transport error: retry later, never lose the row
        error = str(exc) if isinstance(exc, SendError) else f"{type(exc).__name__}: {exc}"
        final = final or getattr(exc, "permanent", False) is True
        outcome = AttemptOutcome.FAILED if final else AttemptOutcome.RETRY
        for address, field in getattr(exc, "recipients", []):
            attempts.append((address, field, outcome, error))
        _retry_or_fail(msg, error[:2000], final=final)
    else:
        outcomes: list[Outcome] = list(result or [])
        for o in outcomes:
            if o.delivered:
                attempts.append((o.recipient, o.field, AttemptOutcome.SENT, ""))
            elif o.permanent or final:
                attempts.append((o.recipient, o.field, AttemptOutcome.FAILED, o.error))
            else:
                attempts.append((o.recipient, o.field, AttemptOutcome.RETRY, o.error))
        _remember(msg, "delivered", [o.recipient for o in outcomes if o.delivered])
        _remember(
            msg, "refused", [o.recipient for o in outcomes if not o.delivered and o.permanent]
        )
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
    now = clock.now()
    with transaction.atomic():
        msg.save(
            update_fields=[
                "attempts", "last_error", "status", "next_attempt_at", "sent_at", "payload",
            ]
        )  # fmt: skip
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                message=msg, invoice_id=msg.invoice_id, recipient=recipient[:254], field=field,
                outcome=outcome, error=error[:2000], attempted_at=now,
            )
            for recipient, field, outcome, error in attempts
        )  # fmt: skip
    return msg.status


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
