"""Subscription pages: list, the create form and its live preview, detail, actions, refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.models import (
    AuditEvent,
    ScheduledChange,
    Subscription,
    SubscriptionPause,
)
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from tests.actors import SYS
from tests.web._billing import other_customer, restrict_sales, stranger_client

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _form(customer, **overrides):
    data = {
        "customer": str(customer.pk),
        "name": "Hébergement Pro",
        "frequency": "monthly",
        "every": "",
        "unit": "",
        "semi_monthly_day1": "1",
        "semi_monthly_day2": "15",
        "anchor": "2026-12-01",
        "start": "",
        "timing": "advance",
        "days_before": "0",
        "end_kind": "never",
        "end_count": "",
        "end_date": "",
        "sales_rep": "",
        "copy_sales_rep": "on",
        "send_invoices": "on",
        "payment_terms_days": "",
        "customer_po": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-product": "",
        "lines-0-description": "Hébergement",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "49,90",
        "lines-0-vat_code": "FR-20",
        "lines-0-unit_code": "C62",
        "lines-0-discount_percent": "0",
        "lines-0-kind": "services",
        "lines-0-mode": "fixed",
        # An untouched blank row (as the page shows it) is left out.
        "lines-1-product": "",
        "lines-1-description": "",
        "lines-1-quantity": "1",
        "lines-1-unit_price": "",
        "lines-1-vat_code": "FR-20",
        "lines-1-unit_code": "C62",
        "lines-1-discount_percent": "0",
        "lines-1-kind": "services",
        "lines-1-mode": "fixed",
    }
    data.update(overrides)
    return data


def _sub(customer, **kwargs):
    return subscription_create(
        customer=customer, name=kwargs.pop("name", "Maintenance"), actor=SYS,
        frequency_unit="month", anchor=kwargs.pop("anchor", date(2026, 12, 1)),
        lines=[SubscriptionLineData(description="Maintenance", quantity=D(1), unit_price=D(100))],
        **kwargs,
    )  # fmt: skip


def test_create_page_renders_with_french_frequencies(owner_client, customer):
    response = owner_client.get(reverse("web:subscription_create"))
    assert response.status_code == 200
    page = response.content.decode()
    for value in ("weekly", "biweekly", "semi_monthly", "monthly", "bimonthly", "quarterly",
                  "half_yearly", "yearly", "custom"):  # fmt: skip
        assert f'value="{value}"' in page
    assert 'hx-post="/subscriptions/preview/"' in page
    assert 'for="id_customer"' in page  # every input has its label
    assert "Boulangerie Martin" in page


def test_create_then_detail_shows_next_billing_date(owner_client, customer, owner):
    response = owner_client.post(reverse("web:subscription_create"), _form(customer))
    sub = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:subscription", args=[sub.pk])
    assert sub.next_billing_date == date(2026, 12, 1)
    line = sub.lines.get()
    assert (line.quantity, line.unit_price, line.description) == (D(2), D("49.90"), "Hébergement")
    assert AuditEvent.objects.filter(action="subscription.created", actor="olivia").exists()
    page = owner_client.get(response["Location"]).content.decode()
    assert "1 Dec 2026" in page  # the next billing date
    assert "€49.90" in page
    assert "Hébergement Pro" in page


def test_custom_frequency_and_count_end(owner_client, customer):
    data = _form(customer, frequency="custom", every="3", unit="week", end_kind="count",
                 end_count="4")  # fmt: skip
    assert owner_client.post(reverse("web:subscription_create"), data).status_code == 302
    sub = Subscription.objects.get()
    assert (sub.frequency_unit, sub.interval, sub.end_count) == ("week", 3, 4)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"lines-0-unit_price": "-1"}, "lines-0-unit_price", "unit price"),
        ({"lines-0-description": "", "lines-0-unit_price": "", "lines-0-quantity": "1"},
         "lines", "at least one line"),
        ({"end_kind": "until", "end_date": "2026-01-01"}, "end_date", "end date"),
        ({"end_kind": "count"}, "end_count", "number of invoices"),
        ({"frequency": "custom"}, "every", "number of days"),
        ({"anchor": "31/02/2026"}, "anchor", ""),
        ({"start": "2026-01-01"}, "start", "one period"),
        ({"frequency": "semi_monthly", "semi_monthly_day1": "20", "semi_monthly_day2": "10"},
         "semi_monthly_day1", "the two days of the month"),
        ({"lines-0-unit_price": "1,1234567"}, "lines-0-unit_price", ""),
    ],
)  # fmt: skip
def test_form_errors_next_to_their_field_and_nothing_saved(
    owner_client, customer, overrides, field, message
):
    response = owner_client.post(reverse("web:subscription_create"), _form(customer, **overrides))
    assert response.status_code == 200
    page = response.content.decode()
    if field != "lines":
        assert f'id="id_{field}_error"' in page, page
    assert message.lower() in page.lower()
    assert not Subscription.objects.exists()


def test_add_line_keeps_what_was_typed(owner_client, customer):
    data = _form(customer, add_line="1")
    response = owner_client.post(reverse("web:subscription_create"), data)
    assert response.status_code == 200
    assert 'name="lines-2-description"' in response.content.decode()
    assert 'value="Hébergement"' in response.content.decode()
    assert not Subscription.objects.exists()


def test_live_preview_lists_six_invoices(owner_client, customer):
    data = _form(customer, anchor="2027-01-31")
    # French display: amounts "119,76 €", dates "31/01/2027".
    response = owner_client.post(
        reverse("web:subscription_preview"), data, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 200
    page = response.content.decode()
    for day in ("31/01/2027", "28/02/2027", "31/03/2027", "30/04/2027", "31/05/2027",
                "30/06/2027"):  # fmt: skip
        assert day in page
    assert page.count("119,76\u00a0€") == 6  # 2 × 49.90 + 20 % VAT
    assert "<html" not in page  # a fragment for htmx
    assert not Subscription.objects.exists()


def test_preview_needs_no_name(owner_client, customer):
    data = _form(customer, name="")
    response = owner_client.post(reverse("web:subscription_preview"), data)
    assert len(response.context["items"]) == 6 and not response.context["problems"]


def test_preview_says_what_is_missing(owner_client, customer):
    data = {**_form(customer, end_kind="count"), "customer": ""}
    page = owner_client.post(reverse("web:subscription_preview"), data).content.decode()
    assert "Customer" in page or "Client" in page
    assert "number of invoices" in page.lower() or "nombre" in page.lower()


def test_list_filters_and_status(owner_client, customer):
    a = _sub(customer, name="Alpha")
    _sub(customer, name="Beta")
    response = owner_client.get(reverse("web:subscriptions"), {"q": "alp"})
    page = response.content.decode()
    assert "Alpha" in page and "Beta" not in page
    assert reverse("web:subscription", args=[a.pk]) in page
    assert "1 Dec 2026" in page
    page = owner_client.get(reverse("web:subscriptions"), {"status": "paused"}).content.decode()
    assert "Alpha" not in page


def test_pause_resume_change_cancel(owner_client, customer):
    sub = _sub(customer)
    url = reverse("web:subscription_pause", args=[sub.pk])
    response = owner_client.post(url, {"start": "2027-01-01", "end": ""})
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.pauses.get().end is None
    response = owner_client.post(reverse("web:subscription_resume", args=[sub.pk]),
                                 {"on": "2027-03-01"})  # fmt: skip
    assert response.status_code == 302
    assert sub.pauses.get().end == date(2027, 2, 28)
    line = sub.lines.get()
    response = owner_client.post(
        reverse("web:subscription_change", args=[sub.pk]),
        {"line": line.pk, "effective": "2027-04-01", "quantity": "3", "unit_price": ""},
    )
    assert response.status_code == 302
    change = ScheduledChange.objects.get()
    assert (change.quantity, change.unit_price) == (D(3), None)
    response = owner_client.post(reverse("web:subscription_cancel", args=[sub.pk]),
                                 {"when": "period_end", "on": ""})  # fmt: skip
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.cancelled_from == date(2026, 12, 1)
    page = owner_client.get(reverse("web:subscription", args=[sub.pk])).content.decode()
    assert "Cancel the subscription" not in page and "Résilier" not in page


def test_action_errors_next_to_the_field(owner_client, customer):
    sub = _sub(customer)
    url = reverse("web:subscription_pause", args=[sub.pk])
    response = owner_client.post(url, {"start": "2027-02-01", "end": "2027-01-01"})
    assert response.status_code == 200
    assert 'id="id_end_error"' in response.content.decode()
    url = reverse("web:subscription_change", args=[sub.pk])
    response = owner_client.post(url, {"line": sub.lines.get().pk, "effective": "2027-01-01"})
    assert 'id="id_quantity_error"' in response.content.decode()
    assert not SubscriptionPause.objects.exists() and not ScheduledChange.objects.exists()


def test_refused_pause_shows_the_reason(owner_client, customer, company):
    sub = _sub(customer, anchor=date(2026, 11, 1))
    billing_run(company=company)  # November is billed
    url = reverse("web:subscription_pause", args=[sub.pk])
    response = owner_client.post(url, {"start": "2026-11-01"})
    assert response.status_code == 200
    assert 'id="id_start_error"' in response.content.decode()
    assert "already billed" in response.content.decode()
    assert not SubscriptionPause.objects.exists()


def test_refused_by_the_state_shows_a_message(owner_client, customer):
    sub = _sub(customer)
    owner_client.post(reverse("web:subscription_cancel", args=[sub.pk]), {"when": "now"})
    sub.refresh_from_db()
    assert sub.status == "cancelled"
    url = reverse("web:subscription_pause", args=[sub.pk])
    response = owner_client.post(url, {"start": "2027-01-01"}, follow=True)
    assert response.status_code == 200
    assert "cancelled subscription cannot be paused" in response.content.decode()
    assert not SubscriptionPause.objects.exists()
    url = reverse("web:subscription_resume", args=[sub.pk])
    response = owner_client.post(url, {"on": "2027-01-01"}, follow=True)
    assert "not paused" in response.content.decode()


def test_history_lists_the_invoices_issued(owner_client, customer, company):
    sub = _sub(customer, anchor=date(2026, 10, 1))
    billing_run(company=company)
    page = owner_client.get(reverse("web:subscription", args=[sub.pk])).content.decode()
    invoices = sub.invoices.order_by("pk")
    assert invoices.count() == 2
    for invoice in invoices:
        assert invoice.number in page
        assert reverse("web:invoice", args=[invoice.pk]) in page


@pytest.mark.parametrize("role_client", ["readonly"], indirect=True)
def test_readonly_sees_but_may_not_change(role_client, customer):
    sub = _sub(customer)
    assert role_client.get(reverse("web:subscriptions")).status_code == 200
    page = role_client.get(reverse("web:subscription", args=[sub.pk])).content.decode()
    assert reverse("web:subscription_pause", args=[sub.pk]) not in page
    assert role_client.get(reverse("web:subscription_create")).status_code == 403
    posts = [
        (reverse("web:subscription_create"), _form(customer)),
        (reverse("web:subscription_preview"), _form(customer)),
        (reverse("web:subscription_pause", args=[sub.pk]), {"start": "2027-01-01"}),
        (reverse("web:subscription_cancel", args=[sub.pk]), {"when": "now"}),
        (reverse("web:subscription_change", args=[sub.pk]),
         {"line": sub.lines.get().pk, "effective": "2027-01-01", "quantity": "2"}),
    ]  # fmt: skip
    for url, data in posts:
        response = role_client.post(url, data)
        assert response.status_code == 403, url
        assert "not allow" in response.content.decode() or "pas" in response.content.decode()
    sub.refresh_from_db()
    assert Subscription.objects.count() == 1
    assert sub.cancelled_from is None and not sub.pauses.exists()
    assert not ScheduledChange.objects.exists()


def test_sales_may_create(sales_client, customer):
    response = sales_client.post(reverse("web:subscription_create"), _form(customer))
    assert response.status_code == 302


def test_other_company_and_hidden_customers_are_not_found(sales_client, customer, company, sales):
    other = other_customer(company)
    mine = _sub(customer, name="Mine")
    theirs = _sub(other, name="Theirs")
    restrict_sales(company, own=customer, sales=sales)
    assert sales_client.get(reverse("web:subscription", args=[theirs.pk])).status_code == 404
    assert sales_client.get(reverse("web:subscription", args=[mine.pk])).status_code == 200
    page = sales_client.get(reverse("web:subscriptions")).content.decode()
    assert "Mine" in page and "Theirs" not in page
    response = sales_client.post(reverse("web:subscription_pause", args=[theirs.pk]),
                                 {"start": "2027-01-01"})  # fmt: skip
    assert response.status_code == 404
    assert not theirs.pauses.exists()
    # A sales rep cannot create a subscription for a customer hidden from them.
    response = sales_client.post(reverse("web:subscription_create"), _form(other))
    assert response.status_code == 200 and Subscription.objects.count() == 2
    assert 'id="id_customer_error"' in response.content.decode()
    # Another company's subscription does not exist for its users.
    stranger = stranger_client()
    assert stranger.get(reverse("web:subscription", args=[mine.pk])).status_code == 404
    response = stranger.post(reverse("web:subscription_cancel", args=[mine.pk]), {"when": "now"})
    assert response.status_code == 404
    mine.refresh_from_db()
    assert mine.cancelled_from is None


def test_signed_out_goes_to_login(client, customer):
    response = client.get(reverse("web:subscriptions"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_pages_in_french(owner_client, customer, company):
    sub = _sub(customer, anchor=date(2026, 10, 1), end_kind="count", end_count=5)
    billing_run(company=company)
    for url in (reverse("web:subscriptions"), reverse("web:subscription_create"),
                reverse("web:subscription", args=[sub.pk])):  # fmt: skip
        response = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 200 and '<html lang="fr">' in response.content.decode()
    page = owner_client.get(reverse("web:subscription", args=[sub.pk]),
                            HTTP_ACCEPT_LANGUAGE="fr").content.decode()  # fmt: skip
    assert "01/12/2026" in page and "100,00\u00a0€" in page


def test_schedule_refusals_read_in_french(owner_client, customer):
    """The French page said "semi-monthly days need 1 <= first < second <= 31, got (15, 15)"
    and "end date must not be before the first period start": core's refusals are shown in
    the page's language."""
    data = _form(customer, frequency="semi_monthly", semi_monthly_day1="15", semi_monthly_day2="15")
    page = owner_client.post(
        reverse("web:subscription_preview"), data, HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "le premier avant le second (15 et 15 donnés)" in page
    assert "semi-monthly" not in page
    data = _form(customer, end_kind="until", end_date="2026-11-15")
    page = owner_client.post(
        reverse("web:subscription_preview"), data, HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()
    assert "la date de fin ne doit pas être avant le début de la première période" in page
