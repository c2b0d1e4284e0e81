"""Editing a draft in the browser: a one-off draft's header and lines, and a recurring draft
whose lines are to confirm (the quantity of the month), saved or confirmed and issued."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from facturier.billing.models import BilledPeriod, Invoice
from facturier.billing.services import LineData, invoice_issue, invoice_update_draft
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.errors import InvalidInput, NotAllowed
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from tests.actors import SYS
from tests.web._billing import other_customer

NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _posted(page_of: Invoice, **overrides: str) -> dict[str, str]:
    """The edit form as the browser posts it back: the draft's values, then `overrides`."""
    lines = list(page_of.lines.all())
    data = {
        "customer": str(page_of.customer_id),
        "period_start": "", "period_end": "", "payment_terms_days": "",
        "customer_po": page_of.customer_po, "notes": page_of.notes,
        "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": str(len(lines)),
        "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "100",
    }  # fmt: skip
    for i, line in enumerate(lines):
        values = {
            "product": "", "description": line.description, "quantity": line.quantity,
            "unit_price": line.unit_price, "vat_code": line.vat_code,
            "unit_code": line.unit_code, "discount_percent": line.discount_percent,
            "kind": line.kind, "discount_amount": line.discount_amount,
            "period_start": line.period_start.isoformat() if line.period_start else "",
            "period_end": line.period_end.isoformat() if line.period_end else "",
        }  # fmt: skip
        data |= {f"lines-{i}-{name}": str(value) for name, value in values.items()}
    return data | overrides


def _recurring_draft(customer, company) -> Invoice:
    subscription_create(
        customer=customer, name="Maintenance", actor=SYS, frequency_unit="month",
        anchor=date(2026, 11, 1),
        lines=[
            SubscriptionLineData(description="Forfait", quantity=D(1), unit_price=D(100)),
            SubscriptionLineData(description="Heures", quantity=D(0), unit_price=D(80),
                                 mode="to_confirm"),
        ],
    )  # fmt: skip
    billing_run(company=company)
    return Invoice.objects.get(status="draft")


