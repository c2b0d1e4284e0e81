"""Web UI bugs found by QA: an added line that could not be left blank, raw email headers,
the current logo's link, trailing zeros, a paid invoice's payment link, doubled or run-together
error messages, a damaged archived file, the forecast CSV, and credit notes after a partial one.
(The phone layout is checked in tests/browser/test_phone.py.)"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from facturier.billing.models import (
    ArchivedDocument,
    Invoice,
    MailboxMessage,
    Payment,
    Subscription,
)
from facturier.billing.services import (
    LineData,
    credit_note_create,
    invoice_issue,
    payment_record,
)
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.core.hashing import file_sha256
from facturier.web.forms.common import NumberField
from tests.actors import SYS

NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def _blank_line(i: int, *, mode: bool = True) -> dict[str, str]:
    """A blank row as the page shows it (its fields' initial values)."""
    row = {
        "product": "", "description": "", "quantity": "1", "unit_price": "",
        "vat_code": "FR-20", "unit_code": "C62", "discount_percent": "0", "kind": "services",
    }  # fmt: skip
    if mode:
        row["mode"] = "fixed"
    return {f"lines-{i}-{name}": value for name, value in row.items()}


def _subscription_form(customer: Any, **overrides: str) -> dict[str, str]:
    data = {
        "customer": str(customer.pk), "name": "Hébergement", "frequency": "monthly",
        "every": "", "unit": "", "semi_monthly_day1": "1", "semi_monthly_day2": "15",
        "anchor": "2026-12-01", "start": "", "timing": "advance", "days_before": "0",
        "end_kind": "never", "end_count": "", "end_date": "", "sales_rep": "",
        "payment_terms_days": "", "customer_po": "",
        "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "50",
        **_blank_line(0), **_blank_line(1), **_blank_line(2),
        "lines-0-description": "Hébergement", "lines-0-unit_price": "50",
    }  # fmt: skip
    return data | overrides


def _invoice_form(customer: Any, **overrides: str) -> dict[str, str]:
    data = {
        "customer": str(customer.pk), "period_start": "", "period_end": "",
        "payment_terms_days": "", "customer_po": "", "notes": "",
        "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "100",
        **_blank_line(0, mode=False), **_blank_line(1, mode=False), **_blank_line(2, mode=False),
        "lines-0-description": "Audit", "lines-0-unit_price": "100",
    }  # fmt: skip
    return data | overrides


def _as_posted_back(response: Any) -> dict[str, str]:
    """What the browser posts when the page with the added line is saved untouched."""
    data = response.context["lines"].data.dict() | response.context["form"].data.dict()
    data.pop("add_line", None)
    return data  # type: ignore[no-any-return]


# --- 1. "Add a line" adds an untouched blank row -----------------------------------------------


def test_added_line_on_the_subscription_form_is_a_blank_row(owner_client, customer):
    url = reverse("web:subscription_create")
    page = owner_client.post(url, _subscription_form(customer, add_line="1"))
    html = page.content.decode()
    assert 'name="lines-3-quantity" value="1"' in html
    assert 'name="lines-3-discount_percent" value="0"' in html
    data = _as_posted_back(page)
    preview = owner_client.post(reverse("web:subscription_preview"), data).content.decode()
    assert "Line 4" not in preview and "required" not in preview
    response = owner_client.post(url, data)
    assert response.status_code == 302
    assert [line.description for line in Subscription.objects.get().lines.all()] == ["Hébergement"]


def test_added_line_on_the_invoice_forms_is_a_blank_row(owner_client, customer, make_draft):
    page = owner_client.post(reverse("web:invoice_new"), _invoice_form(customer, add_line="1"))
    assert 'name="lines-3-quantity" value="1"' in page.content.decode()
    response = owner_client.post(reverse("web:invoice_new"), _as_posted_back(page) | {"draft": "1"})
    assert response.status_code == 302
    assert Invoice.objects.get().lines.count() == 1

    draft = make_draft([LineData(description="Conseil", quantity=D(1), unit_price=D(80))])
    url = reverse("web:invoice_edit", args=[draft.pk])
    posted = {
        "customer": str(draft.customer_id), "period_start": "", "period_end": "",
        "payment_terms_days": "", "customer_po": "", "notes": "",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1",
        "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "100",
        **_blank_line(0, mode=False), "lines-0-description": "Conseil",
        "lines-0-unit_price": "80", "lines-0-period_start": "", "lines-0-period_end": "",
        "lines-0-discount_amount": "0", "add_line": "1",
    }  # fmt: skip
    page = owner_client.post(url, posted)
    assert 'name="lines-1-quantity" value="1"' in page.content.decode()
    response = owner_client.post(url, _as_posted_back(page) | {"draft": "1"})
    assert response.status_code == 302
    assert [line.description for line in draft.lines.all()] == ["Conseil"]


# --- 2. the mailbox shows the sender decoded, labelled "From" as a sender --------------------


def test_mailbox_message_decodes_the_sender(owner_client, company):
    sender = "=?utf-8?q?Atelier_Num=C3=A9rique?= <facturier@localhost>"
    message = MailboxMessage.objects.create(
        company=company, message_id="<1@facturier>", subject="=?utf-8?q?Facture_n=C2=B01?=",
        sender=sender, to=["=?utf-8?q?Boulang=C3=A8re?= <b@example.org>"],
        raw=b"From: x@example.org\r\nSubject: s\r\n\r\nBonjour\r\n", created_at=timezone.now(),
    )  # fmt: skip
    url = reverse("web:mailbox_message", args=[message.pk])
    page = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Atelier Numérique &lt;facturier@localhost&gt;" in page
    assert "Boulangère &lt;b@example.org&gt;" in page and "Facture n°1" in page
    assert "=?utf-8?" not in page
    assert "À partir du" not in page  # the date range's "From", not a sender's


# --- 3. the current logo links to the logo page --------------------------------------------


def test_current_logo_links_to_the_logo_page(owner_client):
    image = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(image, "PNG")
    upload = ContentFile(image.getvalue(), name="mon-logo.png")
    data = {"accent_colour": "#1f4e79", "invoice_layout": "classic", "invoice_footer": ""}
    response = owner_client.post(reverse("web:settings_branding"), data | {"logo": upload})
    assert response.status_code == 302
    page = owner_client.get(reverse("web:settings_branding")).content.decode()
    # The stored name may carry a suffix (the storage never overwrites an earlier logo).
    link = re.search(r'<a href="([^"]+)">logo[^<]*\.png</a>', page)
    assert link is not None and link.group(1) == reverse("web:company_logo")
    assert 'href="logos/' not in page
    assert owner_client.get(link.group(1)).status_code == 200


# --- 5. quantities and prices without trailing zeros ---------------------------------------


def test_quantities_and_prices_without_trailing_zeros(owner_client, make_draft):
    draft = make_draft([
        LineData(description="Heures", quantity=D("2.5"), unit_price=D("0.125")),
        LineData(description="Remise", quantity=D(1), unit_price=D("-50")),
        LineData(description="Forfait", quantity=D(4), unit_price=D(100)),
    ])  # fmt: skip
    detail = owner_client.get(reverse("web:invoice", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    cells = re.findall(r'<td class="num">([^<]*)</td>', detail.content.decode())
    assert "2,5" in cells and "4" in cells and "2,5000" not in cells
    assert "0,125\u00a0€" in cells and "100,00\u00a0€" in cells and "-50,00\u00a0€" in cells
    edit = owner_client.get(reverse("web:invoice_edit", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    html = edit.content.decode()
    assert 'value="2,5"' in html and 'value="0,125"' in html and 'value="-50"' in html
    assert "0000" not in "".join(re.findall(r'value="([^"]*)"', html))


def test_number_fields_drop_trailing_zeros_but_money_keeps_its_cents():
    assert NumberField().prepare_value(D("-50.000000")) == "-50"
    assert NumberField(min_places=2).prepare_value(D("120")) == "120.00"


def test_subscription_detail_quantity(owner_client, customer):
    sub = subscription_create(
        customer=customer, name="Heures", actor=SYS, frequency_unit="month",
        anchor=date(2026, 12, 1),
        lines=[SubscriptionLineData(description="Heures", quantity=D("4.5"), unit_price=D(80))],
    )  # fmt: skip
    page = owner_client.get(reverse("web:subscription", args=[sub.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    cells = re.findall(r'<td class="num">([^<]*)</td>', page.content.decode())
    assert "4,5" in cells and "4,5000" not in cells


# --- 6. a paid invoice: no payment link, and its URL shows the form with a message -----------


def test_paid_invoice_payment_link(owner_client, make_draft, customer):
    invoice = invoice_issue(make_draft(), actor=SYS)
    payment_record(customer=customer, amount=D(120), received_on=date(2026, 11, 28),
                   method="transfer", actor=SYS)  # fmt: skip
    invoice.refresh_from_db()
    assert invoice.settlement == "paid"
    url = f"{reverse('web:payment_new')}?invoice={invoice.pk}"
    detail = owner_client.get(reverse("web:invoice", args=[invoice.pk])).content.decode()
    assert url not in detail
    page = owner_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert f"{invoice.number} is already paid in full." in html
    assert 'name="invoice"' not in html  # the payment is not tied to the paid invoice
    assert page.context["form"]["customer"].value() == customer.pk
    # Posted for the invoice paid meanwhile: refused with the message, nothing recorded.
    form = {"customer": str(customer.pk), "amount": "10", "received_on": "2026-11-28",
            "method": "transfer", "reference": "", "invoice": str(invoice.pk)}  # fmt: skip
    response = owner_client.post(reverse("web:payment_new"), form)
    assert response.status_code == 200
    assert "already paid in full" in response.content.decode()
    assert Payment.objects.count() == 1


# --- 7. one clear message per mistake, each its own list item --------------------------------


def test_short_password_is_not_also_said_to_differ(owner_client):
    data = {"username": "bob", "email": "", "role": "sales", "password1": "123",
            "password2": "123"}  # fmt: skip
    response = owner_client.post(reverse("web:settings_users"), data)
    form = response.context["form"]
    assert form.errors["password1"] and "password2" not in form.errors
    html = response.content.decode()
    errors = html.split('id="id_password1_error">')[1].split("</ul>")[0]
    assert errors.count("<li>") == len(form.errors["password1"]) >= 2
    assert "</li><li>" not in errors  # separated, even as plain text
    data["password2"] = "another one"
    response = owner_client.post(reverse("web:settings_users"), data)
    assert "password2" not in response.context["form"].errors  # the first one is wrong


def test_credit_amount_below_zero_gives_one_message(owner_client, make_draft):
    invoice = invoice_issue(make_draft(), actor=SYS)
    form = {"scope": "partial", "amount": "-5", "description": "Geste", "vat_code": "FR-20",
            "kind": "services", "reason": ""}  # fmt: skip
    response = owner_client.post(reverse("web:invoice_credit", args=[invoice.pk]), form)
    assert len(response.context["credit_form"].errors["amount"]) == 1


# --- 8. a damaged archived file is refused, never served ------------------------------------


def _archived(invoice: Invoice, pdf: bytes, xml: bytes) -> ArchivedDocument:
    pdf_name = default_storage.save(f"qa/{invoice.pk}.pdf", ContentFile(pdf))
    xml_name = default_storage.save(f"qa/{invoice.pk}.xml", ContentFile(xml))
    return ArchivedDocument.objects.create(
        invoice=invoice, pdf_name=pdf_name, pdf_sha256=file_sha256(pdf),
        xml_name=xml_name, xml_sha256=file_sha256(xml),
    )  # fmt: skip


def test_damaged_archive_is_refused(owner_client, make_draft):
    invoice = invoice_issue(make_draft(), actor=SYS)
    archive = _archived(invoice, b"%PDF-1.7 original", b"<xml/>")
    url = reverse("web:invoice_pdf", args=[invoice.pk])
    served = owner_client.get(url)
    assert b"".join(served.streaming_content) == b"%PDF-1.7 original"
    default_storage.delete(archive.pdf_name)
    default_storage.save(archive.pdf_name, ContentFile(b"%PDF-1.7 forged"))
    response = owner_client.get(url, follow=True)
    assert response.redirect_chain == [(reverse("web:invoice", args=[invoice.pk]), 302)]
    assert "was altered since it was written" in response.content.decode()
    default_storage.delete(archive.xml_name)
    response = owner_client.get(reverse("web:invoice_xml", args=[invoice.pk]), follow=True)
    assert response.status_code == 200 and "is missing" in response.content.decode()


# --- 9. the forecast CSV like the invoices' -------------------------------------------------


def test_forecast_csv_is_like_the_invoice_csv(owner_client, customer, make_draft):
    subscription_create(
        customer=customer, name="Hébergement", actor=SYS, frequency_unit="month",
        anchor=date(2026, 12, 1),
        lines=[SubscriptionLineData(description="Hébergement", unit_price=D(50))],
    )  # fmt: skip
    forecast = b"".join(owner_client.get(reverse("web:forecast_csv")).streaming_content)
    invoices = b"".join(owner_client.get(reverse("web:export_invoices")).streaming_content)
    assert forecast.startswith("\ufeff".encode()) and invoices.startswith("\ufeff".encode())
    header = next(csv.reader(io.StringIO(forecast.decode().lstrip("\ufeff")), delimiter=";"))
    invoice_header = next(
        csv.reader(io.StringIO(invoices.decode().lstrip("\ufeff")), delimiter=";")
    )
    assert header[0] == "Date d'émission" and "Date d'émission" in invoice_header
    assert set(header) - set(invoice_header) <= {"Abonnement", "Estimé"}
    iso = b"".join(
        owner_client.get(reverse("web:forecast_csv"), {"style": "iso"}).streaming_content
    )
    assert not iso.startswith("\ufeff".encode()) and b"2026-12-01," in iso


# --- 10. a credit note after a partial one: the rest, in excl. VAT ---------------------------


def test_credit_the_rest_after_a_partial_credit_note(owner_client: Client, make_draft):
    invoice = invoice_issue(make_draft(), actor=SYS)  # 100 excl. VAT, 120 incl.
    credit_note_create(invoice, actor=SYS, lines=[LineData(
        description="Geste", quantity=D(1), unit_price=D(30), vat_code="FR-20")])  # fmt: skip
    url = reverse("web:invoice", args=[invoice.pk])
    page = owner_client.get(url).content.decode()
    assert "What remains to credit (€70.00 excl. VAT)" in page
    assert "The whole invoice" not in page
    assert "At most €70.00 excl. VAT remains to credit (€84.00 incl. VAT)." in page
    form = {"scope": "partial", "amount": "80", "description": "Trop", "vat_code": "FR-20",
            "kind": "services", "reason": ""}  # fmt: skip
    credit_url = reverse("web:invoice_credit", args=[invoice.pk])
    refused = owner_client.post(credit_url, form)
    assert refused.context["credit_form"].errors["amount"] == [
        "At most €70.00 excl. VAT remains to credit on this invoice."
    ]
    response = owner_client.post(credit_url, form | {"scope": "full"})
    assert response.status_code == 302
    notes = Invoice.objects.filter(corrects=invoice, status="issued").order_by("pk")
    assert [(n.total_net, n.total_gross) for n in notes] == [
        (D("30.00"), D("36.00")),
        (D("70.00"), D("84.00")),
    ]
    page = owner_client.get(url).content.decode()
    assert reverse("web:invoice_credit", args=[invoice.pk]) not in page  # nothing left


def test_credit_form_before_any_credit_note(owner_client: Client, make_draft):
    invoice = invoice_issue(make_draft(), actor=SYS)
    page = owner_client.get(reverse("web:invoice", args=[invoice.pk])).content.decode()
    assert "The whole invoice" in page
    assert "At most €100.00 excl. VAT remains to credit (€120.00 incl. VAT)." in page
