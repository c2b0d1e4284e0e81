"""Customer pages: list, search, balance, detail, create and edit, and their refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from facturier.billing.models import Company, Customer
from facturier.billing.services import (
    company_create,
    customer_create,
    invoice_issue,
    payment_record,
)
from facturier.billing.services.actors import Actor
from facturier.billing.services.parties import company_update
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.core.money import format_amount
from tests.actors import SYS
from tests.conftest import COMPANY_FIELDS

pytestmark = pytest.mark.django_db

FORM: dict[str, Any] = {
    "kind": "business",
    "legal_name": "Garage Petit",
    "code": "",
    "siren": "552 100 554",
    "siret": "",
    "vat_number": "",
    "address_line1": "1 rue Neuve",
    "postcode": "44000",
    "city": "Nantes",
    "country": "fr",
    "billing_emails": "compta@garage.example\nboss@garage.example",
    "language": "fr",
    "payment_terms_days": "",
    "sales_rep": "",
}


def _customer(company: Company, name: str, rep: User | None = None) -> Customer:
    return customer_create(
        company=company,
        kind="consumer",
        legal_name=name,
        address_line1="1 rue A",
        postcode="75001",
        city="Paris",
        billing_emails=[f"{name.lower()}@example.org"],
        sales_rep=rep,
    )


def test_list_shows_balance_and_searches(
    owner_client: Client, customer: Customer, consumer: Customer, make_draft: Any
) -> None:
    invoice = invoice_issue(make_draft(customer=customer), actor=Actor.system("test"))
    payment_record(
        customer=customer,
        amount=Decimal("10.00"),
        received_on=invoice.issue_date,
        method="transfer",
        actor=Actor.system("test"),
    )
    invoice.refresh_from_db()
    page = owner_client.get("/customers/", HTTP_ACCEPT_LANGUAGE="fr")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Boulangerie Martin" in text and "Marie Dupont" in text
    expected = format_amount(invoice.total_gross - Decimal("10.00"))
    assert f'<td class="num">{expected}</td>' in text
    assert f'<td class="num">{format_amount(Decimal(0))}</td>' in text  # Marie owes nothing
    found = owner_client.get("/customers/", {"q": "boulang"}).content.decode()
    assert "Boulangerie Martin" in found and "Marie Dupont" not in found
    by_siren = owner_client.get("/customers/", {"q": "443 061 841"}).content.decode()
    assert "Boulangerie Martin" in by_siren


def test_htmx_search_returns_only_the_rows(owner_client: Client, customer: Customer) -> None:
    response = owner_client.get("/customers/", {"q": "martin"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content
    assert b"Boulangerie Martin" in response.content


def test_detail_lists_invoices_subscriptions_payments(
    owner_client: Client, customer: Customer, make_draft: Any
) -> None:
    invoice = invoice_issue(make_draft(customer=customer), actor=Actor.system("test"))
    response = owner_client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    assert invoice.number is not None
    assert invoice.number.encode() in response.content
    assert b"compta@boulangerie.example" in response.content


def test_detail_names_the_frequency(owner_client: Client, customer: Customer) -> None:
    subscription_create(
        customer=customer, name="Hébergement", frequency_unit="month", interval=3,
        anchor=date(2026, 12, 1), actor=SYS,
        lines=[SubscriptionLineData(description="H", unit_price=Decimal("30"))],
    )  # fmt: skip
    html = owner_client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Hébergement" in html and "Quarterly" in html


def test_identifier_errors_in_french(owner_client: Client, company: Company) -> None:
    response = owner_client.post(
        "/customers/new/", {**FORM, "siren": "552100555"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    html = response.content.decode()
    assert "Chiffres de contrôle erronés." in html and "Wrong check digits" not in html
    assert not Customer.objects.exists()


def test_create_customer_normalises_identifiers(owner_client: Client, company: Company) -> None:
    response = owner_client.post("/customers/new/", FORM)
    assert response.status_code == 302
    created = Customer.objects.get(legal_name="Garage Petit")
    assert response["Location"] == f"/customers/{created.pk}/"
    assert created.siren == "552100554"
    assert created.country == "FR"
    assert created.billing_emails == ["compta@garage.example", "boss@garage.example"]
    assert created.code.startswith("C")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("siren", "552100555", "Wrong check digits"),
        ("siret", "12345", "Wrong length"),
        ("vat_number", "XX123", "country code"),
        ("billing_emails", "not-an-email", "not a valid email"),
        ("country", "ZZ", "Unknown country"),
        ("postcode", "ABCDE", "not a postcode of FR"),
    ],
)
def test_bad_identifier_is_shown_next_to_its_field_and_nothing_is_saved(
    owner_client: Client, company: Company, field: str, value: str, message: str
) -> None:
    response = owner_client.post("/customers/new/", {**FORM, field: value})
    assert response.status_code == 200
    html = response.content.decode()
    # The error sits inside the field's own block.
    block = html.split(f'id="id_{field}"')[1].split('<div class="field')[0]
    assert message in block
    assert not Customer.objects.filter(legal_name="Garage Petit").exists()


def test_french_business_needs_a_siren(owner_client: Client, company: Company) -> None:
    response = owner_client.post("/customers/new/", {**FORM, "siren": ""})
    assert response.status_code == 200
    block = response.content.decode().split('id="id_siren"')[1].split('<div class="field')[0]
    assert "SIREN" in block
    assert not Customer.objects.filter(legal_name="Garage Petit").exists()


def test_edit_customer(owner_client: Client, customer: Customer) -> None:
    data = {
        **FORM,
        "legal_name": "Boulangerie Martin & Fils",
        "siren": "443061841",
        "code": customer.code,
        "reminders_paused": "on",
    }
    response = owner_client.post(f"/customers/{customer.pk}/edit/", data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.legal_name == "Boulangerie Martin & Fils"
    assert customer.reminders_paused is True


def test_invalid_edit_changes_nothing(owner_client: Client, customer: Customer) -> None:
    data = {**FORM, "legal_name": "Renamed", "siren": "443061841", "siret": "44306184100000"}
    response = owner_client.post(f"/customers/{customer.pk}/edit/", data)
    assert response.status_code == 200
    assert b"Boulangerie Martin" in response.content  # the heading keeps the stored name
    customer.refresh_from_db()
    assert customer.legal_name == "Boulangerie Martin"


def test_duplicate_code_is_refused(owner_client: Client, customer: Customer) -> None:
    response = owner_client.post("/customers/new/", {**FORM, "code": customer.code})
    assert response.status_code == 200
    assert b'class="errors' in response.content
    assert Customer.objects.filter(code=customer.code).count() == 1


def test_readonly_may_look_but_not_create_or_edit(
    readonly_client: Client, customer: Customer
) -> None:
    assert readonly_client.get("/customers/").status_code == 200
    assert b"/customers/new/" not in readonly_client.get("/customers/").content
    assert readonly_client.get("/customers/new/").status_code == 403
    refused = readonly_client.post("/customers/new/", FORM)
    assert refused.status_code == 403
    assert b"does not allow creating or changing customers" in refused.content
    assert b"Nothing was changed" in refused.content
    refused = readonly_client.post(f"/customers/{customer.pk}/edit/", {**FORM, "legal_name": "X"})
    assert refused.status_code == 403
    assert not Customer.objects.filter(legal_name__in=["Garage Petit", "X"]).exists()


@pytest.mark.parametrize("role_client", ["accountant", "sales"], indirect=True)
def test_accountant_and_sales_may_create(role_client: Client, company: Company) -> None:
    assert role_client.post("/customers/new/", FORM).status_code == 302


def test_sales_sees_only_own_customers_when_the_company_says_so(
    sales_client: Client, sales: User, company: Company
) -> None:
    mine = _customer(company, "Mine", rep=sales)
    other = _customer(company, "Other")
    assert b"Other" in sales_client.get("/customers/").content
    company_update(company, actor=Actor.system("test"), sales_see_own_customers_only=True)
    listing = sales_client.get("/customers/").content
    assert b"Mine" in listing and b"Other" not in listing
    assert sales_client.get(f"/customers/{mine.pk}/").status_code == 200
    assert sales_client.get(f"/customers/{other.pk}/").status_code == 404
    refused = sales_client.post(f"/customers/{other.pk}/edit/", {**FORM, "legal_name": "Taken"})
    assert refused.status_code == 404
    other.refresh_from_db()
    assert other.legal_name == "Other"


def test_another_company_customer_is_not_found(owner_client: Client, company: Company) -> None:
    elsewhere = company_create(**{**COMPANY_FIELDS, "legal_name": "Autre SAS"})
    stranger = _customer(elsewhere, "Stranger")
    assert owner_client.get(f"/customers/{stranger.pk}/").status_code == 404
    assert owner_client.get(f"/customers/{stranger.pk}/edit/").status_code == 404
    assert b"Stranger" not in owner_client.get("/customers/").content


def test_one_message_per_refused_identifier(owner_client: Client, company: Company) -> None:
    response = owner_client.post("/customers/new/", {**FORM, "siren": "123"})
    block = response.content.decode().split('id="id_siren"')[1].split('<div class="field')[0]
    assert block.count("<li>") == 1
    assert "Wrong length" in block


def test_restricted_sales_stays_in_charge_of_what_they_create(
    sales_client: Client, sales: User, owner: User, company: Company
) -> None:
    company_update(company, actor=Actor.system("test"), sales_see_own_customers_only=True)
    refused = sales_client.post("/customers/new/", {**FORM, "sales_rep": owner.pk})
    assert refused.status_code == 200
    assert 'class="errors"' in refused.content.decode().split('id="id_sales_rep"')[1]
    assert not Customer.objects.filter(legal_name="Garage Petit").exists()
    assert sales_client.post("/customers/new/", {**FORM, "sales_rep": sales.pk}).status_code == 302
    assert Customer.objects.get(legal_name="Garage Petit").sales_rep == sales


def test_filter_my_customers(sales_client: Client, sales: User, company: Company) -> None:
    _customer(company, "Mine", rep=sales)
    _customer(company, "Other")
    everyone = sales_client.get("/customers/").content
    assert b"Mine" in everyone and b"Other" in everyone
    mine = sales_client.get("/customers/", {"mine": "1"}).content
    assert b"Mine" in mine and b"Other" not in mine


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("legal_name", "Garage\r\nBcc: victim@example.org"),
        ("legal_name", "Garage \u202eexe.pdf"),
        ("city", "Lyon\u200b"),
        ("legal_name", "\u3164"),
    ],
)
def test_a_control_or_invisible_character_is_shown_next_to_its_field(
    owner_client: Client, company: Company, field: str, value: str
) -> None:
    """A customer named "…\\r\\nBcc: …" broke every email naming it (service-level check)."""
    before = Customer.objects.count()
    response = owner_client.post("/customers/new/", {**FORM, field: value})
    assert response.status_code == 200
    block = response.content.decode().split(f'id="id_{field}"')[1].split('<div class="field')[0]
    assert "invisible character" in block or "shows nothing" in block
    assert Customer.objects.count() == before


def test_one_message_per_mistake(owner_client):
    """An empty postcode said "This field is required." and "This is not a postcode of FR.";
    an invalid email said it twice: one mistake, one message."""
    import re

    from django.urls import reverse

    data = {
        "kind": "business", "legal_name": "Nouvelle SAS", "address_line1": "1 rue Neuve",
        "postcode": "", "city": "Lyon", "country": "FR", "billing_emails": "pas-un-email",
        "language": "fr",
    }  # fmt: skip
    page = owner_client.post(reverse("web:customer_new"), data).content.decode()
    for field in ("postcode", "billing_emails"):
        block = re.search(rf'<ul class="errors" id="id_{field}_error">(.*?)</ul>', page, re.S)
        assert block is not None, field
        assert block[1].count("<li>") == 1, block[1]
