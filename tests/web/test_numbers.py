"""Numbers typed in forms: the French forms are read, exponents and ambiguous separators are
refused with a message, and a line above the ceiling asks for confirmation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from facturier.billing.models import Invoice
from facturier.web.forms.common import normalise_number
from tests.web.test_invoices import _new_form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "french", "read"),
    [
        ("1234,56", True, "1234.56"), ("1 234,56", True, "1234.56"),
        ("1\u202f234,56", True, "1234.56"), ("1234.56", True, "1234.56"),
        ("-12,50", True, "-12.50"), ("0.250", True, "0.250"), ("1,234", True, "1.234"),
        ("12,345.67", False, "12345.67"), ("1,234", False, "1234"), ("1.234", False, "1.234"),
    ],
)  # fmt: skip
def test_what_is_read(typed: str, french: bool, read: str) -> None:
    assert normalise_number(typed, french=french) == read


@pytest.mark.parametrize(
    ("typed", "french", "code"),
    [
        ("1e10", True, "exponent"), ("1E+10", False, "exponent"), ("2,5e3", True, "exponent"),
        ("12,345.67", True, "ambiguous"), ("1.234", True, "ambiguous"),
        ("1.234.567", True, "ambiguous"), ("1,2,3", False, "ambiguous"),
        ("12.345,67", False, "ambiguous"),
    ],
)  # fmt: skip
def test_what_is_refused(typed: str, french: bool, code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        normalise_number(typed, french=french)
    assert refused.value.code == code


def test_an_exponent_in_a_price_is_explained_and_nothing_is_saved(owner_client, customer):
    """ "1e10" was accepted as 10 000 000 000 €."""
    data = _new_form(customer, **{"lines-0-unit_price": "1e10", "draft": "1"})
    page = owner_client.post(reverse("web:invoice_new"), data).content.decode()
    assert "Write the number in full, without an exponent" in page
    assert not Invoice.objects.exists()


def test_a_mixed_separator_is_ambiguous_on_a_french_page(owner_client, customer):
    """ "12,345.67" was read as 12 345,67 on a French page."""
    data = _new_form(customer, **{"lines-0-unit_price": "12,345.67", "draft": "1"})
    page = owner_client.post(
        reverse("web:invoice_new"), data, HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "est ambigu" in page and "1 234,56" in page
    assert not Invoice.objects.exists()
    owner_client.post(reverse("web:invoice_new"), data)  # an English page reads it
    assert Invoice.objects.get().lines.get().unit_price == Decimal("12345.67")


def test_a_line_over_the_ceiling_asks_for_confirmation(owner_client, customer, settings):
    settings.LINE_CONFIRM_ABOVE = 1_000_000
    data = _new_form(customer, **{"lines-0-unit_price": "600 000", "draft": "1"})  # 2 × 600 000
    page = owner_client.post(reverse("web:invoice_new"), data).content.decode()
    assert "Line 1 comes to €1,200,000.00 excl. VAT, more than €1,000,000.00" in page
    assert 'name="confirm_large"' in page
    assert not Invoice.objects.exists()
    owner_client.post(reverse("web:invoice_new"), {**data, "confirm_large": "1"})
    assert Invoice.objects.get().total_net == 1_200_000
