"""The main pages on a phone: no horizontal scrolling, the menu behind its button."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from facturier.billing.models import Customer, Invoice
from facturier.billing.services import customer_update
from facturier.billing.services.actors import Actor
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.worker.outbox import outbox_deliver
from tests.browser.conftest import PASSWORD, PHONE, fr, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The pages a user reaches from the menu, and the detail pages behind them.
MAIN_PAGES = [
    ("web:dashboard", None),
    ("web:customers", None),
    ("web:customer", "customer"),
    ("web:customer_new", None),
    ("web:subscriptions", None),
    ("web:subscription_create", None),
    ("web:subscription", "subscription"),
    ("web:subscription_edit", "subscription"),
    ("web:invoices", None),
    ("web:invoice", "invoice"),
    ("web:payments", None),
    ("web:payment_new", None),
    ("web:forecast", None),
    ("web:runs", None),
    ("web:exports", None),
    ("web:mailbox", None),
    ("web:settings", None),
    ("web:settings_branding", None),
    ("web:settings_users", None),
]

# How far the page is wider than the phone's screen (0: no horizontal scrolling). Not
# window.innerWidth: a mobile browser widens its layout viewport to what overflows, so the
# page would always seem to fit it.
OVERFLOW_JS = f"document.documentElement.scrollWidth - {PHONE['width']}"


@pytest.fixture
def billed(customer: Customer, newcomer: User) -> dict[str, int]:
    """A customer with a monthly subscription billed once, its PDF archived; long values
    that do not wrap by themselves (an email address, a long word)."""
    customer_update(
        customer,
        billing_emails=["comptabilite.fournisseurs@boulangerie-patisserie-martin.example"],
    )
    sub = subscription_create(
        customer=customer,
        name="Maintenance du site et hébergement de la boutique en ligne",
        lines=[SubscriptionLineData(description="Maintenance", unit_price=Decimal("120.00"))],
        frequency_unit="month",
        anchor=date.today(),
        actor=Actor.system("test"),
    )
    billing_run(company=customer.company)
    outbox_deliver()
    invoice = Invoice.objects.get(subscription=sub, status="issued")
    return {"customer": customer.pk, "subscription": sub.pk, "invoice": invoice.pk}


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    return {
        "viewport": PHONE,
        "locale": "fr-FR",
        "timezone_id": "Europe/Paris",
        "is_mobile": True,
        "has_touch": True,
    }


def test_main_pages_fit_a_phone_screen(billed: dict[str, int], page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(reverse("web:login"))
    sign_in(page, "nina", PASSWORD)
    expect(page.get_by_role("heading", level=1, name=fr("Dashboard"))).to_be_visible()

    too_wide = {}
    for name, arg in MAIN_PAGES:
        url = reverse(name, args=[billed[arg]] if arg else [])
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        page.wait_for_load_state("networkidle")  # htmx fragments (the dashboard's forecast)
        overflow = page.evaluate(OVERFLOW_JS)
        if overflow > 0:
            too_wide[url] = overflow
    assert not too_wide, f"pages wider than a {PHONE['width']} px phone (px too wide): {too_wide}"

    # The menu folds behind its button on a phone, and opens with it.
    page.goto(reverse("web:dashboard"))
    menu = page.get_by_role("button", name=fr("Menu"))
    link = page.get_by_role("navigation", name=fr("Main menu")).get_by_role(
        "link", name=fr("Customers")
    )
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(link).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    link.click()
    expect(page.get_by_role("heading", level=1, name=fr("Customers"))).to_be_visible()


def test_the_invoice_list_shows_total_and_status_on_a_phone(
    billed: dict[str, int], page: Any
) -> None:
    """At 390 px the total and the status were off-screen (scrolled inside the table): they
    stay in view, the customer and due date fold under the number."""
    from playwright.sync_api import expect

    page.goto(reverse("web:login"))
    sign_in(page, "nina", PASSWORD)
    page.goto(reverse("web:invoices"))
    row = page.locator("table tbody tr").first
    expect(row).to_be_visible()
    for cell in (row.locator("td.num").first, row.locator("td").last):
        box = cell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], box
    expect(row.locator(".phone-only")).to_contain_text("Boulangerie Martin")
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("e => e.scrollWidth - e.clientWidth") <= 0
