"""Deliver outbox rows: at least once, with exponential backoff, then `failed`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction

from facturier.billing import clock
from facturier.billing.models import OutboxMessage, OutboxStatus

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
# How long a worker may take to deliver a leased row before another worker may try.
LEASE = timedelta(minutes=5)


def _render_draft_waiting(msg: OutboxMessage) -> EmailMessage:
    p = msg.payload
    subject = f"Facture à confirmer : {p['subscription']} ({p['customer']})"
    body = (
        f"Une facture récurrente attend votre confirmation avant d'être émise.\n\n"
        f"Abonnement : {p['subscription']}\nClient : {p['customer']}\n"
        f"Période : {p['period_start']} → {p['period_end']}\nMontant TTC : {p['total']}\n\n"
        f"Confirmez-la avec : facturier invoices confirm {p['invoice_id']}\n"
    )
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, p["to"])


RENDERERS: dict[str, Callable[[OutboxMessage], EmailMessage]] = {
    "notify.draft_waiting": _render_draft_waiting,
}


def _deliver(msg: OutboxMessage) -> None:
    if msg.kind == "document.render":
        from facturier.worker.render import document_render

        document_render(msg)
        return
    render = RENDERERS.get(msg.kind)
    if render is None:
        raise ValueError(f"no handler for outbox kind {msg.kind!r}")
    email = render(msg)
    if not email.to:
        return  # nobody to tell: nothing to send, the row is done
    email.extra_headers["Message-ID"] = f"<outbox-{msg.pk}@facturier>"
    email.send()


def outbox_deliver(
    *, batch_size: int = 20, deliver: Callable[[OutboxMessage], Any] = _deliver
) -> int:
    """Deliver due pending rows; returns how many rows were handled (sent or retried).

    Rows are leased in a short transaction, then delivered outside any transaction (sending
    mail or rendering a PDF never holds a database lock), then their outcome is written. A
    worker that dies mid-delivery leaves the lease to expire: another worker delivers the
    row then (at least once)."""
    handled = 0
    while True:
        batch = _lease(batch_size)
        if not batch:
            return handled
        for msg in batch:
            _attempt(msg, deliver)
            handled += 1


def _lease(size: int) -> list[OutboxMessage]:
    with transaction.atomic():
        now = clock.now()
        qs = OutboxMessage.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        batch = list(qs[:size])
        OutboxMessage.objects.filter(pk__in=[m.pk for m in batch]).update(
            next_attempt_at=now + LEASE
        )
    return batch


def _attempt(msg: OutboxMessage, deliver: Callable[[OutboxMessage], Any]) -> None:
    msg.attempts += 1
    try:
        deliver(msg)
    except Exception as exc:  # any transport error: retry later, never lose the row
        msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if msg.attempts >= MAX_ATTEMPTS:
            msg.status = OutboxStatus.FAILED
        else:
            msg.next_attempt_at = clock.now() + BASE_DELAY * 2 ** (msg.attempts - 1)
    else:
        msg.status = OutboxStatus.SENT
        msg.sent_at = clock.now()
    msg.save(update_fields=["attempts", "last_error", "status", "next_attempt_at", "sent_at"])
