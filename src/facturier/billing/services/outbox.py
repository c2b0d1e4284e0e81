"""Queue messages in the outbox, in the caller's transaction (DOMAIN invariant 7).

The worker composes and delivers them later (`facturier.mail`); a row's unique key makes a
retried change queue its message once. Kinds written here:

- `email.invoice`: an issued document to the customer, once its PDF is archived
  (key `invoice-email:<id>`; a resend by hand gets a new key, so a new message);
- `email.reminder`: a payment reminder (key `reminder:<id>`, written by services/dunning.py);
- `notify.payment_received`: to the customer's sales rep (key `payment-received:<id>`);
- `notify.payment_reversed`: to the customer's sales rep (key `payment-reversed:<id>`);
- `notify.digest`: the owners' daily digest of the billing run (key `digest:<company>:<date>`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from facturier.billing import clock
from facturier.billing.aggregates import exact_sum
from facturier.billing.models import (
    ArchivedDocument,
    BillingRun,
    Company,
    DocType,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    OutboxStatus,
    Payment,
    PaymentReversal,
    RunItem,
)
from facturier.billing.services.actors import Actor, actor_require
from facturier.billing.services.audit import audit_record
from facturier.billing.services.errors import NotAllowed
from facturier.core.roles import Can

INVOICE_EMAIL = "email.invoice"
REMINDER_EMAIL = "email.reminder"
PAYMENT_RECEIVED = "notify.payment_received"
PAYMENT_REVERSED = "notify.payment_reversed"
DIGEST = "notify.digest"


def invoice_email_hold(invoice: Invoice) -> str | None:
    """Why an issued document is not emailed automatically, or None when it is."""
    sub = invoice.subscription
    if sub is not None and not sub.send_invoices:
        return _("its subscription issues invoices without sending them")
    if not invoice.customer.billing_emails:
        return _("the customer has no billing email")
    return None


def invoice_email_queue(invoice: Invoice) -> OutboxMessage | None:
    """Queue the automatic email of an issued, archived document, once whatever the retries
    (called by the worker after rendering); None when the document waits to be sent by hand."""
    if not invoice.is_issued or invoice_email_hold(invoice) is not None:
        return None
    key = f"invoice-email:{invoice.pk}"
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                company_id=invoice.company_id, kind=INVOICE_EMAIL, key=key, invoice=invoice,
                payload={"invoice_id": invoice.pk}, next_attempt_at=clock.now(),
            )
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    return OutboxMessage.objects.get(key=key)


@transaction.atomic
def invoice_email_send(invoice: Invoice, *, actor: Actor) -> OutboxMessage:
    """Send an issued document by hand (first time or again): a new message each time."""
    actor_require(actor, Can.ISSUE_INVOICES, company=invoice.company)
    if not invoice.is_issued:
        raise NotAllowed(_("Only an issued document can be sent."))
    if not invoice.customer.billing_emails:
        raise NotAllowed(
            _("%(c)s has no billing email: add one to the customer first.")
            % {"c": invoice.customer.legal_name}
        )
    if not ArchivedDocument.objects.filter(invoice=invoice).exists():
        raise NotAllowed(
            _("%(n)s is not archived yet: the worker renders it, then sends it.")
            % {"n": invoice.number}
        )
    msg = OutboxMessage.objects.create(
        company_id=invoice.company_id,
        kind=INVOICE_EMAIL,
        key=f"invoice-email:{invoice.pk}:{uuid.uuid4().hex}",
        invoice=invoice,
        payload={"invoice_id": invoice.pk, "by_hand": True},
        next_attempt_at=clock.now(),
    )
    audit_record(
        company=invoice.company,
        actor=actor,
        action=f"{invoice.doc_type}.sent_by_hand",
        object_type="invoice",
        object_id=invoice.pk,
        data={"number": invoice.number, "message": msg.pk},
    )
    return msg


def payment_received_queue(payment: Payment) -> OutboxMessage | None:
    """Tell the customer's sales rep that a payment was recorded (none without a rep)."""
    rep = payment.customer.sales_rep
    if rep is None or not rep.email:
        return None
    return OutboxMessage.objects.create(
        company_id=payment.company_id,
        kind=PAYMENT_RECEIVED,
        key=f"payment-received:{payment.pk}",
        payload={"payment_id": payment.pk, "to": [rep.email]},
        next_attempt_at=clock.now(),
    )


