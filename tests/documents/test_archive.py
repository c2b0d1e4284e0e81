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
