"""A newcomer's first invoice, end to end through the browser (the issue's scenario).

Sign in, create a customer, set up a monthly subscription and watch its live preview list
six dates, run billing, let the worker archive the PDF, open the PDF (the very bytes
archived), record the payment, and see the dashboard's figures change.

Texts are looked up through the French catalog (`fr`): the browser is French, as a new user's
would be, and the test keeps working once the catalog is filled.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.contrib.auth.models import User

from facturier.billing.models import Company, Customer, Invoice
from facturier.core.money import format_amount
from tests.browser.conftest import PASSWORD, field, fr, fr_label, kpi, orm, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _euros(value: str) -> str:
    """ "59,88 €" as the UI shows it (narrow no-break spaces and all)."""
    return format_amount(Decimal(value), "EUR", locale="fr")


def _invoice_state() -> dict[str, Any]:
    invoice = Invoice.objects.select_related("archive").get(status="issued")
    from django.core.files.storage import default_storage

    with default_storage.open(invoice.archive.pdf_name, "rb") as f:
        pdf = f.read()
    return {
        "pk": invoice.pk,
        "number": invoice.number,
        "gross": invoice.total_gross,
        "settlement": invoice.settlement,
        "pdf": pdf,
    }


def test_newcomer_bills_a_monthly_subscription_and_gets_paid(
    company: Company, newcomer: User, page: Any
) -> None:
    from playwright.sync_api import expect

    # --- sign in: an unknown visitor is sent to the sign-in page first
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    sign_in(page, newcomer.username, PASSWORD)
    expect(page.get_by_role("heading", level=1, name=fr("Dashboard"))).to_be_visible()
    before = {
        "invoiced": kpi(page, fr("Invoiced this month (incl. VAT)")),
        "collected": kpi(page, fr("Collected this month")),
        "receivables": kpi(page, fr("Outstanding receivables")),
        "mrr": kpi(page, fr("MRR (monthly recurring revenue, excl. VAT)")),
    }
    assert set(before.values()) == {_euros("0")}

    # --- a customer, from the menu
    nav = page.get_by_role("navigation", name=fr("Main menu"))
    nav.get_by_role("link", name=fr("Customers")).click()
    page.get_by_role("link", name=fr("New customer")).click()
    label = partial(fr_label, Customer)
    field(page, label("kind")).select_option("business")
    field(page, label("legal_name")).fill("Fromagerie Lenoir")
    field(page, label("siren")).fill("443 061 841")
    field(page, label("address_line1")).fill("8 quai des Chartrons")
    field(page, label("postcode")).fill("33000")
    field(page, label("city")).fill("Bordeaux")
    field(page, fr("Billing emails")).fill("compta@fromagerie-lenoir.example")
    page.get_by_role("button", name=fr("Save")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fromagerie Lenoir")
    expect(page.get_by_role("status")).to_contain_text("Fromagerie Lenoir")

    # --- a monthly subscription, from the customer's page, with its live preview
    page.get_by_role("link", name=fr("New subscription")).click()
    expect(field(page, fr("Customer"))).to_have_value(
        re.compile(r"^\d+$")
    )  # chosen already: we came from the customer's page
    field(page, fr("Name")).fill("Hébergement Pro")
    field(page, fr("Frequency")).select_option("monthly")
    line = page.get_by_role("group", name=fr("Line %(n)s") % {"n": 1})
    field(line, fr("Description")).fill("Hébergement mensuel")
    field(line, fr("Quantity")).fill("1")
    field(line, fr("Unit price excl. VAT")).fill("49,90")
    preview = page.get_by_role("table", name=fr("The first invoices of this subscription"))
    expect(preview.locator("tbody tr")).to_have_count(6)
    first_row = preview.locator("tbody tr").first
    expect(first_row).to_contain_text(_euros("59.88"))  # 49,90 + 20 % VAT
    page.get_by_role("button", name=fr("Create the subscription")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hébergement Pro")

    # --- the billing run, by hand ("Run now" asks for a confirmation)
    page.get_by_role("navigation", name=fr("Main menu")).get_by_role(
        "link", name=fr("Billing runs")
    ).click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=fr("Run now")).click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"\b1\b"))
    assert orm(Invoice.objects.filter(status="issued").count) == 1

    # --- the worker archives the PDF (as `facturier worker` would, in-process here)
    from facturier.worker.outbox import outbox_deliver

    assert orm(outbox_deliver) >= 1
    state = orm(_invoice_state)

    # --- the invoice, from the list, and its PDF: the archived bytes, as a PDF
    page.get_by_role("navigation", name=fr("Main menu")).get_by_role(
        "link", name=fr("Invoices")
    ).click()
    page.get_by_role("link", name=state["number"]).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(state["number"])
    pdf_link = page.get_by_role("link", name=fr("PDF"), exact=True)
    response = page.request.get(pdf_link.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    body = response.body()
    assert body.startswith(b"%PDF-")
    assert body == state["pdf"]

    # --- the payment, from the invoice
    page.get_by_role("link", name=fr("Record a payment")).click()
    expect(field(page, fr("Amount received"))).to_have_value(re.compile(r"59[,.]88"))
    field(page, fr("Method")).select_option("transfer")
    field(page, fr("Reference")).fill("VIR LENOIR")
    page.get_by_role("button", name=fr("Record"), exact=True).click()
    expect(page.get_by_role("status")).to_be_visible()
    assert orm(_invoice_state)["settlement"] == "paid"

    # --- the dashboard has moved
    page.get_by_role("link", name="Facturier").click()
    expect(page.get_by_role("heading", level=1, name=fr("Dashboard"))).to_be_visible()
    gross = _euros(str(state["gross"]))
    assert kpi(page, fr("Invoiced this month (incl. VAT)")) == gross
    assert kpi(page, fr("Collected this month")) == gross
    assert kpi(page, fr("Outstanding receivables")) == _euros("0")
    assert kpi(page, fr("MRR (monthly recurring revenue, excl. VAT)")) == _euros("49.90")
