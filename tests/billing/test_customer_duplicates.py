"""customer_duplicates: a customer that shares a SIREN, VAT number or billing email with
another customer of the company, or with the company itself, is found before it is saved."""

from __future__ import annotations

from typing import Any

import pytest

from facturier.billing.models import Company, Customer
from facturier.billing.services import company_create, customer_duplicates
from facturier.billing.services.parties import company_update
from tests.actors import SYS
from tests.conftest import COMPANY_FIELDS

pytestmark = pytest.mark.django_db


def found(company: Company, **values: Any) -> list[tuple[str, str, str | None]]:
    return [
        (d.field, d.value, d.customer.code if d.customer else None)
        for d in customer_duplicates(company=company, **values)
    ]


def test_same_siren_vat_or_email(company: Company, customer: Customer) -> None:
    customer.vat_number = "FR64443061841"
    customer.billing_emails = ["Compta@Boulangerie.example", "boss@boulangerie.example"]
    customer.save()
    code = customer.code
    assert found(company, siren="443 061 841") == [("siren", "443061841", code)]
    assert found(company, siret="44306184100019") == [("siren", "443061841", code)]
    assert found(company, vat_number="fr 64 443061841") == [("vat_number", "FR64443061841", code)]
    assert found(company, billing_emails=["COMPTA@boulangerie.example", "x@y.example"]) == [
        ("billing_emails", "compta@boulangerie.example", code)
    ]
    # A part of an address is not the address.
    assert found(company, billing_emails=["compta@boulangerie.exampl"]) == []
    assert found(company, siren="552100554", vat_number="", billing_emails=[]) == []
    # Editing the customer itself is not a duplicate of itself.
    assert customer_duplicates(company=company, siren="443061841", exclude=customer) == []


def test_the_company_itself(company: Company) -> None:
    company_update(company, actor=SYS, email="ventes@atelier.example")
    assert found(
        company, siren="732829320", vat_number="FR44732829320",
        billing_emails=["compta@example.com", "ventes@atelier.example"],
    ) == [
        ("siren", "732829320", None), ("vat_number", "FR44732829320", None),
        ("billing_emails", "compta@example.com", None),
        ("billing_emails", "ventes@atelier.example", None),
    ]  # fmt: skip


def test_other_companies_do_not_count(company: Company, customer: Customer) -> None:
    elsewhere = company_create(
        **{**COMPANY_FIELDS, "siren": "552100554", "vat_number": "FR96552100554"}
    )
    assert found(elsewhere, siren="443061841") == []


def test_unparsable_values_are_left_to_the_form(company: Company, customer: Customer) -> None:
    assert found(company, siren="443061842", vat_number="XX1") == []
