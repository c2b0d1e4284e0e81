"""Forms are sent once, in a real browser: back and send again creates nothing and says so
(the page the browser kept carries the used token), and "Create and issue" asks first
(cancelled: nothing is created)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from facturier.billing.models import Customer, Invoice, Payment
from tests.browser.conftest import PASSWORD, field, orm, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _english(page: Any, newcomer: User) -> None:
    from playwright.sync_api import expect

    page.goto("/login/")
    sign_in(page, newcomer.username, PASSWORD)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_back_and_send_again_creates_nothing(customer: Customer, newcomer: User, page: Any) -> None:
    from playwright.sync_api import expect

    _english(page, newcomer)
    page.goto(f"/payments/new/?customer={customer.pk}")
    field(page, "Amount received").fill("150,00")
    field(page, "Reference").fill("VIR 1")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    assert orm(Payment.objects.count) == 1

    page.go_back()
    # Signed-in pages are never stored (Cache-Control: no-store): back fetches the form
    # anew, blank, instead of replaying the one sent; sending it as it is creates nothing.
    # (A replay of the sent form itself is refused by its token: tests/web/test_once.py.)
    expect(page.get_by_role("heading", level=1, name="Record a payment")).to_be_visible()
    expect(field(page, "Amount received")).to_have_value("")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Record a payment")).to_be_visible()
    assert orm(Payment.objects.count) == 1


def test_create_and_issue_asks_first(customer: Customer, newcomer: User, page: Any) -> None:
    from playwright.sync_api import expect

    _english(page, newcomer)
    page.goto(f"/invoices/new/?customer={customer.pk}")
    page.locator("#id_lines-0-description").fill("Audit")
    page.locator("#id_lines-0-unit_price").fill("100")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Create and issue").click()
    expect(page.get_by_role("heading", level=1, name="New invoice")).to_be_visible()
    assert asked == ["Issue this invoice? It gets its number and can never change again."]
    assert orm(Invoice.objects.count) == 0

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Create and issue").click()
    expect(page.get_by_text(re.compile(r"Invoice F\d{4}-\d{5} issued\."))).to_be_visible()
    assert orm(Invoice.objects.filter(status="issued").count) == 1
