"""Invariant 9: editing a stored event or document is detected by `audit verify`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from facturier.billing.models import AuditEvent
from facturier.billing.services import audit_verify, invoice_issue, payment_record
from tests.actors import SYS


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
    """What an attacker with database access would do: drop the guard, write, restore."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET session_replication_role = replica")  # triggers off
            cur.execute(sql, params)
            cur.execute("SET session_replication_role = DEFAULT")
        else:
            names = ["facturier_audit_update", "facturier_invoice_update"]
            saved = {}
            for name in names:
                cur.execute("SELECT sql FROM sqlite_master WHERE name = %s", [name])
                saved[name] = cur.fetchone()[0]
                cur.execute(f"DROP TRIGGER {name}")
            cur.execute(sql, params)
            for sql_text in saved.values():
                cur.execute(sql_text)


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
