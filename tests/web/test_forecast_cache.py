"""The forecast page keeps its computed rows until the next audited write, recorded usage or
day; the detail is paged from the kept rows; the CSV reads the same ones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.forecast import forecast as real_forecast
from facturier.billing.services.subscriptions import (
    SubscriptionLineData,
    subscription_change,
    subscription_create,
    usage_record,
)
from facturier.web.views import forecast as view
from tests.actors import SYS

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def computed(monkeypatch):
    """How many times the forecast was computed."""
    calls = []
    real = view.forecast

    def counted(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(view, "forecast", counted)
    return calls


def _sub(customer, *, mode="fixed"):
    return subscription_create(
        customer=customer, name="Hébergement", actor=SYS, frequency_unit="week",
        anchor=date(2026, 12, 1), timing="arrears" if mode == "metered" else "advance",
        lines=[SubscriptionLineData(description="Serveur", quantity=D(2), unit_price=D(50),
                                    mode=mode)],
    )  # fmt: skip


def test_kept_until_an_audited_change(owner_client, customer, computed):
    sub = _sub(customer)
    url = reverse("web:forecast")
    first = owner_client.get(url)
    again = owner_client.get(url)
    assert len(computed) == 1
    assert again.context["total_net"] == first.context["total_net"] == D(100) * 26
    subscription_change(sub.lines.get(), effective=date(2027, 1, 1), quantity=D(3), actor=SYS)
    changed = owner_client.get(url)
    assert len(computed) == 2
    assert changed.context["total_net"] > first.context["total_net"]
    owner_client.get(url, {"months": "12"})  # another horizon: its own entry
    assert len(computed) == 3


def test_kept_until_new_usage_or_the_next_day(owner_client, owner, customer, computed, _frozen):
    sub = _sub(customer, mode="metered")
    url = reverse("web:forecast")
    owner_client.get(url)
    # Usage is not audited: its latest id is part of the key.
    usage_record(sub.lines.get(), occurred_on=date(2026, 11, 27), quantity=D(900),
                 idempotency_key="u1")  # fmt: skip
    response = owner_client.get(url)
    assert len(computed) == 2 and response.context["estimated"]
    _frozen.move_to(datetime(2026, 11, 29, 10, tzinfo=UTC))
    owner_client.force_login(owner)  # a day later: the idle session was signed out
    owner_client.get(url)
    assert len(computed) == 3


def test_detail_pages_and_csv_from_the_kept_rows(owner_client, customer, computed):
    _sub(customer)
    url = reverse("web:forecast")
    first = owner_client.get(url)
    assert first.context["count"] == 26 and len(first.context["page_obj"]) == 26
    for _ in range(2):
        subscription_create(
            customer=customer, name="Daily", actor=SYS, frequency_unit="day",
            anchor=date(2026, 12, 1),
            lines=[SubscriptionLineData(description="Jour", unit_price=D(1))],
        )  # fmt: skip
    page1 = owner_client.get(url)
    page2 = owner_client.get(url, {"page": "2"})
    assert page1.context["count"] == 26 + 2 * 182
    expected = real_forecast(company=customer.company, today=date(2026, 11, 28), months=6)
    assert list(page1.context["page_obj"]) == expected[:50]
    assert list(page2.context["page_obj"]) == expected[50:100]
    csv = owner_client.get(reverse("web:forecast_csv"))
    lines = b"".join(csv.streaming_content).decode().strip().splitlines()
    assert len(lines) == 1 + 26 + 2 * 182
    assert len(computed) == 2  # pages 1 and 2 and the CSV: computed once after the change
