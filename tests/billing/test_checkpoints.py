"""Signed checkpoints anchor the chains: a history rewritten with every hash recomputed no
longer passes through them (docs/invoicing.md, "Audit")."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from click.testing import CliRunner
from django.core.files.storage import default_storage

from facturier.billing.models import AuditEvent, ChainHead, Checkpoint, Invoice, InvoiceStatus
from facturier.billing.services import audit_verify, invoice_issue
from facturier.billing.services.audit import event_content
from facturier.billing.services.chains import ISSUE_ACTIONS
from facturier.billing.services.checkpoints import (
    CheckpointRefused,
    checkpoint_make,
    checkpoints_make_due,
)
from facturier.billing.services.verify import audit_report
from facturier.billing.snapshots import document_content
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.core import checkpoints as cp
from facturier.core.hashing import chain_hash
from tests.actors import SYS
from tests.guards import guards_lifted, raw_sql

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()


@pytest.fixture(autouse=True)
def _storage_and_key(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHECKPOINT_KEY = KEY
    settings.CHECKPOINT_KEY_FILE = ""
    settings.CHECKPOINT_KEY_CREATE = False
    settings.CHECKPOINT_TRUSTED_KEYS = []


@pytest.fixture
def two_issued(make_draft):
    return invoice_issue(make_draft(), actor=SYS), invoice_issue(make_draft(), actor=SYS)


def _rewrite_history(invoice: Invoice, total: str) -> None:
    """What a DBA who knows the hashing rules can do with the triggers off: change an amount,
    then recompute every document hash, every issue event and every event hash after it, and
    the chain head. Without a checkpoint, nothing in the database shows it."""
    company = invoice.company
    with guards_lifted():
        Invoice.objects.filter(pk=invoice.pk).update(total_gross=Decimal(total))
        previous, hashes = "", {}
        issued = Invoice.objects.filter(company=company, status=InvoiceStatus.ISSUED)
        for doc in issued.order_by("chain_index"):
            digest = chain_hash(previous, document_content(doc))
            Invoice.objects.filter(pk=doc.pk).update(previous_hash=previous, content_hash=digest)
            hashes[str(doc.pk)] = previous = digest
        event_previous = ""
        for event in AuditEvent.objects.filter(company=company).order_by("pk"):
            if event.action in ISSUE_ACTIONS:
                event.data = {**event.data, "hash": hashes[event.object_id]}
            event.previous_hash = event_previous
            event.hash = event_previous = chain_hash(event_previous, event_content(event))
            AuditEvent.objects.filter(pk=event.pk).update(
                data=event.data, previous_hash=event.previous_hash, hash=event.hash
            )
        ChainHead.objects.filter(company=company).update(
            last_document_hash=previous, last_event_hash=event_previous
        )


def test_checkpoint_signed_stored_and_recorded(two_issued, company):
    made = checkpoint_make(company=company)
    head = ChainHead.objects.get(company=company)
    assert (made.documents, made.last_document_hash) == (2, head.last_document_hash)
    assert (made.events, made.last_event_hash) == (
        AuditEvent.objects.filter(company=company).count(),
        head.last_event_hash,
    )
    with default_storage.open(made.file_name, "rb") as f:
        doc = json.load(f)
    assert made.file_name.startswith(f"checkpoints/{company.pk}/")
    assert doc["statement"]["documents"] == 2
    assert doc["algorithm"] == "Ed25519"
    assert doc["key_id"] == made.key_id == cp.key_id(cp.public_key_text(cp.private_key_load(KEY)))
    assert cp.signature_problem(doc) is None
    report = audit_report()
    assert (report.breaks, report.warnings, report.checkpoints) == ([], [], 1)


def test_rewritten_history_detected_only_by_the_checkpoint(two_issued, company):
    first, second = two_issued
    _rewrite_history(first, "12.00")
    assert audit_verify() == []  # every hash recomputed: the chains alone cannot tell
    # The same rewrite after a checkpoint:
    _rewrite_history(first, "120.00")  # back to the truth
    made = checkpoint_make(company=company)
    _rewrite_history(first, "12.00")
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("checkpoints", made.file_name)
    # The checkpoint signed the last document's hash, which every later hash depends on.
    assert brk.why == f"the chains no longer pass through it: document 2 ({second.number})"
    with pytest.raises(CheckpointRefused, match="no longer the one the last checkpoint signed"):
        checkpoint_make(company=company)
    assert Checkpoint.objects.count() == 1


def test_removed_last_document_and_event_detected_by_the_checkpoint(two_issued, company):
    """Delete the last document, its issue event and rewind the head: only the checkpoint,
    which counted them, tells."""
    _first, second = two_issued
    made = checkpoint_make(company=company)
    event = AuditEvent.objects.get(action="invoice.issued", object_id=str(second.pk))
    assert event == AuditEvent.objects.order_by("pk").last()
    raw_sql("DELETE FROM billing_invoiceline WHERE invoice_id = %s", [second.pk])
    raw_sql("DELETE FROM billing_invoice WHERE id = %s", [second.pk])
    raw_sql("DELETE FROM billing_auditevent WHERE id = %s", [event.pk])
    raw_sql(
        "UPDATE billing_chainhead SET documents = 1, last_document_hash = %s, last_event_hash = %s",
        [second.previous_hash, event.previous_hash],
    )
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("checkpoints", made.file_name)
    assert brk.why == "the chains no longer pass through it: document 2 (the chain has 1)"


def test_unsigned_checkpoint_warns(two_issued, company, settings):
    settings.CHECKPOINT_KEY = ""
    made = checkpoint_make(company=company)
    assert (made.signature, made.key_id) == ("", "")
    report = audit_report()
    assert report.breaks == []
    assert report.warnings == [f"company {company.pk}: checkpoint {made.file_name} is not signed"]
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0
    assert f"WARNING: company {company.pk}: checkpoint {made.file_name} is not signed" in (
        result.output
    )


def test_checkpoint_of_an_untrusted_key_is_a_break(two_issued, company, settings):
    made = checkpoint_make(company=company)
    settings.CHECKPOINT_KEY = OTHER_KEY  # the key changed, the old one is not listed
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("checkpoints", made.file_name)
    assert "not trusted here" in brk.why
    settings.CHECKPOINT_TRUSTED_KEYS = [cp.public_key_text(cp.private_key_load(KEY))]
    assert audit_verify() == []


def test_checkpoint_row_removed_detected(two_issued, company):
    made = checkpoint_make(company=company)
    raw_sql("DELETE FROM billing_checkpoint")
    [brk] = audit_verify()
    assert (brk.where, brk.why) == (made.file_name, "in the storage but not in the database")


def test_checkpoint_file_removed_detected(two_issued, company):
    made = checkpoint_make(company=company)
    default_storage.delete(made.file_name)
    [brk] = audit_verify()
    assert (brk.where, brk.why) == (made.file_name, "missing from the archive storage")


def test_forged_signature_detected(two_issued, company):
    made = checkpoint_make(company=company)
    with default_storage.open(made.file_name, "rb") as f:
        doc = json.load(f)
    doc["statement"]["documents"] = 1
    default_storage.delete(made.file_name)
    default_storage.save(made.file_name, _content(doc))
    breaks = audit_verify()
    assert [(b.where, b.why) for b in breaks] == [
        (made.file_name, "the database record differs from the file")
    ]


def _content(doc):
    from django.core.files.base import ContentFile

    return ContentFile(json.dumps(doc).encode())


def test_worker_makes_one_a_day_when_the_chains_moved(company, make_draft):
    from facturier.worker.loop import JOBS, sign_checkpoints

    assert sign_checkpoints in JOBS
    day = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with time_machine.travel(day, tick=False):
        invoice_issue(make_draft(), actor=SYS)
        assert checkpoints_make_due() == 1
        assert checkpoints_make_due() == 0  # once a day
    with time_machine.travel(day.replace(day=3), tick=False):
        assert checkpoints_make_due() == 0  # nothing new to anchor
        invoice_issue(make_draft(), actor=SYS)
        assert checkpoints_make_due() == 1
    assert Checkpoint.objects.count() == 2
    assert audit_verify() == []


def test_worker_logs_a_refusal_once_a_day(company, make_draft, settings, caplog):
    settings.CHECKPOINT_KEY = "not a key"
    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        assert checkpoints_make_due() == 0
        assert checkpoints_make_due() == 0
    refusals = [r for r in caplog.records if "FACTURIER_CHECKPOINT_KEY" in r.getMessage()]
    assert len(refusals) == 1
    assert not Checkpoint.objects.exists()


def test_cli_checkpoint_public_key_and_keygen(two_issued, company, tmp_path):
    runner = CliRunner()
    made = runner.invoke(cli, ["audit", "checkpoint"])
    assert made.exit_code == 0, made.output
    row = Checkpoint.objects.get()
    assert made.output == (
        f"{row.file_name}: 2 documents, {row.events} events, signed by key {row.key_id[:16]}.\n"
    )
    public = runner.invoke(cli, ["audit", "public-key"])
    assert public.exit_code == 0
    assert f"Key id (SHA-256 of the key): {row.key_id}" in public.output
    assert "-----BEGIN PUBLIC KEY-----" in public.output
    out = tmp_path / "key.pem"
    generated = runner.invoke(cli, ["audit", "keygen", "-o", str(out)])
    assert generated.exit_code == 0, generated.output
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert cp.private_key_load(out.read_bytes())
    again = runner.invoke(cli, ["audit", "keygen", "-o", str(out)])
    assert again.exit_code == 2
    assert "is never overwritten" in again.output


def test_embedded_default_makes_its_key_file(two_issued, company, settings, tmp_path):
    settings.CHECKPOINT_KEY = ""
    settings.CHECKPOINT_KEY_FILE = str(tmp_path / "data" / "checkpoint_key.pem")
    settings.CHECKPOINT_KEY_CREATE = True
    made = checkpoint_make(company=company)
    assert made.signature
    key = cp.private_key_load((tmp_path / "data" / "checkpoint_key.pem").read_bytes())
    assert made.key_id == cp.key_id(cp.public_key_text(key))
    assert audit_verify() == []


@pytest.mark.postgres
def test_no_write_locks_the_company_row(company, customer, make_draft, settings, tmp_path):
    """Found by the four-workers scenario on PostgreSQL: archiving a document locked its
    invoice with select_related("company") and no OF, so the company row too, FOR UPDATE,
    then waited for the chain head; a worker making the daily checkpoint held the chain head
    and inserted its row, whose foreign key waits on that company row: a deadlock on every
    tick. No write may lock the company row FOR UPDATE (NO KEY UPDATE is harmless)."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from facturier.billing.services import invoice_issue, payment_record
    from facturier.billing.services.dunning import default_levels, reminder_policy_set
    from facturier.billing.services.payment_corrections import payment_reverse
    from facturier.worker.outbox import outbox_deliver

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (SQLite has no row locks)")
    settings.MEDIA_ROOT = tmp_path
    with CaptureQueriesContext(connection) as seen:
        invoice = invoice_issue(make_draft(), actor=SYS)
        outbox_deliver()  # render and archive it
        payment = payment_record(
            customer=customer, amount=Decimal("10.00"), received_on=invoice.issue_date,
            method="transfer", actor=SYS,
        )  # fmt: skip
        payment_reverse(payment, reversed_on=invoice.issue_date, reason="erreur", actor=SYS)
        reminder_policy_set(company, default_levels(), by=SYS)
        checkpoint_make(company=company)
    locking = [q["sql"] for q in seen.captured_queries if "FOR UPDATE" in q["sql"]]
    assert any("billing_archiveddocument" in q or "billing_invoice" in q for q in locking)
    offending = []
    for sql in locking:
        lock = sql[sql.rindex("FOR ") :]
        joins_company = re.search(r'(FROM|JOIN) "billing_company"', sql)
        whole_rows = "NO KEY" not in lock and not lock.startswith("FOR UPDATE OF")
        if (joins_company and whole_rows) or ("OF" in lock and '"billing_company"' in lock):
            offending.append(sql)
    assert offending == [], offending[0] if offending else ""
