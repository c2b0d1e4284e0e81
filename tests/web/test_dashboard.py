"""The dashboard page and its cash chart, per role."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from facturier.billing.models import Company, Customer
from facturier.billing.services import customer_create, invoice_issue
from facturier.billing.services.parties import company_update
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from tests.actors import SYS

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _chart(html: str, element_id: str) -> dict[str, Any]:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert found, element_id
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def _monthly(customer: Customer, price: str) -> None:
    subscription_create(
        customer=customer,
        name="Hébergement",
        frequency_unit="month",
        actor=SYS,
        anchor=NOW.date().replace(day=1),
        lines=[SubscriptionLineData(description="H", unit_price=Decimal(price))],
    )


@pytest.mark.parametrize("role_client", ["owner", "accountant", "sales", "readonly"], indirect=True)
def test_every_role_sees_the_dashboard(role_client: Client, customer: Customer) -> None:
    _monthly(customer, "49.90")
    response = role_client.get("/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    html = response.content.decode()
    assert "49,90\u00a0€" in html  # MRR, French style
    assert "598,80\u00a0€" in html  # ARR
    mrr = _chart(html, "mrr-data")
    assert len(mrr["labels"]) == 12 and mrr["datasets"][0]["data"][-1] == "49.90"
    english = role_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    flow = _chart(english, "flow-data")
    assert [d["label"] for d in flow["datasets"]] == ["Invoiced (incl. VAT)", "Collected"]
    # Charts are drawn by our own script: no inline script in the page.
    assert "<script>" not in html


def test_dashboard_counts_drafts_and_shows_receivables(
    owner_client: Client, customer: Customer, make_draft: Any
) -> None:
    make_draft()
    invoice_issue(make_draft(), actor=SYS)  # 100 + 20 % VAT, due in 30 days
    assert (
        "1 draft invoice in all"
        in owner_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )
    assert "120,00\u00a0€" in owner_client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()


def test_cash_chart_fragment(owner_client: Client, customer: Customer) -> None:
    subscription_create(
        customer=customer,
        name="Hébergement",
        frequency_unit="month",
        actor=SYS,
        anchor=NOW.date().replace(month=12, day=15),
        lines=[SubscriptionLineData(description="H", unit_price=Decimal("100"))],
    )
    response = owner_client.get("/dashboard/cash/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script" not in html  # htmx would drop it
    found = re.search(r'data-spec="([^"]*)"', html)
    assert found
    chart = json.loads(unescape(found.group(1)))
    values = [Decimal(v) for v in chart["datasets"][0]["data"]]
    assert len(values) == 6
    # Monthly invoices of 120 incl. VAT from 15 December, each due 30 days later.
    assert values == [Decimal(0), Decimal(0)] + [Decimal("120.00")] * 4


def test_restricted_sales_sees_own_figures(
    sales_client: Client, sales: User, company: Company, customer: Customer
) -> None:
    mine = customer_create(
        company=company,
        kind="consumer",
        legal_name="Mine",
        address_line1="1 rue A",
        postcode="75001",
        city="Paris",
        billing_emails=["m@example.org"],
        sales_rep=sales,
    )
    _monthly(customer, "1000")
    _monthly(mine, "10")
    company_update(company, actor=SYS, sales_see_own_customers_only=True)
    html = sales_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "your customers only" in html
    assert _chart(html, "mrr-data")["datasets"][0]["data"][-1] == "10.00"


def test_anonymous_cannot_read_the_cash_fragment() -> None:
    assert Client().get("/dashboard/cash/").status_code == 302


def test_figures_follow_an_audited_write_and_drafts_stay_fresh(
    owner_client: Client, customer: Customer, make_draft: Any
) -> None:
    _monthly(customer, "49.90")
    first = owner_client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "49,90\u00a0€" in first
    make_draft()  # not audited: the cached sums stay, the draft count is read fresh
    assert (
        "1 draft invoice in all"
        in owner_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )
    _monthly(customer, "10.00")  # audited: the cached figures are dropped
    again = owner_client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "59,90\u00a0€" in again
