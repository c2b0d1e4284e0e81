"""The command line: help everywhere, JSON listing, payments, clear errors with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from click.testing import CliRunner
from django.contrib.auth.models import User

from facturier.billing.models import Payment
from facturier.billing.services import invoice_issue
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from tests.actors import SYS

COMMANDS = [
    [], ["invoices"], ["invoices", "list"], ["invoices", "show"], ["invoices", "issue"],
    ["invoices", "credit"], ["payments"], ["payments", "record"], ["payments", "list"],
    ["audit"], ["audit", "verify"], ["demo"], ["demo", "load"], ["serve"],
]  # fmt: skip


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help(db, path):
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_console_script_help():
    exe = os.path.join(os.path.dirname(sys.executable), "facturier")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    for name in ("invoices", "payments", "audit", "demo", "serve", "manage"):
        assert name in out


def test_list_json_and_table(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    make_draft()
    rows = json.loads(run("invoices", "list", "--json").output)
    assert rows[0]["number"] == inv.number
    assert rows[0]["total_gross"] == "120.00"
    assert rows[0]["balance"] == "120.00"
    assert rows[1]["status"] == "draft" and rows[1]["number"] is None
    table = run("invoices", "list").output
    assert "120,00\xa0€" in table
    assert inv.number in table


def test_payment_record(make_draft, customer):
    inv = invoice_issue(make_draft(), actor=SYS)
    result = run(
        "payments", "record", "--customer", customer.code, "--amount", "150,00",
        "--date", "28/11/2026", "--invoice", f"{inv.number}=100", "--reference", "VIR 1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Customer credit: 50,00" in result.output
    inv.refresh_from_db()
    assert inv.balance == Decimal("20.00")


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--amount", "abc"], "not an amount"), (["--amount", "10", "--date", "31/02/2026"], "date"),
     (["--amount", "10", "--invoice", "F-NOPE"], "no invoice"),
     (["--amount", "-10"], "more than zero"),
     (["--amount", "10", "--method", "bitcoin"], "bitcoin")],
)  # fmt: skip
def test_payment_refusals_exit_2_and_change_nothing(customer, args, message):
    result = run("payments", "record", "--customer", customer.code, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not Payment.objects.exists()


def test_unknown_customer(company):
    result = run("payments", "record", "--customer", "NOPE", "--amount", "1")
    assert result.exit_code == 2
    assert "no customer" in result.output


def test_issue_refusal_names_the_mention(make_draft, customer):
    type(customer).objects.filter(pk=customer.pk).update(siren="")
    draft = make_draft()
    result = run("invoices", "issue", str(draft.pk))
    assert result.exit_code == 2
    assert "SIREN" in result.output


def test_demo_load_is_idempotent(db):
    first = run("demo", "load", "--url", "http://127.0.0.1:8080/")
    assert "Demo company loaded" in first.output
    assert "Sign in at http://127.0.0.1:8080/ as admin" in first.output  # make run PORT=8080
    # The demo's users are members: none of them may open the Django admin.
    assert User.objects.count() == 3
    assert not User.objects.filter(is_staff=True).exists()
    assert not User.objects.filter(is_superuser=True).exists()
    second = run("demo", "load")
    assert "not loaded" in second.output
    assert "Sign in at http://127.0.0.1:8000/" in second.output
    listing = json.loads(run("invoices", "list", "--json").output)
    assert sum(r["status"] == "issued" for r in listing) == 4
    assert run("audit", "verify").exit_code == 0


def test_subscription_create_run_and_forecast(customer):
    created = run(
        "subscriptions", "create", "--customer", customer.code, "--name", "Ménage",
        "--line", "Ménage;1;90", "--every", "semi_monthly", "--days", "5,20",
        "--start", "05/12/2026", "--service-start", "01/12/2026",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "next billing date 01/12/2026" in created.output
    dry = run("billing", "run", "--as-of", "01/12/2026", "--dry-run")
    assert "would issue 1" in dry.output
    with time_machine.travel(datetime(2026, 12, 4, 9, tzinfo=UTC), tick=False):
        # Run for real on 04/12, "as of 05/12" issued invoices ahead of time: refused.
        ahead = run("billing", "run", "--as-of", "05/12/2026")
        assert ahead.exit_code == 2 and "make it a dry run" in ahead.output
    with time_machine.travel(datetime(2026, 12, 5, 9, tzinfo=UTC), tick=False):
        real = run("billing", "run", "--as-of", "05/12/2026")
        assert real.exit_code == 0
        assert "Issued 2" in real.output  # the stub 01–04/12 then 05–19/12
        assert "Issued 0" in run("billing", "run", "--as-of", "05/12/2026").output


def test_billing_run_exit_1_on_failure(customer):
    run(
        "subscriptions", "create", "--customer", customer.code, "--name", "X",
        "--line", "X;1;10", "--start", "01/12/2026",
    )  # fmt: skip
    type(customer).objects.filter(pk=customer.pk).update(siren="")
    result = CliRunner().invoke(cli, ["billing", "run", "--as-of", "01/12/2026"])
    assert result.exit_code == 1
    assert "failed 1" in result.output
    assert "SIREN" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--line", "X;1;abc"], "not a number"), (["--line", "X"], "expected"),
     (["--line", "X;1;1", "--days", "1"], "two days"),
     (["--line", "X;1;1", "--every", "semi_monthly", "--days", "20,5"], ""),
     # Options that would be ignored are refused, not dropped in silence.
     (["--line", "X;1;10;FR-20;fixed;extra"], "not 6 fields"),
     (["--line", "X;1;10", "--days", "5,20"], "--days is for twice a month"),
     (["--line", "X;1;10", "--every", "month", "--days", "5,20"], "--every semi_monthly"),
     (["--line", "X;1;10", "--arrears", "--days-before", "5"], "cannot go with --arrears"),
     (["--line", "X;1;10", "--arrears", "--days-before", "0"], "cannot go with --arrears")],
)  # fmt: skip
def test_subscription_create_refusals(customer, args, message):
    from facturier.billing.models import Subscription

    result = run(
        "subscriptions", "create", "--customer", customer.code, "--name", "X",
        "--start", "01/12/2026", *args,
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not Subscription.objects.exists()