def payment_reversed_queue(reversal: PaymentReversal) -> OutboxMessage | None:
    """Tell the customer's sales rep that a payment was reversed (none without a rep)."""
    rep = reversal.payment.customer.sales_rep
    if rep is None or not rep.email:
        return None
    return OutboxMessage.objects.create(
        company_id=reversal.payment.company_id,
        kind=PAYMENT_REVERSED,
        key=f"payment-reversed:{reversal.pk}",
        payload={"reversal_id": reversal.pk, "to": [rep.email]},
        next_attempt_at=clock.now(),
    )


# --- the daily digest ----------------------------------------------------------------------

# What the digest lists by name at most (the counts are always complete).
DIGEST_LIST = 20


def digest_queue_due(company: Company, *, now: datetime | None = None) -> OutboxMessage | None:
    """Queue the company's digest of today once its billing run is done: from its billing
    hour on, once nothing is left due or a run has finished today. Once per local day."""
    from facturier.billing.services.billing_run import subscriptions_due

    now = now or clock.now()
    today = clock.company_today(company, at=now)
    local = now.astimezone(_zone(company.timezone))
    key = f"digest:{company.pk}:{today.isoformat()}"
    if local.hour < company.billing_hour or OutboxMessage.objects.filter(key=key).exists():
        return None
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    runs = BillingRun.objects.filter(
        Q(company=company) | Q(company__isnull=True),
        started_at__gte=day_start,
        dry_run=False,
        finished_at__isnull=False,
    )
    if subscriptions_due(company, today) and not runs.exists():
        return None  # the run has not happened yet
    payload = _digest_payload(company, today.isoformat(), day_start, now)
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                company=company, kind=DIGEST, key=key, payload=payload, next_attempt_at=now
            )
        ],
        ignore_conflicts=True,
    )
    return OutboxMessage.objects.get(key=key)


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _digest_payload(
    company: Company, day: str, day_start: datetime, now: datetime
) -> dict[str, Any]:
    issued = Invoice.objects.filter(
        company=company,
        status=InvoiceStatus.ISSUED,
        doc_type=DocType.INVOICE,
        subscription__isnull=False,
        issued_at__gte=day_start,
    )
    total = issued.aggregate(s=exact_sum("total_gross"))["s"] or Decimal(0)
    drafts = Invoice.objects.filter(
        company=company, status=InvoiceStatus.DRAFT, subscription__isnull=False
    ).select_related("customer", "subscription")
    failures = RunItem.objects.filter(
        run__started_at__gte=day_start, outcome="failed", subscription__company=company
    ).select_related("subscription")
    # A failed row's next_attempt_at is when it failed (see worker.outbox).
    undelivered = OutboxMessage.objects.filter(
        company=company,
        status=OutboxStatus.FAILED,
        next_attempt_at__gt=now - timedelta(days=1),
    ).select_related("invoice")
    return {
        "date": day,
        "currency": company.currency,
        "issued": issued.count(),
        "issued_amount": str(total),
        "drafts": drafts.count(),
        "draft_list": [
            {
                "id": d.pk,
                "customer": d.customer.legal_name,
                "subscription": d.subscription.name if d.subscription else "",
                "total": str(d.total_gross),
            }
            for d in drafts.order_by("pk")[:DIGEST_LIST]
        ],
        "failures": failures.count(),
        "failure_list": [
            {"subscription": f.subscription.name, "reason": f.reason}
            for f in failures.order_by("pk")[:DIGEST_LIST]
        ],
        "undelivered": undelivered.count(),
        "undelivered_list": [
            {
                "id": m.pk,
                "kind": m.kind,
                "invoice": m.invoice.number if m.invoice else None,
                "error": m.last_error[:200],
            }
            for m in undelivered.order_by("pk")[:DIGEST_LIST]
        ],
    }
