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


# -- the legal records beside the documents (migration 0016) ---------------------------------


@pytest.fixture
def records(customer, company, settings, tmp_path):
    """One of each legal record: a billed period's issued invoice and its archive, a payment
    allocated to it, a reminder, the chain head and the series counter, a checkpoint."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    import time_machine

    from facturier.billing.models import Checkpoint, Reminder
    from facturier.billing.services import payment_record
    from facturier.billing.services.billing_run import billing_run
    from facturier.billing.services.payment_corrections import credit_refund, payment_reverse
    from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create

    subscription_create(
        customer=customer, name="Hébergement", actor=SYS, frequency_unit="month",
        anchor=date(2026, 3, 1),
        lines=[SubscriptionLineData(description="Hébergement", unit_price=Decimal("100.00"))],
    )  # fmt: skip
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=UTC), tick=False):
        assert billing_run().issued == 1
        settings.MEDIA_ROOT = tmp_path
        from facturier.worker.outbox import outbox_deliver

        outbox_deliver()
        inv = Invoice.objects.get()
        payment_record(
            customer=customer, amount=Decimal("50.00"), received_on=inv.issue_date,
            method="transfer", actor=SYS,
        )  # fmt: skip
        # Corrections are records too: a reversed payment, a refund of the customer's credit.
        bounced = payment_record(
            customer=customer, amount=Decimal("10.00"), received_on=inv.issue_date,
            method="cheque", actor=SYS,
        )  # fmt: skip
        payment_reverse(bounced, reversed_on=inv.issue_date, reason="Chèque impayé", actor=SYS)
        payment_record(
            customer=customer, amount=Decimal("5.00"), received_on=inv.issue_date,
            method="transfer", actor=SYS, allocations=[],
        )  # fmt: skip
        credit_refund(
            customer=customer, amount=Decimal("5.00"), refunded_on=inv.issue_date,
            method="transfer", actor=SYS,
        )  # fmt: skip
        Reminder.objects.create(invoice=inv, level=1, sent_on=inv.issue_date, days_late=0,
                                amount_due=Decimal("70.00"))  # fmt: skip
        Checkpoint.objects.create(
            company=company, at=datetime(2026, 3, 1, 9, tzinfo=UTC), documents=1, events=1,
            file_name="checkpoints/test.json",
        )  # fmt: skip
    return inv


def _counts() -> dict[str, int]:
    with connection.cursor() as cur:
        counts = {}
        for table in db_guards.TRUNCATE_GUARDED:
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    return counts


def test_every_guarded_table_holds_a_record(records):
    """The fixture gives the DELETE and TRUNCATE tests below something to refuse."""
    assert all(_counts().values()), _counts()


@pytest.mark.parametrize("table", [*db_guards.NEVER_DELETED, db_guards.BILLED_PERIOD])
def test_legal_records_cannot_be_deleted(records, table):
    before = _counts()
    with pytest.raises(IntegrityError, match="legal records cannot be deleted"):
        _raw(f"DELETE FROM {table}", [])
    assert _counts() == before


def test_counters_never_go_backwards(records):
    for sql in (
        "UPDATE billing_seriescounter SET last_value = last_value - 1",
        "UPDATE billing_chainhead SET documents = documents - 1",
    ):
        with pytest.raises(IntegrityError, match="never goes backwards"):
            _raw(sql, [])
    _raw("UPDATE billing_chainhead SET last_event_hash = last_event_hash", [])  # allowed
    with pytest.raises(IntegrityError, match="checkpoint never changes"):
        _raw("UPDATE billing_checkpoint SET documents = 0", [])


def test_billed_period_of_a_draft_may_go(company, customer):
    """The billing run forgets the period of a draft refused at issue (billing_run._undo)."""
    from datetime import date
    from decimal import Decimal

    from facturier.billing.models import BilledPeriod
    from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create

    sub = subscription_create(
        customer=customer, name="x", actor=SYS, frequency_unit="month", anchor=date(2026, 3, 1),
        lines=[SubscriptionLineData(description="x", unit_price=Decimal(1))],
    )  # fmt: skip
    period = BilledPeriod.objects.create(
        subscription=sub, index=0, start=date(2026, 3, 1), end=date(2026, 3, 31),
        billing_date=date(2026, 3, 1), outcome="skipped",
    )  # fmt: skip
    _raw("DELETE FROM billing_billedperiod WHERE id = %s", [period.pk])
    assert not BilledPeriod.objects.exists()


@pytest.mark.postgres
@pytest.mark.parametrize("table", db_guards.TRUNCATE_GUARDED)
def test_truncate_refused_on_every_legal_table(records, table):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (SQLite has no TRUNCATE)")
    before = _counts()
    with connection.cursor() as cur:  # as outside the test's transaction: no pending checks
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(IntegrityError, match="facturier: "):
        _raw(f"TRUNCATE {table} CASCADE", [])
    assert _counts() == before


@pytest.mark.django_db(transaction=True)
def test_flush_lifts_the_guards_and_puts_them_back(make_draft):
    """pytest-django's flush (transactional tests) and `manage flush` get past the guards,
    which are in force again afterwards."""
    from django.core.management import call_command

    invoice_issue(make_draft(), actor=SYS)
    call_command("flush", interactive=False, verbosity=0)
    assert not any(_counts().values())
    from facturier.billing.services import company_create
    from tests.conftest import COMPANY_FIELDS

    company = company_create(**COMPANY_FIELDS)
    with pytest.raises(IntegrityError):
        _raw("DELETE FROM billing_chainhead WHERE company_id = %s", [company.pk])
