"""Archive an issued document's files once, and bind their SHA-256 into the audit chain.

The archive row and a "document.archived" audit event (number, names and SHA-256 of both
files) are written in one transaction: the event is chained, so a file replaced together with
its recorded SHA-256, or an archive row removed, no longer agrees with the chain and `audit
verify` says so (docs/invoicing.md, "Audit").
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from facturier.billing import extensions
from facturier.billing.archive import ARCHIVE_PREFIX, archive_put
from facturier.billing.models import ArchivedDocument, Invoice
from facturier.billing.services.audit import audit_record, chain_head_lock
from facturier.billing.services.errors import NotAllowed
from facturier.core.hashing import file_sha256

ACTOR = "archive"
ARCHIVED = "document.archived"


def archived_event_data(archive: ArchivedDocument, number: str) -> dict[str, Any]:
    """What the chain records of an archive (migration 0016 wrote the same for the rows
    archived before it)."""
    return {
        "number": number,
        "pdf": archive.pdf_name,
        "pdf_sha256": archive.pdf_sha256,
        "xml": archive.xml_name,
        "xml_sha256": archive.xml_sha256,
    }


def archive_name(invoice: Invoice, extension: str) -> str:
    return f"{ARCHIVE_PREFIX}/{invoice.company_id}/{invoice.number}.{extension}"


def document_archive(*, invoice_id: int, pdf: bytes, xml: bytes) -> ArchivedDocument:
    """Archive the rendered files of an issued document, once: a second call (a retried job,
    a second worker) returns the archive already made and writes nothing.

    The invoice row is locked while the files are written, so two workers never write the
    same names at once; the chain head is locked only for the row and the event."""
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",))
            .select_related("company")
            .get(pk=invoice_id)
        )
        done = ArchivedDocument.objects.filter(invoice=invoice).first()
        if done is not None:
            return done
        if not invoice.is_issued or invoice.number is None:
            raise NotAllowed("only an issued document is archived", field="invoice")
        # The names are the company's and the number's (unique per company, no "." in a
        # number): no other archive holds them, so a file found there was never archived.
        pdf_name = archive_put(archive_name(invoice, "pdf"), pdf)
        xml_name = archive_put(archive_name(invoice, "xml"), xml)
        head = chain_head_lock(invoice.company)
        archive = ArchivedDocument.objects.create(
            invoice=invoice,
            pdf_name=pdf_name,
            pdf_sha256=file_sha256(pdf),
            xml_name=xml_name,
            xml_sha256=file_sha256(xml),
        )
        audit_record(
            company=invoice.company, actor=ACTOR, action=ARCHIVED, object_type="invoice",
            object_id=invoice.pk, data=archived_event_data(archive, invoice.number), head=head,
        )  # fmt: skip
        extensions.document_archived.send(None, invoice=invoice, archive=archive)
    return archive
