"""The subscription form shows only the fields that apply to the frequency, the billing
timing and the end rule (app.js; without JavaScript they all show), and its live preview
bills twice-a-month from the day typed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from facturier.billing.models import Customer
from tests.browser.conftest import PASSWORD, fr, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_fields_follow_the_frequency_and_the_end(customer: Customer, newcomer: User,
                                                  page: Any) -> None:  # fmt: skip
    from playwright.sync_api import expect

    page.goto(reverse("web:login"))
    sign_in(page, "nina", PASSWORD)
    page.goto(reverse("web:subscription_create"))
    shown = lambda *ids: [expect(page.locator(f"#id_{i}")).to_be_visible() for i in ids]  # noqa: E731
    hidden = lambda *ids: [expect(page.locator(f"#id_{i}")).to_be_hidden() for i in ids]  # noqa: E731

    # Monthly, in advance, never ending: only what applies.
    shown("frequency", "anchor", "start", "timing", "days_before", "end_kind")
    hidden("every", "unit", "semi_monthly_day1", "semi_monthly_day2", "end_count", "end_date",
           "prorate_last")  # fmt: skip
    expect(page.locator("[data-nojs]").first).to_be_hidden()
    assert page.locator("input[name$='-description']").count() == 1  # one line to start

    page.select_option("#id_frequency", "custom")
    shown("every", "unit")
    hidden("semi_monthly_day1")
    page.select_option("#id_frequency", "semi_monthly")
    shown("semi_monthly_day1", "semi_monthly_day2")
    hidden("every", "unit")
    page.select_option("#id_timing", "arrears")
    hidden("days_before")
    page.select_option("#id_timing", "advance")
    shown("days_before")
    page.select_option("#id_end_kind", "count")
    shown("end_count")
    hidden("end_date", "prorate_last")
    page.select_option("#id_end_kind", "until")
    shown("end_date", "prorate_last")
    hidden("end_count")

    # Twice a month from the 4th: the preview's first invoice covers the 4th to the 14th.
    page.select_option("#id_end_kind", "never")
    first = (date.today().replace(day=1) + timedelta(days=32)).replace(day=4)
    page.select_option("#id_customer", label=customer.legal_name)
    page.fill("#id_name", "Ménage")
    page.fill("#id_anchor", first.isoformat())
    page.fill("#id_lines-0-description", "Ménage")
    page.fill("#id_lines-0-unit_price", "140")
    page.locator("#id_lines-0-unit_price").dispatch_event("change")
    stub = f"{first:%d/%m/%Y} → {first.replace(day=14):%d/%m/%Y}"
    expect(page.locator("#preview")).to_contain_text(stub)
    expect(page.locator("#preview")).to_contain_text(fr("prorated"))