def test_edit_page_shows_the_drafts_values(owner_client, make_draft):
    draft = make_draft([LineData(description="Audit", quantity=D("2.5"), unit_price=D(100))])
    page = owner_client.get(reverse("web:invoice_edit", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="Audit"' in html and 'value="2,5"' in html
    detail = owner_client.get(reverse("web:invoice", args=[draft.pk])).content.decode()
    assert reverse("web:invoice_edit", args=[draft.pk]) in detail


def test_save_changes_lines_header_and_totals(owner_client, make_draft):
    draft = make_draft([LineData(description="Audit", quantity=D(1), unit_price=D(100))])
    data = _posted(draft, **{"lines-0-quantity": "3", "lines-0-unit_price": "1 000,50",
                             "notes": "Merci", "draft": "1"})  # fmt: skip
    response = owner_client.post(reverse("web:invoice_edit", args=[draft.pk]), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.number is None and draft.notes == "Merci"
    assert draft.total_net == D("3001.50") and draft.total_gross == D("3601.80")
    assert [(line.quantity, line.position) for line in draft.lines.all()] == [(D(3), 1)]


def test_confirm_the_quantity_of_a_recurring_draft(owner_client, customer, company):
    draft = _recurring_draft(customer, company)
    period = list(draft.lines.values_list("period_start", "period_end"))
    assert draft.total_net == D(100)  # the hours are not known yet
    other = other_customer(company)
    data = _posted(draft, **{"lines-1-quantity": "4,5", "issue": "1", "customer": str(other.pk)})
    page = owner_client.get(reverse("web:invoice_edit", args=[draft.pk])).content.decode()
    assert "waits for confirmation" in page and "Save, confirm and issue" in page
    response = owner_client.post(reverse("web:invoice_edit", args=[draft.pk]), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "issued" and draft.number == "F2026-00001"
    assert draft.customer_id == customer.pk  # the subscription's customer, whatever was posted
    assert draft.total_net == D(460)
    assert list(draft.lines.values_list("period_start", "period_end")) == period
    assert BilledPeriod.objects.get(invoice=draft).outcome == "invoiced"


def test_remove_and_add_lines(owner_client, make_draft):
    draft = make_draft([LineData(description=d, quantity=D(1), unit_price=D(10)) for d in "ab"])
    url = reverse("web:invoice_edit", args=[draft.pk])
    more = owner_client.post(url, _posted(draft, add_line="1")).content.decode()
    assert 'name="lines-2-description"' in more and 'name="lines-0-DELETE"' in more
    data = _posted(draft, **{"lines-0-DELETE": "on", "lines-TOTAL_FORMS": "3",
                             "lines-2-description": "c", "lines-2-quantity": "2",
                             "lines-2-unit_price": "5", "lines-2-vat_code": "FR-20",
                             "lines-2-unit_code": "C62", "lines-2-discount_percent": "0",
                             "lines-2-kind": "services"})  # fmt: skip
    assert owner_client.post(url, data).status_code == 302
    assert list(draft.lines.values_list("position", "description")) == [(1, "b"), (2, "c")]
    everything = _posted(draft, **{"lines-0-DELETE": "on", "lines-1-DELETE": "on"})
    page = owner_client.post(url, everything).content.decode()
    assert "Give at least one line." in page and draft.lines.count() == 2


def test_bad_input_is_shown_and_changes_nothing(owner_client, make_draft):
    draft = make_draft([LineData(description="Audit", quantity=D(1), unit_price=D(100))])
    url = reverse("web:invoice_edit", args=[draft.pk])
    response = owner_client.post(url, _posted(draft, **{"lines-0-quantity": "beaucoup"}))
    assert response.status_code == 200
    assert "id_lines-0-quantity_error" in response.content.decode()
    refused = owner_client.post(url, _posted(draft, **{"lines-0-discount_percent": "150"}))
    assert refused.status_code == 200 and "id_lines-0" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.total_net == D(100) and draft.lines.get().quantity == D(1)


def test_issued_or_forbidden_is_refused(owner_client, readonly_client, make_draft):
    issued = invoice_issue(make_draft(), actor=SYS)
    response = owner_client.get(reverse("web:invoice_edit", args=[issued.pk]), follow=True)
    assert "cannot be edited" in response.content.decode()
    draft = make_draft()
    url = reverse("web:invoice_edit", args=[draft.pk])
    assert readonly_client.post(url, _posted(draft, **{"lines-0-quantity": "9"})).status_code == 403
    draft.refresh_from_db()
    assert draft.lines.get().quantity == D(1)


def test_service_refusals(make_draft, customer, company):
    issued = invoice_issue(make_draft(), actor=SYS)
    with pytest.raises(NotAllowed):
        invoice_update_draft(issued, actor=SYS, lines=[LineData(description="x", unit_price=D(1))])
    draft = _recurring_draft(customer, company)
    lines = [LineData(description="x", unit_price=D(1))]
    with pytest.raises(InvalidInput) as refused:
        invoice_update_draft(draft, actor=SYS, lines=lines, customer=other_customer(company))
    assert refused.value.field == "customer"
    with pytest.raises(InvalidInput):
        invoice_update_draft(draft, actor=SYS, lines=lines, number="F1")
    draft.refresh_from_db()
    assert draft.lines.count() == 2


def _page_form(html: str) -> dict[str, str]:
    """The edit form's inputs as the browser posts them (values as shown)."""
    import re

    data = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="submit"' in tag or 'type="checkbox"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = value.group(1) if value else ""
    for select in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', select[1])
        data[select[0]] = chosen.group(1) if chosen else ""
    data.pop("csrfmiddlewaretoken", None)
    return data


def test_lines_to_confirm_are_highlighted_and_confirmed_explicitly(owner_client, customer, company):
    draft = _recurring_draft(customer, company)
    detail = owner_client.get(reverse("web:invoice", args=[draft.pk])).content.decode()
    assert 'class="to-confirm"' in detail and "I confirm the quantities as they are" in detail
    # "Confirm and issue" without the box: refused, nothing issued.
    refused = owner_client.post(reverse("web:invoice_issue", args=[draft.pk]), follow=True)
    assert "still has the quantity to confirm (0)" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"
    # The edit page: the line is highlighted; saving it unchanged keeps it to confirm.
    edit = owner_client.get(reverse("web:invoice_edit", args=[draft.pk])).content.decode()
    assert 'class="line to-confirm"' in edit
    data = _page_form(edit)
    assert data["lines-1-placeholder_quantity"] == "True"
    response = owner_client.post(
        reverse("web:invoice_edit", args=[draft.pk]), {**data, "issue": "1"}
    )
    assert response.status_code == 200
    assert 'id="id_lines-1-quantity_error"' in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.lines.get(position=2).placeholder_quantity
    # Ticked: issued with the quantities as they are.
    response = owner_client.post(
        reverse("web:invoice_edit", args=[draft.pk]), {**data, "issue": "1", "as_is": "1"}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.total_net) == ("issued", D(100))


def test_a_quantity_given_on_the_draft_page_is_no_longer_to_confirm(
    owner_client, customer, company
):
    draft = _recurring_draft(customer, company)
    edit = owner_client.get(reverse("web:invoice_edit", args=[draft.pk])).content.decode()
    data = _page_form(edit) | {"lines-1-quantity": "3"}
    saved = owner_client.post(reverse("web:invoice_edit", args=[draft.pk]), data)
    assert saved.status_code == 302
    assert not draft.lines.get(position=2).placeholder_quantity
    issued = owner_client.post(reverse("web:invoice_issue", args=[draft.pk]))
    assert issued.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.total_net) == ("issued", D(340))
