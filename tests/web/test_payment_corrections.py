"""Correcting payments from the pages: reverse (once, with a reason), move to another invoice,
use or refund the customer's credit; the statement and the payments list show it all; who
may; refusals change nothing. And the customer form's warning about duplicates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from facturier.billing.models import (
    Customer,
    Invoice,
    Payment,
    PaymentAllocation,
    PaymentReversal,
    Refund,
)
from facturier.billing.selectors import customer_balance, customer_credit
from facturier.billing.services import (
    credit_refund,
    invoice_issue,
    payment_record,
    payment_reverse,
)
from tests.actors import SYS
from tests.web._billing import stranger_client
from tests.web.test_customers import FORM as CUSTOMER_FORM

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def paid(make_draft: Any, customer: Customer) -> tuple[Payment, Invoice, Invoice]:
    """A payment of 150.00: 120.00 on the first invoice, 30.00 on the second."""
    a, b = (invoice_issue(make_draft(), actor=SYS) for _ in range(2))
    payment = payment_record(customer=customer, amount=D("150"), received_on=date(2026, 11, 20),
                             method="cheque", reference="CHQ 9", actor=SYS)  # fmt: skip
    return payment, a, b


def ledger() -> tuple[Any, ...]:
    return (
        list(PaymentAllocation.objects.values_list("invoice_id", "amount")),
        PaymentReversal.objects.count(),
        list(Refund.objects.values_list("amount", flat=True)),
    )


def test_reverse_from_the_payment_page(owner_client: Client, paid: Any) -> None:
    payment, a, b = paid
    page = owner_client.get(reverse("web:payment", args=[payment.pk])).content.decode()
    assert "Reverse the payment" in page and "Move" in page
    url = reverse("web:payment_reverse", args=[payment.pk])
    data = {"reverse-reversed_on": "2026-11-28", "reverse-reason": "Chèque impayé"}
    response = owner_client.post(url, data, follow=True)
    assert response.redirect_chain == [(reverse("web:payment", args=[payment.pk]), 302)]
    html = response.content.decode()
    assert "Payment reversed: the invoices it settled are to be paid again." in html
    assert "Reversed on 28 Nov 2026 by olivia: Chèque impayé." in html
    assert "Reverse the payment" not in html  # no button any more
    assert f"Released from {a.number}" in html and f"Released from {b.number}" in html
    a.refresh_from_db()
    assert a.settlement == "open"
    before = ledger()
    again = owner_client.post(url, data, follow=True)
    assert "This payment was already reversed on 28 Nov 2026 (Chèque impayé)" in (
        again.content.decode()
    )
    assert ledger() == before
    listed = owner_client.get(reverse("web:payments")).content.decode()
    assert "reversed on 28 Nov 2026" in listed


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reverse-reversed_on": "2026-11-28", "reverse-reason": ""}, "reverse-reason"),
        ({"reverse-reversed_on": "2026-11-29", "reverse-reason": "x"}, "reverse-reversed_on"),
        ({"reverse-reversed_on": "2026-11-19", "reverse-reason": "x"}, "reverse-reversed_on"),
    ],
)
def test_reverse_refusals_next_to_the_field(
    owner_client: Client, paid: Any, data: dict[str, str], field: str
) -> None:
    payment = paid[0]
    before = ledger()
    response = owner_client.post(reverse("web:payment_reverse", args=[payment.pk]), data)
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.content.decode()
    assert ledger() == before


@pytest.mark.parametrize("role_client", ["readonly", "sales"], indirect=True)
def test_only_those_who_record_payments_correct_them(
    role_client: Client, paid: Any, customer: Customer
) -> None:
    payment, a, b = paid
    page = role_client.get(reverse("web:payment", args=[payment.pk])).content.decode()
    assert "Reverse the payment" not in page
    assert (
        "Refund the credit"
        not in role_client.get(reverse("web:customer", args=[customer.pk])).content.decode()
    )
    before = ledger()
    posts = [
        (reverse("web:payment_reverse", args=[payment.pk]),
         {"reverse-reversed_on": "2026-11-28", "reverse-reason": "x"}),
        (reverse("web:payment_reallocate", args=[payment.pk]),
         {"move-source": a.pk, "move-amount": "1", "move-target": b.pk}),
        (reverse("web:refund_new"), {"customer": customer.pk, "amount": "1",
                                     "refunded_on": "2026-11-28", "method": "cash"}),
        (reverse("web:customer_use_credit", args=[customer.pk]),
         {"credit-invoice": b.pk, "credit-amount": "1"}),
    ]  # fmt: skip
    for url, data in posts:
        assert role_client.post(url, data).status_code == 403
    assert ledger() == before


def test_another_companys_payment_is_not_found(paid: Any) -> None:
    payment = paid[0]
    stranger = stranger_client()
    url = reverse("web:payment_reverse", args=[payment.pk])
    data = {"reverse-reversed_on": "2026-11-28", "reverse-reason": "x"}
    assert stranger.post(url, data).status_code == 404
    assert not PaymentReversal.objects.exists()


def test_move_part_of_a_payment(owner_client: Client, paid: Any) -> None:
    payment, a, b = paid
    url = reverse("web:payment_reallocate", args=[payment.pk])
    too_much = owner_client.post(url, {"move-source": a.pk, "move-amount": "120,01"})
    assert too_much.status_code == 200
    assert 'id="id_move-amount_error"' in too_much.content.decode()
    assert "this payment settles €120.00 of" in too_much.content.decode()
    response = owner_client.post(
        url, {"move-source": a.pk, "move-amount": "50", "move-target": b.pk}
    )
    assert response.status_code == 302
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.balance, b.balance) == (D("50.00"), D("40.00"))
    # Released to the account: the customer's credit.
    owner_client.post(url, {"move-source": b.pk, "move-amount": "20", "move-target": ""})
    assert customer_credit(a.customer) == D("20.00")


def test_use_then_refund_the_credit(
    owner_client: Client, customer: Customer, make_draft: Any
) -> None:
    payment_record(customer=customer, amount=D("100"), received_on=TODAY, method="transfer",
                   actor=SYS)  # fmt: skip
    invoice = invoice_issue(make_draft(), actor=SYS)
    page = owner_client.get(reverse("web:customer", args=[customer.pk])).content.decode()
    assert "Settle an invoice with the credit" in page and "Refund the credit" in page
    url = reverse("web:customer_use_credit", args=[customer.pk])
    response = owner_client.post(url, {"credit-invoice": invoice.pk, "credit-amount": "60"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert (invoice.balance, customer_credit(customer)) == (D("60.00"), D("40.00"))
    form = owner_client.get(f"{reverse('web:refund_new')}?customer={customer.pk}")
    assert 'value="40.00"' in form.content.decode()  # the credit, proposed
    data = {"customer": customer.pk, "amount": "40,01", "refunded_on": "2026-11-28",
            "method": "transfer", "reference": "VIR REMB"}  # fmt: skip
    refused = owner_client.post(reverse("web:refund_new"), data)
    assert refused.status_code == 200 and 'id="id_amount_error"' in refused.content.decode()
    assert "more than the customer&#x27;s credit (€40.00)" in refused.content.decode()
    assert not Refund.objects.exists()
    done = owner_client.post(reverse("web:refund_new"), {**data, "amount": "40"}, follow=True)
    assert done.redirect_chain == [(reverse("web:customer", args=[customer.pk]), 302)]
    html = done.content.decode()
    assert "Refund of €40.00 to Boulangerie Martin recorded." in html
    assert "-€40.00" in html  # in the customer's refunds
    assert customer_credit(customer) == 0
    listed = owner_client.get(reverse("web:payments"))
    assert listed.context["totals"]["refunded"] == D("40.00")
    assert "VIR REMB" in listed.content.decode()


def test_the_statement_ends_on_the_balance(
    owner_client: Client, customer: Customer, paid: Any
) -> None:
    payment = paid[0]
    payment_reverse(payment, reversed_on=TODAY, reason="Rejet", actor=SYS)
    payment_record(customer=customer, amount=D("300"), received_on=TODAY, method="transfer",
                   actor=SYS)  # fmt: skip
    credit_refund(customer=customer, amount=D("50"), refunded_on=TODAY, method="cheque",
                  reference="CHQ R", actor=SYS)  # fmt: skip
    response = owner_client.get(reverse("web:customer_statement", args=[customer.pk]))
    movements = response.context["movements"]
    assert [(m.kind, m.debit, m.credit, m.balance) for m in movements] == [
        ("payment", D(0), D("150.00"), D("-150.00")),  # 20/11
        ("invoice", D("120.00"), D(0), D("-30.00")),  # 28/11: issued today
        ("invoice", D("120.00"), D(0), D("90.00")),
        ("payment", D(0), D("300.00"), D("-210.00")),
        ("reversal", D("150.00"), D(0), D("-60.00")),
        ("refund", D("50.00"), D(0), D("-10.00")),
    ]
    assert movements[-1].balance == customer_balance(customer)
    html = response.content.decode()
    assert "Payment reversed" in html and "Rejet" in html and "CHQ R" in html


# -- the customer form warns of duplicates ---------------------------------------------------


def test_a_customer_that_exists_is_flagged_before_saving(
    owner_client: Client, customer: Customer
) -> None:
    data = {**CUSTOMER_FORM, "legal_name": "Boulangerie Martin (bis)", "siren": "443 061 841"}
    response = owner_client.post("/customers/new/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "This customer may already exist:" in html
    assert f'<a href="/customers/{customer.pk}/">Boulangerie Martin</a> ({customer.code})' in html
    assert "same SIREN 443061841" in html
    assert 'name="allow_duplicate"' in html
    assert Customer.objects.count() == 1
    response = owner_client.post("/customers/new/", {**data, "allow_duplicate": "on"})
    assert response.status_code == 302
    assert Customer.objects.filter(siren="443061841").count() == 2


def test_the_company_itself_is_flagged(owner_client: Client, company: Any) -> None:
    data = {**CUSTOMER_FORM, "siren": "732829320", "billing_emails": "compta@example.com"}
    html = owner_client.post("/customers/new/", data).content.decode()
    assert "your own company: same SIREN 732829320" in html
    assert "your own company: same billing email compta@example.com" in html
    assert not Customer.objects.exists()


def test_editing_checks_only_a_changed_identity(
    owner_client: Client, customer: Customer, company: Any
) -> None:
    from facturier.billing.services import customer_create

    twin = customer_create(
        company=company, kind="business", legal_name="Twin", siren="443061841",
        address_line1="1 rue", postcode="69001", city="Lyon", billing_emails=["t@twin.example"],
    )  # fmt: skip
    url = f"/customers/{twin.pk}/edit/"
    same = {**CUSTOMER_FORM, "legal_name": "Twin SA", "siren": "443061841", "code": twin.code,
            "billing_emails": "t@twin.example"}  # fmt: skip
    assert owner_client.post(url, same).status_code == 302  # an old duplicate, left alone
    changed = {**same, "billing_emails": "compta@boulangerie.example"}
    response = owner_client.post(url, changed)
    assert response.status_code == 200
    assert "same billing email compta@boulangerie.example" in response.content.decode()
    twin.refresh_from_db()
    assert twin.billing_emails == ["t@twin.example"]


def test_the_payments_export_has_the_reversal_and_the_refund(
    owner_client: Client, customer: Customer, paid: Any
) -> None:
    payment_reverse(paid[0], reversed_on=TODAY, reason="Rejet", actor=SYS)
    payment_record(customer=customer, amount=D("40"), received_on=TODAY, method="cash",
                   allocations=[], actor=SYS)  # fmt: skip
    credit_refund(customer=customer, amount=D("15"), refunded_on=TODAY, method="cash",
                  actor=SYS)  # fmt: skip
    response = owner_client.get(reverse("web:export_payments"), {"start": "2026-11-01"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    lines = text.strip().splitlines()
    assert lines[0].endswith(";Écriture;Note")
    assert any(";-150,00;0,00;-150,00;;t;contre-passation;Rejet" in line for line in lines)
    assert any(";-15,00;0,00;-15,00;;t;remboursement;" in line for line in lines)


def test_the_new_pages_in_french(owner_client: Client, customer: Customer, paid: Any) -> None:
    payment = paid[0]
    fr = {"HTTP_ACCEPT_LANGUAGE": "fr"}
    page = owner_client.get(reverse("web:payment", args=[payment.pk]), **fr).content.decode()
    assert "Annuler ce paiement" in page and "Déplacer vers une autre facture" in page
    statement = owner_client.get(reverse("web:customer_statement", args=[customer.pk]), **fr)
    assert "Relevé de compte de Boulangerie Martin" in statement.content.decode()
    payment_reverse(payment, reversed_on=TODAY, reason="Rejet", actor=SYS)
    page = owner_client.get(reverse("web:payment", args=[payment.pk]), **fr).content.decode()
    assert "Annulé le 28/11/2026 par t : Rejet." in page


def test_a_duplicate_the_sales_rep_may_not_see_is_not_named(
    sales_client: Client, sales: Any, customer: Customer, company: Any
) -> None:
    from tests.web._billing import other_customer, restrict_sales

    mine = other_customer(company)
    restrict_sales(company, own=mine, sales=sales)
    data = {**CUSTOMER_FORM, "siren": "443061841", "sales_rep": str(sales.pk)}
    html = sales_client.post("/customers/new/", data).content.decode()
    assert "a customer in another sales rep's portfolio: same SIREN 443061841" in html
    assert "Boulangerie Martin" not in html and f"/customers/{customer.pk}/" not in html
    assert Customer.objects.count() == 2
