"""`facturier payments reverse | reallocate | refund | show | list`: what they print, and
refusals that exit 2 with `Error:` and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner

from facturier.billing.models import Invoice, PaymentAllocation, PaymentReversal, Refund
from facturier.billing.selectors import customer_credit
from facturier.billing.services import invoice_issue, payment_record
from facturier.cli import commands  # noqa: F401  (registers the commands)
from facturier.cli.main import cli
from tests.actors import SYS

D = Decimal
TODAY = date(2026, 11, 28)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(datetime(2026, 11, 28, 10, tzinfo=UTC), tick=False):
        yield


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def invoices(make_draft: Any) -> list[Invoice]:
    return [invoice_issue(make_draft(), actor=SYS) for _ in range(2)]  # 120.00 each


def state() -> tuple[Any, ...]:
    return (
        list(PaymentAllocation.objects.values_list("invoice_id", "amount")),
        PaymentReversal.objects.count(),
        list(Refund.objects.values_list("amount", flat=True)),
    )


@pytest.mark.parametrize("name", ["reverse", "reallocate", "refund", "show"])
def test_help(db: Any, name: str) -> None:
    result = run("payments", name, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_reverse_then_refused_twice(customer: Any, invoices: list[Invoice]) -> None:
    a, _b = invoices
    payment = payment_record(customer=customer, amount=D("150"), received_on=TODAY,
                             method="cheque", allocations=[(a, D("120"))], actor=SYS)  # fmt: skip
    result = run("payments", "reverse", str(payment.pk), "--reason", "Chèque impayé")
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Reversed payment #{payment.pk} of 150,00\xa0€ on 28/11/2026.\n"
        f"  {a.number}: open again, balance 120,00\xa0€\n"
        "Customer credit: 0,00\xa0€\n"
    )
    before = state()
    again = run("payments", "reverse", str(payment.pk), "--reason", "encore")
    assert again.exit_code == 2
    assert "Error: This payment was already reversed on 28 Nov 2026 (Chèque impayé)" in again.output
    assert state() == before
    listed = run("payments", "list").output
    assert f"#{payment.pk}" in listed and "REVERSED on 28/11/2026: Chèque impayé" in listed
    shown = run("payments", "show", str(payment.pk)).output
    assert f"settles {a.number}: 120,00\xa0€" in shown
    assert f"releases {a.number}: 120,00\xa0€ (reversal: Chèque impayé)" in shown
    assert "REVERSED on 28/11/2026 by cli:" in shown and "On account: 0,00\xa0€" in shown


def test_reallocate_from_one_invoice_to_another(customer: Any, invoices: list[Invoice]) -> None:
    a, b = invoices
    payment = payment_record(customer=customer, amount=D("120"), received_on=TODAY,
                             method="transfer", allocations=[(a, D("120"))], actor=SYS)  # fmt: skip
    result = run("payments", "reallocate", str(payment.pk), "--from", a.number, "--to",
                 b.number, "--amount", "50")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Payment #{payment.pk} re-allocated.\n"
        f"  {a.number}: -50,00\xa0€ → balance 50,00\xa0€ (partial)\n"
        f"  {b.number}: +50,00\xa0€ → balance 70,00\xa0€ (partial)\n"
    )


def test_refund_the_credit(customer: Any) -> None:
    payment_record(customer=customer, amount=D("80"), received_on=TODAY, method="transfer",
                   actor=SYS)  # fmt: skip
    result = run("payments", "refund", "--customer", customer.code, "--amount", "30",
                 "--method", "cheque", "--reference", "CHQ 77")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Refunded 30,00\xa0€ to Boulangerie Martin on 28/11/2026.\nCustomer credit: 50,00\xa0€\n"
    )
    assert customer_credit(customer) == D("50.00")
    assert "refund  28/11/2026 Boulangerie Martin" in run("payments", "list").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reverse", "999", "--reason", "x"], "no payment #999"),
        (["reverse", "{p}", "--reason", " "], "say why the payment is reversed"),
        (["reverse", "{p}", "--reason", "x", "--date", "29/11/2026"], "cannot be in the future"),
        (["reverse", "{p}"], "Missing option '--reason'"),
        (["reallocate", "{p}"], "give --from and/or --to"),
        (["reallocate", "{p}", "--from", "{a}"], "give {a}=AMOUNT or --amount"),
        (["reallocate", "{p}", "--from", "F-NOPE", "--amount", "1"], "no invoice numbered"),
        (["reallocate", "{p}", "--from", "{a}=130", "--to", "{b}=130"], "cannot be released"),
        (["reallocate", "{p}", "--to", "{b}=0,01"], "exceed the amount"),
        (["refund", "--customer", "{c}", "--amount", "0,01"], "more than the customer's credit"),
        (["refund", "--customer", "{c}", "--amount", "1", "--method", "direct_debit"],
         "'direct_debit' is not one of"),
        (["refund", "--customer", "NOPE", "--amount", "1"], "no customer"),
    ],
)  # fmt: skip
def test_refusals_exit_2_and_change_nothing(
    customer: Any, invoices: list[Invoice], args: list[str], message: str
) -> None:
    a, b = invoices
    payment = payment_record(customer=customer, amount=D("120"), received_on=TODAY,
                             method="transfer", allocations=[(a, D("120"))], actor=SYS)  # fmt: skip
    names = {"p": str(payment.pk), "a": a.number, "b": b.number, "c": customer.code}
    before = state()
    result = run("payments", *[arg.format(**names) for arg in args])
    assert result.exit_code == 2
    assert message.format(**names) in result.output
    assert "Traceback" not in result.output
    assert state() == before
