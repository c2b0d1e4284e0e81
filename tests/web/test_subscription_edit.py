"""The subscription edit page, its live preview, and the list's amounts and search."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.models import AuditEvent, Subscription, SubscriptionLine
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from tests.actors import SYS

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


class _Form(HTMLParser):
    """What a browser posts for the page's form: inputs, checked boxes, selected options."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.data[name] = a.get("value") or "on"
            else:
                self.data[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data


def posted(client, sub: Subscription, **overrides: str) -> dict[str, str]:
    page = client.get(reverse("web:subscription_edit", args=[sub.pk]))
    assert page.status_code == 200
    form = _Form()
    form.feed(page.content.decode())
    form.data.pop("csrfmiddlewaretoken", None)
    form.data.update(overrides)
    return {k: v for k, v in form.data.items() if v is not None}


@pytest.fixture
def sub(customer, company):
    """Monthly from 1 November 2026: November billed, December not yet."""
    made = subscription_create(
        customer=customer, name="Maintenance", actor=SYS, frequency_unit="month",
        anchor=date(2026, 11, 1), customer_po="PO-1",
        lines=[SubscriptionLineData(description="Forfait", quantity=D(2), unit_price=D(100))],
    )  # fmt: skip
    billing_run(company=company)
    return made


def test_the_detail_page_links_to_the_edit_page(owner_client, readonly_client, sub):
    page = owner_client.get(reverse("web:subscription", args=[sub.pk])).content.decode()
    assert reverse("web:subscription_edit", args=[sub.pk]) in page
    page = readonly_client.get(reverse("web:subscription", args=[sub.pk])).content.decode()
    assert reverse("web:subscription_edit", args=[sub.pk]) not in page
    assert readonly_client.get(reverse("web:subscription_edit", args=[sub.pk])).status_code == 403


def test_edit_shows_the_values_and_saves_header_and_lines(owner_client, sub):
    data = posted(owner_client, sub)
    assert (data["name"], data["customer_po"], data["effective"]) == (
        "Maintenance", "PO-1", "2026-12-01",
    )  # fmt: skip
    assert (data["current-0-quantity"], data["current-0-unit_price"]) == ("2", "100")
    assert data["lines-TOTAL_FORMS"] == "0"  # no new line until "Add a line"
    more = owner_client.post(reverse("web:subscription_edit", args=[sub.pk]),
                             {**data, "add_line": "1"})  # fmt: skip
    assert more.status_code == 200 and 'name="lines-0-description"' in more.content.decode()
    data |= {
        "name": "Maintenance Pro", "customer_po": "PO-2", "current-0-quantity": "3",
        "lines-TOTAL_FORMS": "1", "lines-0-description": "Sauvegarde", "lines-0-quantity": "1",
        "lines-0-unit_price": "20", "lines-0-vat_code": "FR-20", "lines-0-unit_code": "C62",
        "lines-0-discount_percent": "0", "lines-0-kind": "services", "lines-0-mode": "fixed",
    }  # fmt: skip
    response = owner_client.post(reverse("web:subscription_edit", args=[sub.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    sub.refresh_from_db()
    assert (sub.name, sub.customer_po) == ("Maintenance Pro", "PO-2")
    added = SubscriptionLine.objects.get(subscription=sub, position=2)
    assert (added.description, added.starts_on) == ("Sauvegarde", date(2026, 12, 1))
    change = sub.lines.get(position=1).changes.get()
    assert (change.effective, change.quantity, change.unit_price) == (date(2026, 12, 1), D(3), None)
    event = AuditEvent.objects.get(action="subscription.updated")
    assert sorted(event.data["changes"]) == ["customer_po", "line 1 quantity", "line 2", "name"]
    assert event.actor == "olivia"


def test_a_refusal_is_shown_next_to_its_field_and_nothing_changes(owner_client, sub):
    data = posted(owner_client, sub, **{"effective": "2026-11-15", "current-0-remove": "on"})
    response = owner_client.post(reverse("web:subscription_edit", args=[sub.pk]), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "the periods until 30/11/2026 are already billed" in page
    assert 'id="id_effective_error"' in page
    assert SubscriptionLine.objects.get(subscription=sub).ends_on is None
    assert not AuditEvent.objects.filter(action="subscription.updated").exists()


def test_the_preview_shows_the_next_invoices_with_their_old_amounts(owner_client, sub):
    data = posted(owner_client, sub, **{"current-0-unit_price": "150"})
    response = owner_client.post(reverse("web:subscription_edit_preview", args=[sub.pk]), data,
                                 HTTP_ACCEPT_LANGUAGE="fr")  # fmt: skip
    page = response.content.decode().replace("\u202f", " ").replace("\u00a0", " ")
    assert "<del" in page and "200,00 €</del> 300,00 €" in page
    assert "01/12/2026 → 31/12/2026" in page
    assert not sub.lines.get().changes.exists()  # a preview saves nothing


def test_a_sales_rep_changing_a_price_sends_it_back_to_approval(sales_client, sub):
    data = posted(sales_client, sub, **{"current-0-unit_price": "150"})
    preview = sales_client.post(reverse("web:subscription_edit_preview", args=[sub.pk]), data)
    assert "awaits the approval" in preview.content.decode()
    response = sales_client.post(reverse("web:subscription_edit", args=[sub.pk]), data)
    assert response.status_code == 302
    sub.refresh_from_db()
    assert sub.awaiting_approval


def test_the_list_shows_amounts_and_searches_without_accents(owner_client, sub, customer):
    subscription_create(
        customer=customer, name="Hébergement Élite", actor=SYS, frequency_unit="year",
        anchor=date(2026, 12, 1),
        lines=[SubscriptionLineData(description="Hébergement", unit_price=D("1200"))],
    )  # fmt: skip
    page = owner_client.get(reverse("web:subscriptions"), HTTP_ACCEPT_LANGUAGE="fr")
    html = page.content.decode().replace("\u202f", " ").replace("\u00a0", " ")
    assert '<td class="num">200,00 €</td>\n      <td class="num">200,00 €</td>' in html
    assert '<td class="num">1 200,00 €</td>\n      <td class="num">100,00 €</td>' in html
    for query, found in [("hebergement elite", True), ("HÉBERG", True), ("maintenance", False),
                         (customer.code.lower(), True), ("boulangerie", True)]:  # fmt: skip
        html = owner_client.get(reverse("web:subscriptions"), {"q": query}).content.decode()
        assert ("Hébergement Élite" in html) is found, query


def test_the_create_form_starts_with_one_line_and_marks_conditional_fields(owner_client):
    page = owner_client.get(reverse("web:subscription_create")).content.decode()
    assert 'name="lines-TOTAL_FORMS" value="1"' in page
    for rule in ("frequency=custom", "frequency=semi_monthly", "timing=advance",
                 "end_kind=count", "end_kind=until"):  # fmt: skip
        assert f'data-show-when="{rule}"' in page
    assert "<script>" not in page  # CSP: behaviour comes from app.js only


def test_the_detail_page_tells_the_first_period_of_a_stub(owner_client, customer):
    twice = subscription_create(
        customer=customer, name="Ménage", actor=SYS, frequency_unit="semi_monthly",
        anchor=date(2026, 12, 4),
        lines=[SubscriptionLineData(description="Ménage", unit_price=D(140))],
    )  # fmt: skip
    page = owner_client.get(reverse("web:subscription", args=[twice.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    assert "04/12/2026 → 14/12/2026" in page.content.decode()
