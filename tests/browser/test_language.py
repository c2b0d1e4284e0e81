"""The switch from French (the default) to English, and back."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.browser.conftest import PASSWORD, fr, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_language_switch_to_english_and_back(newcomer: User, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(reverse("web:login"))
    sign_in(page, "nina", PASSWORD)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1, name=fr("Dashboard"))).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1, name="Dashboard", exact=True)).to_be_visible()
    # The choice is remembered from page to page.
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Customers").click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1, name="Customers", exact=True)).to_be_visible()

    page.get_by_role("button", name="français").click()
    expect(html).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1, name=fr("Customers"))).to_be_visible()
