"""Invariant 4: issued documents cannot change, neither through the ORM nor raw SQL."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from facturier.billing import db_guards
from facturier.billing.models import AuditEvent, ImmutableDocumentError, Invoice, InvoiceLine
from facturier.billing.services import (
    LineData,
    NotAllowed,
    invoice_delete_draft,
    invoice_issue,
    invoice_update_draft,
)
from tests.actors import SYS


@pytest.fixture
def issued(make_draft):
    return invoice_issue(make_draft(), actor=SYS)


def _raw(sql: str, params: list[object]) -> None:
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)


@pytest.mark.parametrize(
    ("column", "value"),
    [("number", "F2026-99999"), ("total_gross", "1.00"), ("issue_date", "2020-01-01"),
     ("status", "draft"), ("content_hash", "0" * 64), ("notes", "changed")],
)  # fmt: skip
def test_raw_update_of_issued_invoice_refused(issued, column, value):
    with pytest.raises(IntegrityError, match="issued document"):
        _raw(f"UPDATE billing_invoice SET {column} = %s WHERE id = %s", [value, issued.pk])
    fresh = Invoice.objects.get(pk=issued.pk)
    assert (fresh.number, fresh.total_gross) == (issued.number, issued.total_gross)


def test_raw_delete_of_issued_invoice_refused(issued):
    with pytest.raises(IntegrityError):
        _raw("DELETE FROM billing_invoice WHERE id = %s", [issued.pk])
    assert Invoice.objects.filter(pk=issued.pk).exists()


def test_raw_line_changes_refused(issued):
    line = issued.lines.get()
    with pytest.raises(IntegrityError):
        _raw("UPDATE billing_invoiceline SET unit_price = 1 WHERE id = %s", [line.pk])
    with pytest.raises(IntegrityError):
        _raw("DELETE FROM billing_invoiceline WHERE id = %s", [line.pk])
    with pytest.raises(IntegrityError):
        _raw(
            "INSERT INTO billing_invoiceline (invoice_id, position, description, kind, quantity,"
            " unit_code, unit_price, discount_percent, discount_amount, vat_code, vat_category,"
            " vat_rate, exemption_reason, net_amount) VALUES (%s, 9, 'x', 'services', 1, 'C62',"
            " 1, 0, 0, 'FR-20', 'S', 20, '', 1)",
            [issued.pk],
        )
    assert issued.lines.count() == 1


def test_settlement_state_may_change(issued):
    _raw("UPDATE billing_invoice SET disputed = %s WHERE id = %s", [True, issued.pk])
    assert Invoice.objects.get(pk=issued.pk).disputed


def test_orm_refuses_with_a_clear_error(issued):
    issued.notes = "changed"
    with pytest.raises(ImmutableDocumentError, match="credit note"):
        issued.save()
    with pytest.raises(ImmutableDocumentError):
        issued.delete()
    with pytest.raises(NotAllowed):
        invoice_delete_draft(issued, actor=SYS)
    with pytest.raises(NotAllowed):
        invoice_update_draft(issued, actor=SYS, lines=[LineData(description="x", unit_price=1)])
    issued.disputed = True
    issued.save(update_fields=["disputed"])  # state beside the document is fine


def test_drafts_are_free(make_draft):
    draft = make_draft()
    _raw("UPDATE billing_invoice SET notes = 'x' WHERE id = %s", [draft.pk])
    invoice_delete_draft(draft, actor=SYS)
    assert not Invoice.objects.exists()
    assert not InvoiceLine.objects.exists()


def test_audit_events_append_only(issued):
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(IntegrityError):
        _raw("UPDATE billing_auditevent SET actor = 'mallory' WHERE id = %s", [event.pk])
    with pytest.raises(IntegrityError):
        _raw("DELETE FROM billing_auditevent WHERE id = %s", [event.pk])


def test_guard_column_list_matches_the_model():
    """SQLite triggers list the protected columns: a new column must be added to a guard."""
    from importlib import import_module

    latest = import_module("facturier.billing.migrations.0004_guard_subscription_column")
    columns = {f.column for f in Invoice._meta.concrete_fields}
    assert set(latest.INVOICE_COLUMNS) == columns
    assert set(latest.MUTABLE) <= columns
    assert Invoice._meta.db_table == db_guards.INVOICE
