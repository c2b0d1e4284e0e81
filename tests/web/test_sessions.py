"""Signed-in sessions: never cached, signed out after 4 hours idle or 12 hours in all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from facturier.billing.models import ArchivedDocument, Invoice, OutboxMessage
from facturier.worker.render import document_render
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _signed_in() -> Client:
    client = Client()
    assert client.post("/login/", {"username": "olivia", "password": PASSWORD}).status_code == 302
    return client


def _no_store(response: Any) -> bool:
    cache_control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "no-cache", "private", "max-age=0"} <= cache_control


def test_signed_in_pages_and_downloads_are_never_stored(
    owner_client: Client, make_draft: Any, customer: Any
) -> None:
    draft = make_draft()
    owner_client.post(reverse("web:invoice_issue", args=[draft.pk]))  # as the owner would
    invoice = Invoice.objects.get(pk=draft.pk, number__isnull=False)
    document_render(OutboxMessage.objects.get(key=f"render:{invoice.pk}"))
    assert ArchivedDocument.objects.filter(invoice=invoice).exists()
    urls = [
        "/",
        reverse("web:dashboard_cash"),
        reverse("web:invoices"),
        reverse("web:invoice", args=[invoice.pk]),
        reverse("web:invoice_pdf", args=[invoice.pk]),
        reverse("web:invoice_xml", args=[invoice.pk]),
        reverse("web:export_invoices"),
        reverse("web:export_payments"),
        reverse("web:forecast_csv"),
        reverse("web:settings_users"),
        "/customers/999999/",  # a 404 says something too
    ]
    for url in urls:
        response = owner_client.get(url)
        assert response.status_code in (200, 404), url
        assert _no_store(response), (url, response.get("Cache-Control"))


def test_the_sign_in_answer_is_not_stored(owner: User) -> None:
    response = Client().post("/login/", {"username": "olivia", "password": PASSWORD})
    assert _no_store(response)


def test_idle_sessions_are_signed_out(owner: User, clock: Any, settings: Any) -> None:
    assert settings.FACTURIER_SESSION_IDLE_MINUTES == 240
    client = _signed_in()
    clock.shift(timedelta(minutes=239))
    assert client.get("/").status_code == 200  # activity: the idle clock starts again
    clock.shift(timedelta(minutes=239))
    assert client.get("/").status_code == 200
    clock.shift(timedelta(minutes=240, seconds=1))
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/customers/"
    page = client.get(response["Location"]).content.decode()
    assert "You were signed out after 240 minutes without activity." in page
    clock.shift(timedelta(seconds=-10))  # the session is gone, not just refused for now
    assert client.get("/").status_code == 302


def test_the_idle_time_is_a_setting(owner: User, clock: Any, settings: Any) -> None:
    settings.FACTURIER_SESSION_IDLE_MINUTES = 30
    client = _signed_in()
    clock.shift(timedelta(minutes=31))
    assert client.get("/").status_code == 302


def test_sessions_end_12_hours_after_signing_in_however_active(owner: User, clock: Any) -> None:
    client = _signed_in()
    for _ in range(6):  # a request every two hours
        clock.shift(timedelta(hours=2) - timedelta(seconds=1))
        assert client.get("/").status_code == 200
    clock.shift(timedelta(seconds=7))  # 12 hours and a second
    assert client.get("/").status_code == 302
    page = client.get("/login/").content.decode()
    assert "12 hours after signing in" in page


def test_the_last_activity_is_written_at_most_once_a_minute(owner: User, clock: Any) -> None:
    client = _signed_in()
    clock.shift(timedelta(seconds=30))
    assert "sessionid" not in client.get("/").cookies  # session unchanged: not saved
    clock.shift(timedelta(seconds=31))
    assert "sessionid" in client.get("/").cookies  # a minute later: saved once
    clock.shift(timedelta(seconds=5))
    assert "sessionid" not in client.get("/").cookies
