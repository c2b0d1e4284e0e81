"""Render an issued document once (PDF/A-3 + Factur-X XML) and archive it (outbox job).

The PDF uses the company's layout, logo, accent colour and footer as they are when the job
runs. Files go through Django's storage API (the data directory, or an S3-compatible bucket:
see settings.STORAGES) under `invoices/<company id>/<number>.pdf|.xml`; their SHA-256 is
stored in ArchivedDocument, a row the database never lets change, and chained in the audit
trail (billing/services/archive.py). A retry after a crash finds the row and does nothing; an
archived file is never overwritten.
"""

from __future__ import annotations

import logging
from typing import Any

from facturier.billing.models import ArchivedDocument, Company, Invoice, OutboxMessage
from facturier.billing.services.archive import document_archive
from facturier.billing.snapshots import document_content
from facturier.documents.cii import invoice_xml
from facturier.documents.layouts import DEFAULT_LAYOUT, LAYOUTS
from facturier.documents.pdf import invoice_pdf

log = logging.getLogger(__name__)


def document_data(invoice: Invoice) -> dict[str, Any]:
    """What the renderers need: the hashed legal content plus a few facts beside it."""
    doc = document_content(invoice)
    corrects = invoice.corrects
    doc["corrects_issue_date"] = corrects.issue_date if corrects else None
    emails = invoice.customer.billing_emails or []
    doc["buyer"] = {**(invoice.buyer or {}), "email": emails[0] if emails else ""}
    return doc


def _layout(company: Company) -> str:
    # The field only accepts built-in names; a name written around the services (or of a
    # layout since removed) must not stop an issued invoice from getting its document.
    if company.invoice_layout in LAYOUTS:
        return company.invoice_layout
    log.warning(
        "company %s: unknown invoice layout %r, the %s layout is used",
        company.pk,
        company.invoice_layout,
        DEFAULT_LAYOUT,
    )
    return DEFAULT_LAYOUT


def document_render(msg: OutboxMessage) -> None:
    invoice = Invoice.objects.select_related("company", "customer", "corrects").get(
        pk=msg.payload["invoice_id"]
    )
    if ArchivedDocument.objects.filter(invoice=invoice).exists():
        return  # rendered already: a document is produced once
    doc = document_data(invoice)
    xml = invoice_xml(doc)
    company = invoice.company
    logo = company.logo.read() if company.logo else None
    pdf = invoice_pdf(
        doc,
        xml=xml,
        logo=logo,
        accent=company.accent_colour,
        footer=company.invoice_footer,
        layout=_layout(company),
    )
    document_archive(invoice_id=invoice.pk, pdf=pdf, xml=xml)
