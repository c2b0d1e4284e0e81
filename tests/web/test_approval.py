"""Subscriptions set up by a sales rep wait for approval; the credit of a cancellation is for
those who may credit; the preview says how many invoices the first run makes at once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.models import Invoice, Subscription
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from tests.actors import SYS
from tests.web.test_subscriptions import _form

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_sales_rep_creates_a_subscription_that_awaits_approval(
    sales_client, accountant_client, customer
):
    response = sales_client.post(
        reverse("web:subscription_create"), _form(customer, anchor="2026-09-01")
    )
    assert response.status_code == 302
    sub = Subscription.objects.get()
    assert sub.awaiting_approval
    page = sales_client.get(reverse("web:subscription", args=[sub.pk])).content.decode()
    assert "Awaiting approval." in page
    assert reverse("web:subscription_approve", args=[sub.pk]) not in page  # not theirs to do
    assert "awaiting approval" in sales_client.get(reverse("web:subscriptions")).content.decode()

    summary = billing_run()
    assert (summary.issued, summary.drafted) == (0, 3)  # September to November, as drafts
    assert not Invoice.objects.filter(status="issued").exists()

    # A sales rep cannot approve by posting the form anyway.
    refused = sales_client.post(reverse("web:subscription_approve", args=[sub.pk]))
    assert refused.status_code == 403
    sub.refresh_from_db()
    assert sub.awaiting_approval

    page = accountant_client.get(reverse("web:subscription", args=[sub.pk])).content.decode()
    assert reverse("web:subscription_approve", args=[sub.pk]) in page
    done = accountant_client.post(reverse("web:subscription_approve", args=[sub.pk]))
    assert done.status_code == 302
    sub.refresh_from_db()
    assert not sub.awaiting_approval


def test_an_owner_subscription_needs_no_approval(owner_client, customer):
    owner_client.post(reverse("web:subscription_create"), _form(customer))
    assert not Subscription.objects.get().awaiting_approval


def test_the_preview_counts_the_catch_up_and_warns_a_sales_rep(
    sales_client, owner_client, customer
):
    data = _form(customer, anchor="2026-06-01")
    page = sales_client.post(reverse("web:subscription_preview"), data).content.decode()
    assert "6 periods are already due" in page
    assert "awaits the approval of an owner or an accountant" in page
    page = owner_client.post(reverse("web:subscription_preview"), data).content.decode()
    assert "6 periods are already due" in page
    assert "awaits the approval" not in page


def test_the_preview_refuses_a_first_period_over_a_year_back(owner_client, customer):
    data = _form(customer, anchor="2025-10-01")
    page = owner_client.post(reverse("web:subscription_preview"), data).content.decode()
    assert "more than a year ago" in page
    assert "periods are already due" not in page


@pytest.fixture
def billed(customer):
    sub = subscription_create(
        customer=customer, name="Maintenance", actor=SYS, frequency_unit="month",
        anchor=date(2026, 11, 1),
        lines=[SubscriptionLineData(description="Maintenance", unit_price=Decimal(300))],
    )  # fmt: skip
    billing_run()
    return sub


def test_a_sales_rep_cannot_cancel_with_a_credit_note(sales_client, billed):
    url = reverse("web:subscription", args=[billed.pk])
    assert "Issue a credit note for the days" not in sales_client.get(url).content.decode()
    # Posting the field anyway (an old page, a crafted request) credits nothing.
    data = {"when": "now", "on": "2026-11-15", "credit": "on"}
    sales_client.post(reverse("web:subscription_cancel", args=[billed.pk]), data)
    assert not Invoice.objects.filter(doc_type="credit_note").exists()


def test_an_accountant_cancels_with_a_credit_note(accountant_client, billed):
    url = reverse("web:subscription", args=[billed.pk])
    assert "Issue a credit note for the days" in accountant_client.get(url).content.decode()
    data = {"when": "now", "on": "2026-11-15", "credit": "on"}
    accountant_client.post(reverse("web:subscription_cancel", args=[billed.pk]), data)
    note = Invoice.objects.get(doc_type="credit_note")
    assert note.status == "issued"
