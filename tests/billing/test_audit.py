"""Invariant 9: editing a stored event or document is detected by `audit verify`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from facturier.billing.models import AuditEvent
from facturier.billing.services import audit_verify, invoice_issue, payment_record
from tests.actors import SYS
from tests.guards import raw_sql


@pytest.fixture
def history(make_draft, customer):
    first = invoice_issue(make_draft(), actor=SYS)
    second = invoice_issue(make_draft(), actor=SYS)
    payment_record(
        customer=customer, amount=Decimal("50.00"), received_on=first.issue_date,
        method="transfer", actor=SYS,
    )  # fmt: skip
    return first, second


def _bypass_guards(sql: str, params: list[object]) -> None:
    """What an attacker with database access would do: lift the guards, write, restore."""
    raw_sql(sql, params)


def test_clean_history_verifies(history):
    assert audit_verify() == []


def test_edited_event_detected(history):
    event = AuditEvent.objects.filter(action="payment.recorded").get()
    _bypass_guards("UPDATE billing_auditevent SET actor = 'mallory' WHERE id = %s", [event.pk])
    breaks = audit_verify()
    assert len(breaks) == 1
    assert breaks[0].chain == "events"
    assert breaks[0].where == f"event {event.pk}"
    assert "altered" in breaks[0].why


def test_edited_document_detected(history):
    first, _second = history
    _bypass_guards("UPDATE billing_invoice SET total_gross = %s WHERE id = %s", ["12.00", first.pk])
    [brk] = audit_verify()
    assert (brk.chain, brk.where, brk.why) == ("documents", first.number, "content altered")


def test_edited_document_hash_detected(history):
    _first, second = history
    _bypass_guards(
        "UPDATE billing_invoice SET content_hash = %s WHERE id = %s", ["0" * 64, second.pk]
    )
    [brk] = audit_verify()
    assert brk.where == second.number


def test_cli_verify_exit_codes(history):
    from click.testing import CliRunner

    from facturier.cli import commands  # noqa: F401
    from facturier.cli.main import cli

    ok = CliRunner().invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    event = AuditEvent.objects.first()
    _bypass_guards("UPDATE billing_auditevent SET data = '{}' WHERE id = %s", [event.pk])
    broken = CliRunner().invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "BROKEN" in broken.output


# -- the chain head and the issue events agree with the documents, both ways ---------------


def _delete_document(invoice) -> None:
    """An attacker with the triggers off removes an issued document and its lines."""
    raw_sql("DELETE FROM billing_invoiceline WHERE invoice_id = %s", [invoice.pk])
    raw_sql("DELETE FROM billing_invoice WHERE id = %s", [invoice.pk])


def test_deleted_last_document_detected(history):
    _first, second = history
    _delete_document(second)
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("documents", second.number)
    assert brk.why.endswith("but the document is missing")


def test_deleted_last_document_and_rewound_head_detected(history):
    """Even with the chain head moved back onto the previous document, the chained issue
    event still names the missing one."""
    first, second = history
    _delete_document(second)
    raw_sql(
        "UPDATE billing_chainhead SET documents = 1, last_document_hash = %s",
        [first.content_hash],
    )
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("documents", second.number)


def test_chain_head_that_counts_too_many_detected(history):
    raw_sql("UPDATE billing_chainhead SET documents = 3")
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("documents", "head")
    assert brk.why == "the chain head counts 3 documents, 2 found"


def test_cli_summary_counts(history):
    from click.testing import CliRunner

    from facturier.cli import commands  # noqa: F401
    from facturier.cli.main import cli

    ok = CliRunner().invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines()[-1] == (
        f"OK: {AuditEvent.objects.count()} audit events and 2 issued documents verified; "
        "0 archived documents, 0 checkpoints."
    )


@pytest.mark.postgres
def test_truncated_documents_detected(history):
    """The audit's finding: with the triggers bypassed, `TRUNCATE billing_invoice CASCADE`
    empties the documents and everything that references them; verify says so."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (SQLite has no TRUNCATE)")
    first, _second = history
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    raw_sql("TRUNCATE billing_invoice CASCADE")
    [brk] = audit_verify()
    assert (brk.chain, brk.where) == ("documents", first.number)
    assert brk.why.endswith("but the document is missing")
