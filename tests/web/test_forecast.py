"""Forecast page: per month (table and chart data), invoice by invoice, CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.models import Invoice
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from tests.actors import SYS
from tests.web._billing import other_customer, restrict_sales

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _sub(customer, name="Hébergement", price="50"):
    return subscription_create(
        customer=customer, name=name, actor=SYS, frequency_unit="month",
        anchor=date(2026, 12, 1), end_kind="count", end_count=3,
        lines=[SubscriptionLineData(description=name, quantity=D(2), unit_price=D(price))],
    )  # fmt: skip


def test_forecast_by_month_with_chart_data(readonly_client, customer):
    _sub(customer)
    response = readonly_client.get(reverse("web:forecast"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    page = response.content.decode()
    rows = response.context["rows"]
    assert [(label, m.count, m.gross) for label, m in rows] == [
        ("12/2026", 1, D("120.00")), ("01/2027", 1, D("120.00")), ("02/2027", 1, D("120.00")),
    ]  # fmt: skip
    assert "360,00\u00a0€" in page and "01/12/2026" in page
    chart = json.loads(page.split('id="forecast-chart"')[1].split(">", 1)[1].split("</script>")[0])
    assert chart["labels"] == ["12/2026", "01/2027", "02/2027"]
    assert chart["datasets"][1]["data"] == ["120.00", "120.00", "120.00"]
    assert 'data-chart="bar"' in page and "chart.umd.min.js" in page
    assert not Invoice.objects.exists()


def test_horizon(owner_client, customer):
    _sub(customer)
    response = owner_client.get(reverse("web:forecast"), {"months": "1"})
    assert [m.count for _label, m in response.context["rows"]] == [1]
    response = owner_client.get(reverse("web:forecast"), {"months": "999"})  # not offered
    assert response.status_code == 200 and response.context["months"] == 6


def test_csv_export(owner_client, customer):
    sub = _sub(customer)
    response = owner_client.get(reverse("web:forecast_csv"), {"months": "3"})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")  # like the invoices' CSV: Excel reads the accents right
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "Date d'émission" and len(rows) == 4
    assert rows[1][:3] == ["01/12/2026", str(sub.pk), "Hébergement"]
    assert rows[1][6:10] == ["EUR", "100,00", "20,00", "120,00"]


def test_sales_rep_sees_only_their_customers(sales_client, sales, customer, company):
    _sub(customer, name="Mine")
    _sub(other_customer(company), name="Theirs", price="10")
    restrict_sales(company, own=customer, sales=sales)
    response = sales_client.get(reverse("web:forecast"))
    page = response.content.decode()
    assert "Mine" in page and "Theirs" not in page
    text = b"".join(sales_client.get(reverse("web:forecast_csv")).streaming_content).decode()
    assert "Mine" in text and "Theirs" not in text


def test_signed_out(client):
    assert client.get(reverse("web:forecast")).status_code == 302
    assert client.get(reverse("web:forecast_csv")).status_code == 302
