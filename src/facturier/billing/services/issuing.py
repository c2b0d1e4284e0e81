"""Issue drafts: validate the mandatory mentions, then number, date, freeze and chain them.

The number comes from the series counter locked (SELECT … FOR UPDATE) inside the issuing
transaction: numbers are consecutive, and a rollback returns them all, so no gap appears
(invariant 1). The issue date and time are read after the locks are held (the series, then
the company's chain head), and never before the company's last issued document (any series,
any year: chronology.py), so a higher number never has an earlier date (invariant 2), even
on a machine whose clock is behind. Several drafts can be issued under one lock: the billing run
numbers a block of invoices per transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from facturier.billing import clock, extensions
from facturier.billing.aggregates import exact_sum
from facturier.billing.bulk import rows_update
from facturier.billing.models import (
    AuditEvent,
    BilledPeriod,
    ChainHead,
    DocType,
    Invoice,
    InvoiceStatus,
    NumberingSeries,
    OutboxMessage,
    PeriodOutcome,
    SeriesCounter,
)
from facturier.billing.services.actors import Actor, actor_require
from facturier.billing.services.audit import audit_event_build, audit_record, chain_head_lock
from facturier.billing.services.chronology import ClockBehind, chronology_check
from facturier.billing.services.errors import MissingMentions, NotAllowed
from facturier.billing.services.settlement import settlement_refresh
from facturier.billing.snapshots import buyer_snapshot, document_content, seller_snapshot
from facturier.core import numbering
from facturier.core.hashing import chain_hash
from facturier.core.mentions import missing_mentions
from facturier.core.money import format_amount
from facturier.core.roles import Can


def _lang() -> str:
    return get_language() or "fr"


def mention_label(code: str) -> str:
    """A user-facing name for a missing-mention code."""
    labels = {
        "seller.legal_name": _("the company's legal name"),
        "seller.address_line1": _("the company's address"),
        "seller.postcode": _("the company's postcode"),
        "seller.city": _("the company's city"),
        "seller.country": _("the company's country"),
        "seller.siren": _("the company's SIREN"),
        "seller.share_capital": _("the company's share capital"),
        "seller.rcs_city": _("the company's RCS registry city"),
        "seller.vat_number": _("the company's VAT number"),
        "buyer.legal_name": _("the customer's name"),
        "buyer.address_line1": _("the customer's address"),
        "buyer.postcode": _("the customer's postcode"),
        "buyer.city": _("the customer's city"),
        "buyer.country": _("the customer's country"),
        "buyer.siren": _("the customer's SIREN (business customer)"),
        "buyer.vat_number": _("the customer's VAT number (EU business customer)"),
        "lines": _("at least one line"),
        "due_date": _("payment terms"),
        "corrects": _("the invoice this credit note corrects"),
    }
    return str(labels.get(code, code))


@dataclass
class IssueResult:
    issued: list[Invoice] = field(default_factory=list)
    refused: dict[int, MissingMentions | NotAllowed] = field(default_factory=dict)


def invoice_issue(invoice: Invoice, *, actor: Actor, as_is: bool = False) -> Invoice:
    """Issue one draft, or raise MissingMentions / NotAllowed with nothing changed (also
    PermissionRefused when the actor may not issue it, ClockBehind as `invoices_issue`).

    A recurring draft whose line "to confirm" still has its placeholder quantity is refused
    (the field names the line) unless `as_is`: the person confirms the quantities as they are.
    Issuing an already issued document returns it unchanged (a retry is harmless).
    """
    try:
        with transaction.atomic():
            return _issue_one(invoice, actor=actor, as_is=as_is)
    except ClockBehind as exc:
        exc.alert()  # after the rollback, so that it stays
        raise


def _issue_one(invoice: Invoice, *, actor: Actor, as_is: bool) -> Invoice:
    pending = []
    if as_is and invoice.status == InvoiceStatus.DRAFT:
        pending = list(
            invoice.lines.filter(placeholder_quantity=True).values_list("position", flat=True)
        )
    result = _issue_all([invoice.pk], actor=actor, as_is=as_is)
    if invoice.pk in result.refused:
        raise result.refused[invoice.pk]
    invoice.refresh_from_db()
    if pending and result.issued:
        # Who confirmed which placeholder quantities as they were (the lines keep the flag).
        audit_record(
            company=invoice.company, actor=actor, action="invoice.quantities_confirmed",
            object_type="invoice", object_id=invoice.pk,
            data={"number": invoice.number, "lines": pending},
        )  # fmt: skip
    return invoice


def invoices_issue(invoice_ids: Sequence[int], *, actor: Actor, as_is: bool = False) -> IssueResult:
    """Issue many drafts in one transaction; drafts that cannot be issued are reported in
    `refused` and left as they were, without consuming a number (`as_is`: see
    `invoice_issue`).

    The actor must be allowed to issue every one of them (invoices, credit notes): if not,
    PermissionRefused is raised before anything is written. When this machine's clock is
    behind the company's last issued document, ClockBehind is raised, nothing is issued,
    and the owners' alert is queued (it stays unless a caller's own transaction rolls back;
    the billing run queues it again after its batch)."""
    try:
        with transaction.atomic():
            return _issue_all(invoice_ids, actor=actor, as_is=as_is)
    except ClockBehind as exc:
        exc.alert()
        raise


def _issue_all(invoice_ids: Sequence[int], *, actor: Actor, as_is: bool) -> IssueResult:
    result = IssueResult()
    drafts = list(
        Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=invoice_ids, status=InvoiceStatus.DRAFT)
        .select_related("company", "customer", "corrects")
        .prefetch_related("lines")
        .order_by("pk")
    )
    for draft in drafts:
        actor_require(actor, _ISSUE_CAPABILITY[draft.doc_type], company=draft.company)
    ready: dict[tuple[int, str], list[Invoice]] = {}
    for draft in drafts:
        try:
            if not as_is:
                _refuse_placeholders(draft)
            _prepare(draft)
        except (MissingMentions, NotAllowed) as exc:
            result.refused[draft.pk] = exc
            continue
        ready.setdefault((draft.company_id, draft.doc_type), []).append(draft)
    for (_company_id, doc_type), group in sorted(ready.items()):
        result.issued += _number_group(group, doc_type=doc_type, actor=actor)
    _periods_invoiced(result.issued)
    if result.issued:
        extensions.documents_issued.send(None, invoices=list(result.issued), actor=actor)
    return result


_ISSUE_CAPABILITY: dict[str, Can] = {
    DocType.INVOICE: Can.ISSUE_INVOICES,
    DocType.CREDIT_NOTE: Can.ISSUE_CREDIT_NOTES,
}


def _periods_invoiced(issued: Sequence[Invoice]) -> None:
    """A recurring draft that waited (lines to confirm, review) is now issued, whichever path
    issued it: its billing period becomes "invoiced" in the ledger."""
    recurring = [inv.pk for inv in issued if inv.subscription_id is not None]
    if recurring:
        BilledPeriod.objects.filter(invoice_id__in=recurring, outcome=PeriodOutcome.DRAFTED).update(
            outcome=PeriodOutcome.INVOICED
        )


def _refuse_placeholders(draft: Invoice) -> None:
    """A line to confirm still holding the subscription's placeholder quantity is not issued
    by mistake: the person gives the quantity, or confirms the quantities as they are."""
    pending = [line for line in draft.lines.all() if line.placeholder_quantity]
    if pending:
        line = min(pending, key=lambda x: x.position)
        raise NotAllowed(
            _(
                "Line %(n)s (“%(d)s”) still has the quantity to confirm (%(q)s): give the "
                "quantity of the period, or confirm the quantities as they are."
            )
            % {"n": line.position, "d": line.description, "q": line.quantity.normalize()},
            field=f"lines[{line.position}].quantity",
        )


def _prepare(draft: Invoice) -> None:
    """Freeze the parties and check what the law requires before any number is taken."""
    draft.seller = seller_snapshot(draft.company)
    draft.buyer = buyer_snapshot(draft.customer)
    codes = missing_mentions(
        draft.seller,
        draft.buyer,
        lines=len(draft.lines.all()),
        doc_type=draft.doc_type,
        corrects=draft.corrects.number if draft.corrects else None,
        due_date_set=True,
    )
    if codes:
        names = ", ".join(mention_label(c) for c in codes)
        raise MissingMentions(_("Cannot issue: missing %(names)s.") % {"names": names}, codes=codes)
    if draft.doc_type == DocType.CREDIT_NOTE:
        _check_creditable(draft)
    elif draft.total_gross < 0:
        # A negative invoice is a refund: the law and the accounts want a credit note that
        # names the invoice it corrects. A zero total (a free period) is issued as usual.
        raise NotAllowed(
            _(
                "An invoice cannot have a negative total (%(t)s): to refund or correct an "
                "invoice, issue a credit note for it."
            )
            % {"t": format_amount(draft.total_gross, draft.currency, locale=_lang())}
        )


def _check_creditable(note: Invoice) -> None:
    if note.corrects_id is None:
        raise NotAllowed(_("A credit note must correct an issued invoice."))
    original = Invoice.objects.select_for_update().get(pk=note.corrects_id)
    if not original.is_issued or original.doc_type != DocType.INVOICE:
        raise NotAllowed(_("A credit note must correct an issued invoice."))
    credited = Invoice.objects.filter(corrects=original, status=InvoiceStatus.ISSUED).aggregate(
        total=exact_sum("total_gross")
    )["total"] or Decimal(0)
    if note.total_gross <= 0 or credited + note.total_gross > original.total_gross:
        remaining = original.total_gross - credited
        raise NotAllowed(
            _("The credit note exceeds what remains to credit on %(n)s (%(r)s).")
            % {
                "n": original.number,
                "r": format_amount(remaining, original.currency, locale=_lang()),
            }
        )


def _number_group(group: list[Invoice], *, doc_type: str, actor: Actor) -> list[Invoice]:
    company = group[0].company
    series = NumberingSeries.objects.select_for_update().get(company=company, doc_type=doc_type)
    # The company's chain head orders all its documents (every series, every year).
    head = chain_head_lock(company)
    # Read the time only now that both locks are ours: the previous holders have committed,
    # and this machine's clock must not be behind what they issued.
    issued_at = clock.now()
    today = clock.company_today(company, at=issued_at)
    chronology_check(company, head, today=today, now=issued_at)
    year = today.year if series.yearly_reset else 0
    counter, _created = SeriesCounter.objects.get_or_create(series=series, year=year)
    events = []
    for draft in group:
        counter.last_value += 1
        _freeze(draft, series, year, counter.last_value, today, issued_at, actor, head)
        events.append(
            audit_event_build(
                company=company,
                actor=actor,
                action=f"{draft.doc_type}.issued",
                object_type="invoice",
                object_id=draft.pk,
                data={
                    "number": draft.number,
                    "total": draft.total_gross,
                    "hash": draft.content_hash,
                },
                head=head,
            )
        )
    # Still drafts in the database: this UPDATE is the draft → issued transition of the
    # whole block (rows locked above; Invoice.save()'s guard is for other callers).
    rows_update(group, FROZEN_FIELDS)
    AuditEvent.objects.bulk_create(events)
    # Render and archive each document once, after commit, in the worker (outbox).
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            company=company, kind="document.render", key=f"render:{draft.pk}",
            payload={"invoice_id": draft.pk}, next_attempt_at=issued_at,
        )
        for draft in group
    )  # fmt: skip
    counter.last_issue_date = today
    counter.save(update_fields=["last_value", "last_issue_date"])
    head.save(update_fields=["last_document_hash", "documents", "last_event_hash"])
    for draft in group:
        if draft.corrects_id:
            settlement_refresh(draft.corrects_id)
        elif draft.total_gross == 0:
            # Nothing to pay: "paid" at once, never listed as unpaid nor reminded.
            settlement_refresh(draft.pk)
    return group


# What issuing writes; every one of them is then frozen by the database guards.
FROZEN_FIELDS = [
    "status", "series", "sequence", "series_year", "number", "issue_date", "payment_terms_days",
    "due_date", "issued_at", "issued_by", "chain_index", "previous_hash", "content_hash",
    "seller", "buyer",
]  # fmt: skip


def _freeze(
    draft: Invoice,
    series: NumberingSeries,
    year: int,
    seq: int,
    today: date,
    issued_at: datetime,
    actor: Actor,
    head: ChainHead,
) -> None:
    draft.status = InvoiceStatus.ISSUED
    draft.series = series
    draft.sequence = seq
    draft.series_year = year
    draft.number = numbering.format_number(series.pattern, seq=seq, issue_date=today)
    draft.issue_date = today
    terms = draft.payment_terms_days
    if terms is None:
        terms = draft.customer.payment_terms_days
    if terms is None:
        terms = draft.company.payment_terms_days
    is_credit = draft.doc_type == DocType.CREDIT_NOTE
    draft.payment_terms_days = 0 if is_credit else terms
    draft.due_date = today + timedelta(days=draft.payment_terms_days)
    draft.issued_at = issued_at
    draft.issued_by = actor.name
    head.documents += 1
    draft.chain_index = head.documents
    draft.previous_hash = head.last_document_hash
    draft.content_hash = chain_hash(head.last_document_hash, document_content(draft))
    head.last_document_hash = draft.content_hash
