"""Issued documents are rendered once by the worker, archived, served byte for byte, verified."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction

from facturier.billing.models import ArchivedDocument, OutboxMessage
from facturier.billing.services import audit_verify, credit_note_create, invoice_issue
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.core.hashing import file_sha256
from facturier.worker.outbox import outbox_deliver
from tests.actors import SYS
from tests.guards import raw_sql


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _read(name: str) -> bytes:
    with default_storage.open(name, "rb") as f:
        return f.read()


def test_issue_queues_a_render_that_archives_once(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    msg = OutboxMessage.objects.get(kind="document.render")
    assert msg.payload == {"invoice_id": inv.pk}
    assert not ArchivedDocument.objects.exists()  # rendered after commit, by the worker
    assert outbox_deliver() == 1
    arch = ArchivedDocument.objects.get(invoice=inv)
    pdf, xml = _read(arch.pdf_name), _read(arch.xml_name)
    assert arch.pdf_name == f"invoices/{inv.company_id}/{inv.number}.pdf"
    assert (file_sha256(pdf), file_sha256(xml)) == (arch.pdf_sha256, arch.xml_sha256)
    import facturx

    name, embedded = facturx.get_xml_from_pdf(io.BytesIO(pdf), check_xsd=False)
    assert (name, embedded) == ("factur-x.xml", xml)
    assert b"120.00" in xml
    # A second delivery of the same job (a retry) renders nothing new.
    from facturier.worker.render import document_render

    document_render(msg)
    assert ArchivedDocument.objects.count() == 1
    assert _read(arch.pdf_name) == pdf


def test_credit_note_archived_too(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    note = credit_note_create(inv, actor=SYS)
    outbox_deliver()
    assert ArchivedDocument.objects.filter(invoice=note).exists()
    assert b"<ram:TypeCode>381</ram:TypeCode>" in _read(note.archive.xml_name)


def test_cli_serves_the_archived_bytes(make_draft, tmp_path):
    inv = invoice_issue(make_draft(), actor=SYS)
    runner = CliRunner()
    early = runner.invoke(cli, ["invoices", "pdf", inv.number, "-o", str(tmp_path / "x.pdf")])
    assert early.exit_code == 2 and "not archived yet" in early.output
    outbox_deliver()
    arch = ArchivedDocument.objects.get()
    for kind, name in (("pdf", arch.pdf_name), ("xml", arch.xml_name)):
        out = tmp_path / f"out.{kind}"
        result = runner.invoke(cli, ["invoices", kind, inv.number, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == _read(name)


def test_tampered_file_detected(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    assert audit_verify() == []
    arch = ArchivedDocument.objects.get()
    path = default_storage.path(arch.xml_name)
    with open(path, "ab") as f:
        f.write(b"<!-- edited -->")
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("archive", inv.number)
    assert "altered" in brk.why


def test_archive_rows_cannot_change(make_draft):
    invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    arch = ArchivedDocument.objects.get()
    for sql in (
        "UPDATE billing_archiveddocument SET pdf_sha256 = 'x' WHERE id = %s",
        "DELETE FROM billing_archiveddocument WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [arch.pk])
    assert ArchivedDocument.objects.get().pdf_sha256 == arch.pdf_sha256


def test_company_branding_reaches_the_archived_pdf(make_draft, company):
    import pypdf

    from facturier.billing.services import company_update

    company_update(
        company, actor=SYS, invoice_footer="Merci de votre confiance", accent_colour="#aa3300"
    )
    invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    pdf = _read(ArchivedDocument.objects.get().pdf_name)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Merci de votre confiance" in text


def test_bad_colour_refused(company):
    from facturier.billing.services import InvalidInput, company_update

    with pytest.raises(InvalidInput) as err:
        company_update(company, actor=SYS, accent_colour="red")
    assert err.value.field == "accent_colour"


# -- the archive is in the audit chain (document.archived events) -----------------------------


def _archived_event(inv):
    from facturier.billing.models import AuditEvent

    return AuditEvent.objects.get(action="document.archived", object_id=str(inv.pk))


def test_archive_is_chained(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    arch = ArchivedDocument.objects.get()
    assert _archived_event(inv).data == {
        "number": inv.number, "pdf": arch.pdf_name, "pdf_sha256": arch.pdf_sha256,
        "xml": arch.xml_name, "xml_sha256": arch.xml_sha256,
    }  # fmt: skip
    assert audit_verify() == []


def test_deleted_archive_row_detected(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    raw_sql("DELETE FROM billing_archiveddocument")
    [brk] = audit_verify()
    assert (brk.chain, brk.where, brk.why) == ("archive", inv.number, "the archive row is missing")


def test_file_replaced_with_its_recorded_hash_detected(make_draft):
    """Replacing a PDF and the SHA-256 its archive row records is not enough: the chain has
    the original SHA-256."""
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    arch = ArchivedDocument.objects.get()
    forged = b"%PDF-1.7 a forged invoice"
    with open(default_storage.path(arch.pdf_name), "wb") as f:
        f.write(forged)
    raw_sql(
        "UPDATE billing_archiveddocument SET pdf_sha256 = %s WHERE id = %s",
        [file_sha256(forged), arch.pk],
    )
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("archive", inv.number)
    assert brk.why == "the archive row differs from the audit chain"


def test_rendered_but_not_archived_detected(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    assert audit_verify() == []  # its render is pending: not archived yet is fine
    OutboxMessage.objects.filter(kind="document.render").update(status="sent")
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("archive", inv.number)
    assert brk.why == "not archived, yet no render is pending"


def test_archives_made_before_the_chain_are_chained_by_the_migration(make_draft):
    """Migration 0016 appends a "document.archived" event for each archive row it finds."""
    from importlib import import_module

    from django.apps import apps

    from facturier.billing.models import Invoice

    inv = invoice_issue(make_draft(), actor=SYS)
    ArchivedDocument.objects.create(
        invoice=inv, pdf_name="invoices/old.pdf", pdf_sha256=file_sha256(b"pdf"),
        xml_name="invoices/old.xml", xml_sha256=file_sha256(b"xml"),
    )  # fmt: skip
    default_storage.save("invoices/old.pdf", io.BytesIO(b"pdf"))
    default_storage.save("invoices/old.xml", io.BytesIO(b"xml"))
    [brk] = audit_verify()
    assert brk.why == "the archive is not in the audit chain"
    import_module("facturier.billing.migrations.0019_tamper_evidence").chain_archives(apps, None)
    assert audit_verify() == []
    assert _archived_event(Invoice.objects.get(pk=inv.pk)).actor == "migration 0016"


def test_leftover_of_a_killed_render_is_replaced(make_draft):
    """A render killed after writing its file (before its commit) left F…pdf; the retry
    archives under that same name, so no stray original stays beside a suffixed copy."""
    import os

    from facturier.billing.services.verify import audit_report

    inv = invoice_issue(make_draft(), actor=SYS)
    expected = f"invoices/{inv.company_id}/{inv.number}.pdf"
    default_storage.save(expected, io.BytesIO(b"half a PDF"))
    outbox_deliver()
    arch = ArchivedDocument.objects.get()
    assert arch.pdf_name == expected
    assert file_sha256(_read(expected)) == arch.pdf_sha256
    folder = os.path.dirname(default_storage.path(expected))
    assert sorted(os.listdir(folder)) == [f"{inv.number}.pdf", f"{inv.number}.xml"]  # no .tmp
    report = audit_report()
    assert (report.breaks, report.stray, report.archived) == ([], [], 1)


def test_archive_put_keeps_identical_bytes(tmp_path):
    import os

    from facturier.billing.archive import archive_put

    name = "invoices/9/F/2026/1.pdf"  # a number may contain "/"
    assert archive_put(name, b"one") == name
    path = default_storage.path(name)
    inode = os.stat(path).st_ino
    assert archive_put(name, b"one") == name
    assert os.stat(path).st_ino == inode  # kept as it was, not rewritten
    assert archive_put(name, b"two") == name
    assert _read(name) == b"two"
    assert os.listdir(os.path.dirname(path)) == ["1.pdf"]


def test_stray_files_listed(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    stray = f"invoices/{inv.company_id}/F2026-00614.pdf"
    default_storage.save(stray, io.BytesIO(b"%PDF-"))
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"STRAY: {stray} (under the archive prefix, but no archive row names it)" in (
        result.output
    )
