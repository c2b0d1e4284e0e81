"""Payment pages: list with filters and totals, recording a payment, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.models import Payment, PaymentAllocation
from facturier.billing.selectors import customer_credit
from facturier.billing.services import invoice_issue, payment_record
from tests.actors import SYS
from tests.web._billing import other_customer, restrict_sales, stranger_client

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _form(customer, **overrides):
    data = {"customer": str(customer.pk), "amount": "150,00", "received_on": "2026-11-27",
            "method": "transfer", "reference": "VIR 123"}  # fmt: skip
    data.update(overrides)
    return data


def test_record_a_payment_oldest_invoices_first(accountant_client, make_draft, customer):
    a = invoice_issue(make_draft(), actor=SYS)
    b = invoice_issue(make_draft(), actor=SYS)
    response = accountant_client.post(reverse("web:payment_new"), _form(customer))
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.reference, payment.recorded_by) == (D(150), "VIR 123", "alex")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.settlement, b.settlement, b.balance) == ("paid", "partial", D("90.00"))


def test_pay_one_invoice_from_its_page(owner_client, make_draft, customer):
    a = invoice_issue(make_draft(), actor=SYS)
    b = invoice_issue(make_draft(), actor=SYS)
    url = f"{reverse('web:payment_new')}?invoice={b.pk}"
    page = owner_client.get(url).content.decode()
    assert 'value="120.00"' in page  # the balance, proposed
    response = owner_client.post(reverse("web:payment_new"),
                                 _form(customer, amount="130", invoice=str(b.pk)))  # fmt: skip
    assert response["Location"] == reverse("web:invoice", args=[b.pk])
    b.refresh_from_db()
    a.refresh_from_db()
    assert b.settlement == "paid" and a.settlement == "open"
    assert customer_credit(customer) == D("10.00")  # the rest stays on account


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "12,3456"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"received_on": ""}, "received_on"),
        ({"method": "bitcoin"}, "method"),
        ({"customer": ""}, "customer"),
    ],
)
def test_errors_next_to_the_field_and_nothing_recorded(owner_client, customer, overrides, field):
    response = owner_client.post(reverse("web:payment_new"), {**_form(customer), **overrides})
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Payment.objects.exists()


def test_list_filters_and_totals(owner_client, make_draft, customer, company):
    invoice = invoice_issue(make_draft(), actor=SYS)
    payment_record(customer=customer, amount=D("100.00"), received_on=date(2026, 11, 2),
                   method="transfer", reference="VIR A", actor=SYS)  # fmt: skip
    payment_record(customer=customer, amount=D("5.00"), received_on=date(2026, 10, 2),
                   method="cheque", reference="CHQ B", actor=SYS)  # fmt: skip
    response = owner_client.get(reverse("web:payments"), HTTP_ACCEPT_LANGUAGE="fr")
    page = response.content.decode()
    assert response.context["totals"] == {
        "count": 2, "amount": D("105.00"), "reversed": D(0), "refunded": D(0),
    }  # fmt: skip
    assert "105,00\u00a0€" in page and invoice.number in page and "02/11/2026" in page
    response = owner_client.get(reverse("web:payments"), {"method": "cheque"})
    assert response.context["totals"]["amount"] == D("5.00")
    response = owner_client.get(reverse("web:payments"), {"start": "2026-11-01"})
    assert response.context["totals"]["count"] == 1
    response = owner_client.get(reverse("web:payments"), {"q": "CHQ"})
    assert "CHQ B" in response.content.decode() and "VIR A" not in response.content.decode()


@pytest.mark.parametrize("role_client", ["readonly", "sales"], indirect=True)
def test_only_owner_and_accountant_record(role_client, customer, make_draft):
    invoice = invoice_issue(make_draft(), actor=SYS)
    assert role_client.get(reverse("web:payments")).status_code == 200
    page = role_client.get(reverse("web:invoice", args=[invoice.pk])).content.decode()
    assert reverse("web:payment_new") not in page
    assert role_client.get(reverse("web:payment_new")).status_code == 403
    response = role_client.post(reverse("web:payment_new"), _form(customer))
    assert response.status_code == 403
    assert not Payment.objects.exists() and not PaymentAllocation.objects.exists()


def test_hidden_customers_and_other_companies(sales_client, sales, customer, company):
    other = other_customer(company)
    payment_record(customer=other, amount=D("7.00"), received_on=date(2026, 11, 2),
                   method="cash", actor=SYS)  # fmt: skip
    restrict_sales(company, own=customer, sales=sales)
    assert sales_client.get(reverse("web:payments")).context["totals"]["count"] == 0
    stranger = stranger_client()
    assert stranger.get(reverse("web:payments")).context["totals"]["count"] == 0
    # Another company's customer cannot be paid from this company's form.
    response = stranger.post(reverse("web:payment_new"), _form(customer))
    assert response.status_code == 200 and 'id="id_customer_error"' in response.content.decode()
    assert Payment.objects.count() == 1


def test_detail_and_allocating_the_rest(owner_client, make_draft, customer):
    payment = payment_record(customer=customer, amount=D("200.00"), received_on=date(2026, 11, 2),
                             method="transfer", actor=SYS)  # fmt: skip
    invoice = invoice_issue(make_draft(), actor=SYS)  # issued after: the payment is on account
    url = reverse("web:payment", args=[payment.pk])
    page = owner_client.get(url).content.decode()
    assert "€200.00" in page and invoice.number in page  # offered for allocation
    response = owner_client.post(url, {"invoice": invoice.pk, "amount": "500"})
    assert response.status_code == 200 and 'id="id_amount_error"' in response.content.decode()
    assert not PaymentAllocation.objects.exists()
    response = owner_client.post(url, {"invoice": invoice.pk, "amount": "120"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.settlement == "paid" and customer_credit(customer) == D("80.00")


@pytest.mark.parametrize("role_client", ["readonly", "sales"], indirect=True)
def test_allocating_refused_changes_nothing(role_client, make_draft, customer):
    payment = payment_record(customer=customer, amount=D("200.00"), received_on=date(2026, 11, 2),
                             method="transfer", actor=SYS)  # fmt: skip
    invoice = invoice_issue(make_draft(), actor=SYS)
    url = reverse("web:payment", args=[payment.pk])
    assert role_client.get(url).status_code == 200
    response = role_client.post(url, {"invoice": invoice.pk, "amount": "120"})
    assert response.status_code == 403
    assert not PaymentAllocation.objects.exists()


def test_payment_of_another_company_is_not_found(customer):
    payment = payment_record(customer=customer, amount=D("1.00"), received_on=date(2026, 11, 2),
                             method="cash", actor=SYS)  # fmt: skip
    assert stranger_client().get(reverse("web:payment", args=[payment.pk])).status_code == 404


def test_pages_in_french(owner_client, customer, make_draft):
    invoice = invoice_issue(make_draft(), actor=SYS)
    payment = payment_record(
        customer=customer, amount=D("1234.50"), received_on=date(2026, 11, 2), method="cash",
        allocations=[], actor=SYS,
    )  # fmt: skip
    for url in (reverse("web:payment_new"), f"{reverse('web:payment_new')}?invoice={invoice.pk}",
                reverse("web:payment", args=[payment.pk])):  # fmt: skip
        response = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 200
    page = owner_client.get(reverse("web:payment", args=[payment.pk]),
                            HTTP_ACCEPT_LANGUAGE="fr").content.decode()  # fmt: skip
    assert "1\u00a0234,50\u00a0€" in page and "02/11/2026" in page
