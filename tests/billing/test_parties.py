"""Companies, customers, users: validated input, clear refusals, nothing half-saved."""

from __future__ import annotations

from decimal import Decimal

import pytest

from facturier.billing.models import Company, Customer
from facturier.billing.services import (
    InvalidInput,
    company_create,
    customer_create,
)
from tests.actors import SYS
from tests.conftest import COMPANY_FIELDS


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("siren", "732829321", "SIREN"),
     ("vat_number", "FR00732829320", "VAT"),
     ("iban", "FR7630006000011234567890180", "IBAN"),
     ("sepa_creditor_id", "FR12ZZZ123456", "(?i)creditor")],
)  # fmt: skip
def test_company_identifiers_validated(db, field, value, message):
    with pytest.raises(InvalidInput, match=message) as err:
        company_create(**{**COMPANY_FIELDS, field: value})
    assert err.value.field == field
    assert not Company.objects.exists()


def test_company_identifiers_normalised(db):
    spaced = {"siren": "732 829 320", "iban": "fr76 3000 6000 0112 3456 7890 189"}
    company = company_create(**{**COMPANY_FIELDS, **spaced})
    assert company.siren == "732829320"
    assert company.iban == "FR7630006000011234567890189"


def test_company_needs_capital_for_its_form(db):
    with pytest.raises(InvalidInput, match="capital"):
        company_create(**{**COMPANY_FIELDS, "share_capital": None})


def test_company_vat_number_required_unless_franchise(db):
    with pytest.raises(InvalidInput, match="TVA"):
        company_create(**{**COMPANY_FIELDS, "vat_number": ""})
    company = company_create(**{**COMPANY_FIELDS, "vat_number": "", "vat_regime": "franchise"})
    assert company.series.count() == 2


def test_customer_validation(company):
    base = {
        "kind": "business", "legal_name": "X", "address_line1": "1 rue", "postcode": "75001",
        "city": "Paris", "billing_emails": ["a@example.com"],
    }  # fmt: skip
    with pytest.raises(InvalidInput, match="SIREN"):
        customer_create(company=company, **base)
    with pytest.raises(InvalidInput, match="SIRET"):
        customer_create(company=company, **base, siren="443061841", siret="51234567900011")
    with pytest.raises(InvalidInput) as err:
        bad = {**base, "billing_emails": "not-an-email"}
        customer_create(company=company, **bad, siren="443061841")
    assert err.value.field == "billing_emails"
    assert not Customer.objects.exists()
    customer = customer_create(
        company=company, **{**base, "billing_emails": "a@example.com; b@example.com"},
        siren="443061841",
    )  # fmt: skip
    assert customer.billing_emails == ["a@example.com", "b@example.com"]
    assert customer.code == "C00001"


def test_share_capital_printed_as_text(company, make_draft):
    from facturier.billing.services import invoice_issue

    inv = invoice_issue(make_draft(), actor=SYS)
    assert Decimal(inv.seller["share_capital"]) == Decimal("10000.00")


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"country": "ZZ"}, "country"), ({"postcode": "ABCDE"}, "postcode"),
     ({"share_capital": Decimal("-5")}, "share_capital")],
)  # fmt: skip
def test_company_address_and_capital_checked(db, changes, field):
    with pytest.raises(InvalidInput) as err:
        company_create(**{**COMPANY_FIELDS, **changes})
    assert err.value.field == field
    assert not Company.objects.exists()


def test_customer_country_and_postcodes(company):
    base = {
        "kind": "consumer", "legal_name": "X", "address_line1": "1 rue", "postcode": "75001",
        "city": "Paris", "billing_emails": ["a@example.com"],
    }  # fmt: skip
    for changes, field in [
        ({"country": "ZZ"}, "country"),
        ({"postcode": "7500"}, "postcode"),
        ({"country": "BE", "postcode": "75001"}, "postcode"),
        ({"delivery_line1": "2 rue", "delivery_postcode": "ABC", "delivery_city": "Lyon"},
         "delivery_postcode"),
    ]:  # fmt: skip
        with pytest.raises(InvalidInput) as err:
            customer_create(company=company, **{**base, **changes})
        assert err.value.field == field, changes
    assert not Customer.objects.exists()
    berlin = customer_create(company=company, **{**base, "country": "de", "postcode": "10117"})
    assert (berlin.country, berlin.postcode) == ("DE", "10117")
    other = customer_create(company=company, **{**base, "country": "GB", "postcode": "sw1a 1aa"})
    assert other.postcode == "SW1A 1AA"
