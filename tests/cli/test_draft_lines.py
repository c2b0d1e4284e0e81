"""`facturier invoices show ID` and `set-line`: a draft's lines changed before it is issued
(the quantity of a line to confirm, say); refusals exit 2 and change nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from click.testing import CliRunner

from facturier.billing.services import LineData, invoice_issue
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from tests.actors import SYS


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_show_a_draft_and_change_a_line(make_draft):
    draft = make_draft([LineData(description=d, quantity=D(1), unit_price=D(10)) for d in "ab"])
    shown = run("invoices", "show", str(draft.pk))
    assert shown.exit_code == 0 and " 2.        1 ×" in shown.output
    result = run("invoices", "set-line", str(draft.pk), "2", "--quantity", "4,5",
                 "--price", "20", "--description", "Heures de novembre")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "120,00" in result.output  # (10 + 4.5 × 20) × 1.2
    draft.refresh_from_db()
    line = draft.lines.get(position=2)
    assert (line.quantity, line.unit_price, line.description) == (
        D("4.5"),
        D(20),
        "Heures de novembre",
    )
    assert draft.total_net == D(100) and draft.status == "draft"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["3", "--quantity", "2"], "has 2 line(s), not 3"),
        (["1"], "give --quantity, --price or --description"),
        (["1", "--quantity", "beaucoup"], "not an amount"),
        (["0", "--quantity", "1"], "0 is not in the range"),
    ],
)
def test_refusals_exit_2_and_change_nothing(make_draft, args, message):
    draft = make_draft([LineData(description=d, quantity=D(1), unit_price=D(10)) for d in "ab"])
    result = run("invoices", "set-line", str(draft.pk), *args)
    assert result.exit_code == 2 and message in result.output, result.output
    draft.refresh_from_db()
    assert draft.total_net == D(20)


def test_an_issued_invoice_never_changes(make_draft):
    issued = invoice_issue(make_draft(), actor=SYS)
    result = run("invoices", "set-line", str(issued.pk), "1", "--quantity", "9")
    assert result.exit_code == 2 and "already issued" in result.output
    assert run("invoices", "show", "999").exit_code == 2
    missing = run("invoices", "set-line", "999", "1", "--quantity", "1")
    assert missing.exit_code == 2 and "no draft with id 999" in missing.output


def test_confirm_refuses_a_placeholder_quantity_unless_as_is(customer, company):
    from datetime import date

    from facturier.billing.models import Invoice
    from facturier.billing.services.billing_run import billing_run
    from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create

    subscription_create(
        customer=customer, name="Maintenance", actor=SYS, frequency_unit="month",
        anchor=date.today(),
        lines=[SubscriptionLineData(description="Heures", quantity=D(0), unit_price=D(80),
                                    mode="to_confirm")],
    )  # fmt: skip
    billing_run(company=company)
    draft = Invoice.objects.get(status="draft")
    shown = run("invoices", "show", str(draft.pk))
    assert "(quantity to confirm)" in shown.output
    refused = run("invoices", "confirm", str(draft.pk))
    assert refused.exit_code == 2
    assert "still has the quantity to confirm (0)" in refused.output
    assert f"facturier invoices set-line {draft.pk} 1 --quantity Q`, or add --as-is" in (
        refused.output
    )
    assert run("invoices", "issue", str(draft.pk)).exit_code == 2
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert run("invoices", "confirm", str(draft.pk), "--as-is").exit_code == 0
    draft.refresh_from_db()
    assert (draft.status, draft.total_net) == ("issued", D(0))


def test_set_line_gives_the_quantity_then_confirm_issues(customer, company):
    from datetime import date

    from facturier.billing.models import Invoice
    from facturier.billing.services.billing_run import billing_run
    from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create

    subscription_create(
        customer=customer, name="Maintenance", actor=SYS, frequency_unit="month",
        anchor=date.today(),
        lines=[SubscriptionLineData(description="Heures", quantity=D(0), unit_price=D(80),
                                    mode="to_confirm")],
    )  # fmt: skip
    billing_run(company=company)
    draft = Invoice.objects.get(status="draft")
    assert run("invoices", "set-line", str(draft.pk), "1", "--quantity", "3").exit_code == 0
    result = run("invoices", "confirm", str(draft.pk))
    assert result.exit_code == 0, result.output
    draft.refresh_from_db()
    assert (draft.status, draft.total_net) == ("issued", D(240))
