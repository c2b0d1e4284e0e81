"""`facturier subscriptions edit`: header, end rule and lines from a date through the one
edit service; refusals exit 2 with the field at fault and change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from click.testing import CliRunner

from facturier.billing.models import AuditEvent, Invoice, Subscription, SubscriptionLine
from facturier.billing.services import user_create
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from tests.actors import SYS


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 9, tzinfo=UTC), tick=False)


@pytest.fixture
def sub(customer):
    with at(date(2026, 1, 1)):
        made = subscription_create(
            customer=customer, name="Hébergement", actor=SYS, frequency_unit="month",
            anchor=date(2026, 1, 1),
            lines=[SubscriptionLineData(description="Hébergement", unit_price=D("100.00"))],
        )  # fmt: skip
        billing_run()
    return made


def test_edit_header_end_and_lines(sub, company):
    user_create(company=company, username="sam", password="Ut7!long-enough-pass", role="sales",
                email="sam@example.com")  # fmt: skip
    with at(date(2026, 1, 20)):
        shown = run("subscriptions", "edit", str(sub.pk), "--add-line", "Support;2;25",
                    "--from", "01/02/2026", "--preview")  # fmt: skip
        assert shown.exit_code == 0, shown.output
        assert "01/02/2026  01/02/2026 → 28/02/2026        150,00 € excl. VAT  (was 100,00 €)" in (
            shown.output.replace("\u202f", " ").replace("\u00a0", " ")
        )
        assert (
            "Nothing saved" in shown.output
            and not AuditEvent.objects.filter(action="subscription.updated").exists()
        )
        result = run(
            "subscriptions", "edit", str(sub.pk), "--name", "Hébergement Pro", "--po", "PO-7",
            "--payment-terms", "45", "--no-send", "--sales-rep", "sam", "--count", "12",
            "--add-line", "Support;2;25", "--remove-line", "1", "--from", "01/02/2026",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "next billing date 01/02/2026" in result.output
    sub.refresh_from_db()
    assert (sub.name, sub.customer_po, sub.payment_terms_days, sub.send_invoices) == (
        "Hébergement Pro", "PO-7", 45, False,
    )  # fmt: skip
    assert (sub.sales_rep.username, sub.end_kind, sub.end_count) == ("sam", "count", 12)
    lines = SubscriptionLine.objects.filter(subscription=sub).order_by("position")
    assert [(x.description, x.starts_on, x.ends_on) for x in lines] == [
        ("Hébergement", None, date(2026, 1, 31)),
        ("Support", date(2026, 2, 1), None),
    ]
    event = AuditEvent.objects.get(action="subscription.updated")
    assert sorted(event.data["changes"]) == [
        "customer_po", "end_count", "end_kind", "line 1", "line 2", "name",
        "payment_terms_days", "sales_rep", "send_invoices",
    ]  # fmt: skip
    with at(date(2026, 2, 1)):
        billing_run()
    feb = Invoice.objects.get(subscription=sub, period_start=date(2026, 2, 1))
    assert (feb.total_net, feb.customer_po) == (D("50.00"), "PO-7")


def test_change_a_price_from_a_date(sub):
    with at(date(2026, 1, 20)):
        result = run("subscriptions", "edit", str(sub.pk), "--line", "1", "--price", "120",
                     "--from", "01/03/2026")  # fmt: skip
    assert result.exit_code == 0, result.output
    with at(date(2026, 3, 1)):
        billing_run()
    totals = Invoice.objects.filter(subscription=sub).order_by("period_start")
    assert [i.total_net for i in totals] == [D("100.00"), D("100.00"), D("120.00")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--remove-line", "1", "--from", "15/01/2026"],
         "effective: the periods until 31/01/2026 are already billed"),
        (["--add-line", "Support;1;10"], "effective: give the date the lines change from"),
        (["--add-line", "Support;un;10", "--from", "01/02/2026"], "not a number"),
        (["--count", "0"], "end_count: give the number of invoices"),
        (["--count", "2", "--never"], "give one of --count, --until and --never"),
        (["--quantity", "2"], "--quantity and --price go with --line N"),
        (["--line", "1"], "--line N needs --quantity or --price"),
        (["--line", "4", "--price", "1", "--from", "01/02/2026"],
         "line[4]: the subscription has no line 4"),
        (["--sales-rep", "nobody"], "no user 'nobody' in the company"),
        (["--payment-terms", "90"], "payment_terms_days: payment terms must be 0 to 60 days"),
        (["--until", "01/01/2026", "--prorate-last"],
         "end_date: the service was billed until 31/01/2026"),
    ],
)  # fmt: skip
def test_refusals_exit_2_and_change_nothing(sub, args, message):
    before = list(Subscription.objects.filter(pk=sub.pk).values())
    lines = list(SubscriptionLine.objects.values())
    with at(date(2026, 1, 20)):
        result = run("subscriptions", "edit", str(sub.pk), *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert list(Subscription.objects.filter(pk=sub.pk).values()) == before
    assert list(SubscriptionLine.objects.values()) == lines
    assert not AuditEvent.objects.filter(action="subscription.updated").exists()
