"""Recompute the links of a company's two chains: what `audit verify` does for all of them
and `checkpoint_make` for the links added since the previous checkpoint."""

from __future__ import annotations

from django.db.models import QuerySet

from facturier.billing.models import (
    AuditEvent,
    ChainHead,
    Checkpoint,
    Company,
    Invoice,
    InvoiceStatus,
)
from facturier.billing.services.audit import event_content
from facturier.billing.snapshots import document_content
from facturier.core.hashing import chain_hash

ISSUE_ACTIONS = ("invoice.issued", "credit_note.issued")


def event_problem(event: AuditEvent, previous: str) -> str | None:
    """Why this event is not the sound link after `previous` (None when it is)."""
    if event.previous_hash != previous:
        return "link to previous broken"
    if chain_hash(previous, event_content(event)) != event.hash:
        return "content altered"
    return None


def document_problem(doc: Invoice, previous: str, index: int) -> str | None:
    """Why this document is not the sound `index`-th link after `previous`."""
    if doc.chain_index != index:
        return f"document {index} missing"
    if doc.previous_hash != previous:
        return "link to previous broken"
    if chain_hash(previous, document_content(doc)) != doc.content_hash:
        return "content altered"
    return None


def company_events(company: Company, *, after_pk: int = 0) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(company=company, pk__gt=after_pk).order_by("pk")


def issued_documents(company: Company, *, after_index: int = 0) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(
            company=company, status=InvoiceStatus.ISSUED, chain_index__gt=after_index
        )
        .select_related("corrects", "archive")
        .prefetch_related("lines")
        .order_by("chain_index")
    )


def chain_extends(
    company: Company, checkpoint: Checkpoint | None, *, head: ChainHead, events: int
) -> str | None:
    """Why the chains up to `head` (and `events` events) do not extend `checkpoint` soundly,
    or None. Only the links after the checkpoint are recomputed (all without one)."""
    index, previous = 0, ""
    after_pk, event_previous, count = 0, "", 0
    if checkpoint is not None:
        index, previous = checkpoint.documents, checkpoint.last_document_hash
        if index:
            found = issued_documents(company, after_index=index - 1).values_list(
                "content_hash", flat=True
            )[:1]
            if list(found) != [previous]:
                return f"document {index} is no longer the one the last checkpoint signed"
        count, event_previous = checkpoint.events, checkpoint.last_event_hash
        if count:
            last = company_events(company).filter(hash=event_previous).first()
            if last is None or company_events(company).filter(pk__lte=last.pk).count() != count:
                return f"event {count} is no longer the one the last checkpoint signed"
            after_pk = last.pk
    for doc in issued_documents(company, after_index=index).iterator(chunk_size=500):
        index += 1
        if why := document_problem(doc, previous, index):
            return f"document {doc.number}: {why}"
        previous = doc.content_hash
    if (index, previous) != (head.documents, head.last_document_hash):
        return "the chain head does not match the documents"
    for event in company_events(company, after_pk=after_pk).iterator(chunk_size=2000):
        count += 1
        if why := event_problem(event, event_previous):
            return f"event {event.pk}: {why}"
        event_previous = event.hash
    if (count, event_previous) != (events, head.last_event_hash):
        return "the chain head does not match the events"
    return None
