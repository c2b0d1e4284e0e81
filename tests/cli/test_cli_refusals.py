"""Refusals of the command line found by QA: each ends with a clear `Error: …`, exit 2, and
changes nothing; and what the commands print (English, French amounts)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.utils import translation

from facturier.billing.models import (
    ArchivedDocument,
    Company,
    Invoice,
    Payment,
    ReminderLevel,
    Subscription,
)
from facturier.billing.services import company_create, credit_note_create, invoice_issue
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from facturier.worker.outbox import outbox_deliver
from tests.actors import SYS
from tests.conftest import COMPANY_FIELDS


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- 1. an empty reference names nothing -----------------------------------------------------


@pytest.mark.parametrize("ref", ["", "  "])
def test_empty_customer_is_refused_not_the_one_without_siren(make_draft, consumer, ref):
    assert consumer.siren == ""  # an empty reference used to match this customer
    result = run("payments", "record", "--customer", ref, "--amount", "10")
    assert result.exit_code == 2
    assert "--customer" in result.output and "not an empty one" in result.output
    assert not Payment.objects.exists()


def test_empty_customer_refused_by_reminders_pause(consumer):
    result = run("reminders", "pause", "")
    assert result.exit_code == 2 and "not an empty one" in result.output
    consumer.refresh_from_db()
    assert not consumer.reminders_paused


@pytest.mark.parametrize(
    "args",
    [["invoices", "list"], ["billing", "run", "--dry-run"], ["reminders", "run", "--dry-run"]],
)
def test_empty_company_is_refused(company, args):
    result = run(*args, "--company", "")
    assert result.exit_code == 2
    assert "--company" in result.output and "not an empty one" in result.output


def test_a_siren_shared_by_two_companies_picks_none(company):
    other = company_create(**COMPANY_FIELDS)
    result = run("invoices", "list", "--company", company.siren)
    assert result.exit_code == 2
    assert f"several companies have SIREN {company.siren}" in result.output
    assert run("invoices", "list", "--company", str(other.pk)).exit_code == 0


# --- 2. archived files: checked before they are handed out; output path errors -------------


@pytest.mark.usefixtures("_media")
@pytest.mark.parametrize("kind", ["pdf", "xml"])
def test_tampered_archive_is_refused(make_draft, tmp_path, kind):
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    arch = ArchivedDocument.objects.get(invoice=inv)
    with open(default_storage.path(getattr(arch, f"{kind}_name")), "ab") as f:
        f.write(b"tampered")
    out = tmp_path / f"out.{kind}"
    result = run("invoices", kind, inv.number, "-o", str(out))
    assert result.exit_code == 2
    assert "was altered since it was written" in result.output
    assert not out.exists()


@pytest.mark.usefixtures("_media")
@pytest.mark.parametrize("kind", ["pdf", "xml"])
def test_missing_archive_is_refused(make_draft, tmp_path, kind):
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    default_storage.delete(getattr(ArchivedDocument.objects.get(invoice=inv), f"{kind}_name"))
    out = tmp_path / f"out.{kind}"
    result = run("invoices", kind, inv.number, "-o", str(out))
    assert result.exit_code == 2
    assert "is missing" in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.usefixtures("_media")
def test_unwritable_output_is_refused(make_draft, tmp_path):
    inv = invoice_issue(make_draft(), actor=SYS)
    outbox_deliver()
    missing_dir = tmp_path / "nope" / "x.xml"
    for target in (missing_dir, tmp_path):
        result = run("invoices", "xml", inv.number, "-o", str(target))
        assert result.exit_code == 2, result.output
        assert f"Error: cannot write {target}" in result.output
    assert not missing_dir.parent.exists()


# --- 3. demo load --force --------------------------------------------------------------------


def test_demo_load_force_adds_a_company_and_keeps_the_existing_admin(db):
    assert run("demo", "load").exit_code == 0
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed by its owner")
    admin.save()
    result = run("demo", "load", "--force")
    assert result.exit_code == 0, result.output
    assert "Demo company loaded" in result.output
    assert Company.objects.count() == 2
    admin.refresh_from_db()
    assert admin.check_password("changed by its owner")
    assert admin.membership.company == Company.objects.order_by("pk").first()
    new = get_user_model().objects.get(username="admin2")
    assert new.membership.company == Company.objects.order_by("pk").last()
    assert new.membership.role == "owner"
    assert run("audit", "verify").exit_code == 0
    # Into a database in use, no account with the published password: the new owner's is
    # random and printed once; the other demo users' are never shown.
    printed = result.output.split("as admin2 / ")[1].strip()
    assert len(printed) >= 16 and printed != "facturier"
    assert new.check_password(printed)
    added = get_user_model().objects.filter(membership__company=new.membership.company)
    assert sorted(u.username for u in added) == ["admin2", "claire2", "compta2"]
    assert not any(u.check_password("facturier") for u in added)
    assert not get_user_model().objects.filter(is_staff=True).exists()
    assert not get_user_model().objects.filter(is_superuser=True).exists()


# --- 4, 5. worker --tick, manage --------------------------------------------------------------


@pytest.mark.parametrize("tick", ["-1", "nan", "0", "inf"])
def test_worker_tick_must_be_positive_seconds(db, tick):
    result = run("worker", "--until-idle", "--tick", tick)
    assert result.exit_code == 2
    assert "--tick" in result.output


def test_manage_unknown_command_is_a_usage_error(db):
    result = CliRunner().invoke(cli, ["manage", "bogus"])
    assert result.exit_code == 2
    assert "unknown command 'bogus'" in result.output


# --- 6. invoices show --------------------------------------------------------------------------


def test_show_prints_the_vat_breakdown_the_french_way(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    result = run("invoices", "show", inv.number)
    assert result.exit_code == 0
    assert "VAT S 20\xa0% on 100,00\xa0€: 20,00\xa0€" in result.output


def test_a_credit_note_shows_no_balance(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    note = credit_note_create(inv, actor=SYS)
    rows = {r["number"]: r for r in json.loads(run("invoices", "list", "--json").output)}
    assert rows[note.number]["balance"] is None and rows[note.number]["settlement"] is None
    assert rows[inv.number]["balance"] == "0.00"
    first_line = run("invoices", "show", note.number).output.splitlines()[0]
    assert first_line.rstrip().endswith("120,00\xa0€")  # the total, then no balance
    assert first_line.count("120,00") == 1  # before the fix, a balance of 120,00 € followed


# --- 7. misleading errors --------------------------------------------------------------------


def test_crediting_a_credit_note_says_so(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    note = credit_note_create(inv, actor=SYS)
    result = run("invoices", "credit", note.number)
    assert result.exit_code == 2
    assert "a credit note cannot be credited" in result.output
    assert Invoice.objects.filter(doc_type="credit_note").count() == 1


def test_mailbox_message_not_found_names_the_mailbox(company):
    result = run("mail", "show", "99999", "--mailbox")
    assert result.exit_code == 2
    assert "no message 99999 in the local mailbox" in result.output


def test_reminder_before_the_due_date_says_not_due_yet(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    result = run("reminders", "send", inv.number)
    assert result.exit_code == 0, result.output
    assert "not due yet (due on" in result.output
    assert "0 days late" not in result.output


# --- 8. English, with the field named --------------------------------------------------------


def test_the_cli_speaks_english_and_restores_the_language(make_draft):
    inv = invoice_issue(make_draft(), actor=SYS)
    before = translation.get_language()
    result = run("invoices", "show", inv.number)
    assert "Email: sent once the worker has archived the PDF." in result.output
    assert "E-mail" not in result.output  # the French catalog's wording
    assert translation.get_language() == before


def test_policy_load_names_the_field_of_a_wrong_type(company, tmp_path):
    shown = run("reminders", "policy", "--json")
    levels = json.loads(shown.output)
    before = [(lv["level"], lv["enabled"]) for lv in levels]
    levels[0]["enabled"] = "no"
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(levels), encoding="utf-8")
    result = run("reminders", "policy", "load", str(path))
    assert result.exit_code == 2
    assert "level #1: 'enabled' must be true or false, not \"no\"" in result.output
    after = list(ReminderLevel.objects.filter(company=company).order_by("level"))
    assert [(lv.level, lv.enabled) for lv in after] == before


# --- 9. subscriptions create: no option silently ignored --------------------------------------


def test_subscription_create_semi_monthly_days_via_the_preset(customer):
    result = run(
        "subscriptions", "create", "--customer", customer.code, "--name", "X",
        "--start", "05/12/2026", "--line", "X;1;10", "--preset", "semi_monthly",
        "--days", "5,20", "--days-before", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sub = Subscription.objects.get()
    assert (sub.semi_monthly_day1, sub.semi_monthly_day2, sub.days_before) == (5, 20, 2)
    assert Decimal(sub.lines.get().unit_price) == Decimal(10)


# --- 10. dates outside what anyone may give (security issue 10) ------------------------------


def _state():
    from facturier.billing.models import AuditEvent, BillingRun, Reminder, SubscriptionPause
    from facturier.billing.models.subscription import UsageRecord

    return [m.objects.count() for m in (Payment, Reminder, BillingRun, SubscriptionPause,
                                        UsageRecord, AuditEvent, Invoice)]  # fmt: skip


@pytest.mark.parametrize("day", ["01/01/0001", "31/12/9999"])
def test_a_date_outside_the_calendar_anyone_uses_is_an_error(make_draft, customer, day):
    """`forecast --as-of 01/01/0001` and `reminders run --as-of 01/01/0001` ended in an
    OverflowError traceback; the other date options accepted the year 1 silently."""
    from facturier.billing import clock
    from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create

    inv = invoice_issue(make_draft(), actor=SYS)
    today = clock.company_today(customer.company)
    sub = subscription_create(
        customer=customer, name="Cloud", actor=SYS, frequency_unit="month", anchor=today,
        lines=[SubscriptionLineData(description="Go", unit_price=Decimal(1), mode="metered")],
    )  # fmt: skip
    before = _state()
    refused = [
        ["forecast", "--as-of", day],
        ["reminders", "run", "--dry-run", "--as-of", day],
        ["reminders", "run", "--as-of", day],
        ["billing", "run", "--as-of", day],
        ["billing", "run", "--dry-run", "--as-of", day],
        ["payments", "record", "--customer", customer.code, "--amount", "10", "--date", day],
        ["subscriptions", "create", "--customer", customer.code, "--name", "X", "--start", day,
         "--line", "X;1;10"],
    ]  # fmt: skip
    if day.endswith("0001"):
        refused += [
            ["subscriptions", "pause", str(sub.pk), "--from", day],
            ["subscriptions", "usage", str(sub.pk), "--date", day, "--quantity", "2", "--key", "k"],
            ["payments", "record", "--customer", customer.code, "--amount", "10", "--date", day,
             "--invoice", inv.number],
        ]  # fmt: skip
    for args in refused:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("Error: "), (args, result.output)
        assert "Traceback" not in result.output, args
        assert result.exception is None or isinstance(result.exception, SystemExit), args
    assert _state() == before
    inv.refresh_from_db()
    assert inv.settlement == "open"
    forecast = CliRunner().invoke(cli, ["forecast", "--as-of", "01/01/0001"])
    assert "as_of: 01/01/0001 is too far in the past: give a date from" in forecast.output


# --- the data folder, wherever the command is typed ---------------------------------------


def test_a_command_from_another_folder_finds_the_checkouts_data(tmp_path, monkeypatch):
    from pathlib import Path

    from facturier import paths

    monkeypatch.delenv("FACTURIER_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    checkout = Path(paths.__file__).resolve().parent.parent.parent
    assert paths.data_dir() == checkout / "var"


def test_no_database_is_an_error_and_creates_nothing(tmp_path):
    """`facturier mail list` run from another folder created ./var there and printed a
    traceback: it now says where it looked and how to set up, and writes nothing."""
    import os
    import subprocess
    import sys

    data, cwd = tmp_path / "data", tmp_path / "elsewhere"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FACTURIER_DATA_DIR"] = str(data)
    done = subprocess.run(
        [sys.executable, "-m", "facturier", "mail", "list"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"Error: no Facturier database in {data}: run `make setup`" in done.stderr
    assert "Traceback" not in done.stderr
    assert not data.exists() and list(cwd.iterdir()) == []
