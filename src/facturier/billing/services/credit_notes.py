"""Credit notes: the only way to cancel or correct an issued invoice (LEGAL-FR CN-01/02)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from facturier.billing.models import DocType, Invoice, InvoiceStatus
from facturier.billing.services.actors import Actor, actor_require
from facturier.billing.services.drafts import LineData, invoice_create, line_data_of
from facturier.billing.services.errors import NotAllowed
from facturier.billing.services.issuing import invoice_issue
from facturier.core.roles import Can


@transaction.atomic
def credit_note_create(
    invoice: Invoice,
    *,
    actor: Actor,
    lines: Sequence[LineData] | None = None,
    reason: str = "",
    issue: bool = True,
) -> Invoice:
    """A credit note referencing `invoice`: all its lines (full) or the given ones (partial).

    Issued at once unless `issue` is False; it settles the invoice by its total, and a full
    credit cancels it. Only an actor who may issue credit notes may prepare one.
    """
    actor_require(actor, Can.ISSUE_CREDIT_NOTES, company=invoice.company)
    if invoice.doc_type != DocType.INVOICE:
        raise NotAllowed(
            _("a credit note cannot be credited: only an invoice can"), field="invoice"
        )
    if invoice.status != InvoiceStatus.ISSUED:
        raise NotAllowed("only an issued invoice can be credited", field="invoice")
    if lines is None:
        lines = [line_data_of(line) for line in invoice.lines.order_by("position")]
    note = invoice_create(
        company=invoice.company,
        customer=invoice.customer,
        lines=lines,
        doc_type=DocType.CREDIT_NOTE,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        customer_po=invoice.customer_po,
        notes=reason,
        corrects=invoice,
        actor=actor,
    )
    return invoice_issue(note, actor=actor) if issue else note
