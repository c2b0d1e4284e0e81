"""Invoice pages: list (filters, totals, pagination), one-off invoice, detail with the
archived files, delivery log, reminders and payments, every action and its refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.urls import reverse

from facturier.billing.models import (
    ArchivedDocument,
    BilledPeriod,
    DeliveryAttempt,
    Invoice,
    OutboxMessage,
    Reminder,
)
from facturier.billing.services import (
    credit_note_create,
    invoice_issue,
    payment_record,
)
from facturier.billing.services.billing_run import billing_run
from facturier.billing.services.dunning import invoice_dispute_set
from facturier.billing.services.parties import company_update
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.worker.render import document_render
from tests.actors import SYS
from tests.web._billing import other_customer, restrict_sales, stranger_client

D = Decimal
NOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _issued(make_draft, **kwargs):
    return invoice_issue(make_draft(**kwargs), actor=SYS)


def _archive(invoice):
    document_render(OutboxMessage.objects.get(key=f"render:{invoice.pk}"))
    return ArchivedDocument.objects.get(invoice=invoice)


def _new_form(customer, **overrides):
    data = {
        "customer": str(customer.pk),
        "period_start": "",
        "period_end": "",
        "payment_terms_days": "",
        "customer_po": "BC-12",
        "notes": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "100",
        "lines-0-product": "",
        "lines-0-description": "Audit",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "1 234,50",
        "lines-0-vat_code": "FR-20",
        "lines-0-unit_code": "C62",
        "lines-0-discount_percent": "0",
        "lines-0-kind": "services",
    }
    data.update(overrides)
    return data


# --- list ----------------------------------------------------------------------------------


def test_list_totals_filters_and_french_display(owner_client, make_draft, customer, company):
    a = _issued(make_draft)  # 120.00
    b = _issued(make_draft)
    payment_record(customer=customer, amount=D("20.00"), received_on=date(2026, 11, 28),
                   method="transfer", allocations=[(a, D("20.00"))], actor=SYS)  # fmt: skip
    credit_note_create(b, actor=SYS)  # cancels b
    make_draft()
    url = reverse("web:invoices")
    response = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
    page = response.content.decode()
    assert response.status_code == 200
    totals = response.context["totals"]
    # 3 × 120 issued or drafted, minus the 120 credit note; 100 still owed on a.
    assert totals["count"] == 4
    assert totals["gross"] == D("240.00")
    assert totals["balance"] == D("100.00")
    assert "240,00\u00a0€" in page and "100,00\u00a0€" in page
    assert "28/11/2026" in page
    page = owner_client.get(url, {"status": "draft"}).content.decode()
    assert a.number not in page and "Draft #" in page
    page = owner_client.get(url, {"settlement": "partial"}).content.decode()
    assert a.number in page and b.number not in page
    page = owner_client.get(url, {"doc_type": "credit_note"}).content.decode()
    assert "credit note" in page and a.number not in page
    page = owner_client.get(url, {"q": a.number}).content.decode()
    assert a.number in page and b.number not in page
    december = owner_client.get(url, {"start": "2026-12-01"})
    assert december.context["totals"]["count"] == 0
    wrong = owner_client.get(url, {"start": "not a date", "status": "draft"})
    assert wrong.status_code == 200  # the wrong date is shown and left out, the rest applies
    assert wrong.context["totals"]["count"] == 1
    assert 'id="id_start_error"' in wrong.content.decode()


def test_overdue_and_disputed_filters(owner_client, owner, make_draft, company):
    late = _issued(make_draft, payment_terms_days=0)
    _issued(make_draft)
    with time_machine.travel(datetime(2026, 12, 5, 10, tzinfo=UTC), tick=False):
        owner_client.force_login(owner)  # a week later: the idle session was signed out
        response = owner_client.get(reverse("web:invoices"), {"overdue": "on"})
    assert [i.pk for i in response.context["page_obj"]] == [late.pk]
    assert "overdue" in response.content.decode()
    invoice_dispute_set(late, disputed=True, by=SYS)
    response = owner_client.get(reverse("web:invoices"), {"disputed": "on"})
    assert [i.pk for i in response.context["page_obj"]] == [late.pk]


def test_list_paginates_with_a_fixed_number_of_queries(
    owner_client, make_draft, django_assert_max_num_queries
):
    for _ in range(55):
        make_draft()
    with django_assert_max_num_queries(12):
        first = owner_client.get(reverse("web:invoices"))
    assert len(first.context["page_obj"]) == 50
    second = owner_client.get(reverse("web:invoices"), {"page": "2"})
    assert len(second.context["page_obj"]) == 5
    assert "page=2" in first.content.decode()


# --- one-off invoice -----------------------------------------------------------------------


def test_save_a_draft(owner_client, customer):
    response = owner_client.post(reverse("web:invoice_new"), _new_form(customer, draft="1"))
    invoice = Invoice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:invoice", args=[invoice.pk])
    assert invoice.status == "draft" and invoice.number is None
    assert invoice.total_net == D("2469.00") and invoice.customer_po == "BC-12"


def test_create_and_issue(accountant_client, customer):
    response = accountant_client.post(reverse("web:invoice_new"), _new_form(customer, issue="1"))
    invoice = Invoice.objects.get()
    assert response.status_code == 302
    assert invoice.number == "F2026-00001" and invoice.issue_date == date(2026, 11, 28)


@pytest.mark.parametrize(
    ("overrides", "error_id"),
    [
        ({"lines-0-unit_price": "abc"}, "id_lines-0-unit_price_error"),
        ({"lines-0-quantity": "1,00001"}, "id_lines-0-quantity_error"),
        ({"customer": ""}, "id_customer_error"),
        ({"period_start": "2026-12-01", "period_end": "2026-11-01"}, "id_period_end_error"),
        ({"payment_terms_days": "90"}, "id_payment_terms_days_error"),
        ({"lines-0-discount_percent": "150"}, "id_lines-0"),
    ],
)
def test_new_invoice_errors_next_to_the_field(owner_client, customer, overrides, error_id):
    data = {**_new_form(customer, issue="1"), **overrides}
    response = owner_client.post(reverse("web:invoice_new"), data)
    assert response.status_code == 200
    assert error_id in response.content.decode()
    assert not Invoice.objects.exists()


def test_issue_refused_for_a_missing_mention_creates_nothing(owner_client, customer, company):
    company_update(company, actor=SYS, rcs_city="")
    response = owner_client.post(reverse("web:invoice_new"), _new_form(customer, issue="1"))
    assert response.status_code == 200
    assert "RCS" in response.content.decode()
    assert not Invoice.objects.exists()  # not even a draft left behind


def test_sales_prepares_drafts_but_may_not_issue(sales_client, customer):
    response = sales_client.post(reverse("web:invoice_new"), _new_form(customer, issue="1"))
    assert response.status_code == 403
    assert not Invoice.objects.exists()
    page = sales_client.get(reverse("web:invoice_new")).content.decode()
    assert 'name="issue"' not in page
    response = sales_client.post(reverse("web:invoice_new"), _new_form(customer, draft="1"))
    assert response.status_code == 302 and Invoice.objects.get().status == "draft"


# --- detail and files ----------------------------------------------------------------------


def test_detail_shows_everything_and_serves_the_archived_bytes(owner_client, make_draft, customer):
    invoice = _issued(make_draft)
    archive = _archive(invoice)
    attempt = DeliveryAttempt.objects.create(
        message=OutboxMessage.objects.get(key=f"render:{invoice.pk}"), invoice=invoice,
        recipient="compta@boulangerie.example", field="to", outcome="failed",
        error="550 mailbox unavailable", attempted_at=NOW,
    )  # fmt: skip
    payment_record(customer=customer, amount=D("50.00"), received_on=date(2026, 11, 28),
                   method="cheque", reference="CHQ 7", actor=SYS)  # fmt: skip
    Reminder.objects.create(invoice=invoice, level=1, sent_on=date(2026, 11, 28), days_late=3,
                            amount_due=D("70.00"))  # fmt: skip
    url = reverse("web:invoice", args=[invoice.pk])
    page = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert invoice.number in page
    assert "120,00\u00a0€" in page and "70,00\u00a0€" in page  # total and still owed
    assert attempt.recipient in page and "550 mailbox unavailable" in page
    assert "CHQ 7" in page
    assert reverse("web:invoice_pdf", args=[invoice.pk]) in page
    pdf = owner_client.get(reverse("web:invoice_pdf", args=[invoice.pk]))
    body = b"".join(pdf.streaming_content)
    with default_storage.open(archive.pdf_name, "rb") as stored:
        assert body == stored.read()
    assert pdf["Content-Type"] == "application/pdf"
    xml = owner_client.get(reverse("web:invoice_xml", args=[invoice.pk]))
    assert b"CrossIndustryInvoice" in b"".join(xml.streaming_content)
    assert f"{invoice.number}.xml" in xml["Content-Disposition"]


def test_files_not_archived_yet_are_not_found(owner_client, make_draft):
    invoice = _issued(make_draft)
    assert owner_client.get(reverse("web:invoice_pdf", args=[invoice.pk])).status_code == 404
    page = owner_client.get(reverse("web:invoice", args=[invoice.pk])).content.decode()
    assert "being archived" in page


# --- actions -------------------------------------------------------------------------------


def test_issue_a_one_off_draft(owner_client, make_draft):
    draft = make_draft()
    response = owner_client.post(reverse("web:invoice_issue", args=[draft.pk]))
    draft.refresh_from_db()
    assert response.status_code == 302 and draft.number == "F2026-00001"


def test_confirm_a_subscription_draft(owner_client, customer, company):
    subscription_create(
        customer=customer, name="Heures", actor=SYS, frequency_unit="month",
        anchor=date(2026, 11, 1), review_before_issue=True,
        lines=[SubscriptionLineData(description="Heures", quantity=D(3), unit_price=D(80))],
    )  # fmt: skip
    billing_run(company=company)
    draft = Invoice.objects.get(status="draft")
    page = owner_client.get(reverse("web:invoice", args=[draft.pk])).content.decode()
    assert "Confirm and issue" in page
    owner_client.post(reverse("web:invoice_issue", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == "issued"
    assert BilledPeriod.objects.get(invoice=draft).outcome == "invoiced"


def test_refused_issue_shows_why_and_changes_nothing(owner_client, make_draft, company):
    draft = make_draft()
    company_update(company, actor=SYS, rcs_city="")
    response = owner_client.post(reverse("web:invoice_issue", args=[draft.pk]), follow=True)
    assert response.status_code == 200
    assert "RCS" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.number is None


def test_delete_a_draft_and_not_an_issued_invoice(owner_client, make_draft):
    draft = make_draft()
    assert owner_client.post(reverse("web:invoice_delete", args=[draft.pk])).status_code == 302
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    issued = _issued(make_draft)
    response = owner_client.post(reverse("web:invoice_delete", args=[issued.pk]), follow=True)
    assert "cannot be deleted" in response.content.decode()
    assert Invoice.objects.filter(pk=issued.pk).exists()


def test_send_again(owner_client, make_draft):
    invoice = _issued(make_draft)
    response = owner_client.post(reverse("web:invoice_send", args=[invoice.pk]), follow=True)
    assert "not archived yet" in response.content.decode()
    assert not OutboxMessage.objects.filter(kind="email.invoice").exists()
    _archive(invoice)
    response = owner_client.post(reverse("web:invoice_send", args=[invoice.pk]), follow=True)
    assert "sent again" in response.content.decode()
    message = OutboxMessage.objects.get(kind="email.invoice")
    assert message.invoice_id == invoice.pk and message.payload["by_hand"]


def test_reminder_now_and_dispute(owner_client, make_draft):
    invoice = _issued(make_draft)
    response = owner_client.post(reverse("web:invoice_remind", args=[invoice.pk]))
    assert response.status_code == 302
    reminder = Reminder.objects.get()
    assert reminder.manual and reminder.created_by == "olivia"
    owner_client.post(reverse("web:invoice_dispute", args=[invoice.pk]), {"disputed": "1"})
    invoice.refresh_from_db()
    assert invoice.disputed
    response = owner_client.post(reverse("web:invoice_remind", args=[invoice.pk]), follow=True)
    assert "disputed" in response.content.decode()
    assert Reminder.objects.count() == 1
    owner_client.post(reverse("web:invoice_dispute", args=[invoice.pk]), {"disputed": "0"})
    invoice.refresh_from_db()
    assert not invoice.disputed


def test_credit_notes_full_partial_and_too_much(owner_client, make_draft):
    invoice = _issued(make_draft)  # 100 + 20 VAT
    url = reverse("web:invoice_credit", args=[invoice.pk])
    data = {"scope": "partial", "description": "Geste", "amount": "30", "vat_code": "FR-20",
            "kind": "services", "reason": "Retard"}  # fmt: skip
    response = owner_client.post(url, data)
    note = Invoice.objects.get(doc_type="credit_note")
    assert response["Location"] == reverse("web:invoice", args=[note.pk])
    assert note.total_gross == D("36.00") and note.corrects_id == invoice.pk
    response = owner_client.post(url, {**data, "amount": "80"})
    assert response.status_code == 200
    assert 'id="id_amount_error"' in response.content.decode()
    assert "At most €70.00 excl. VAT remains to credit" in response.content.decode()
    response = owner_client.post(url, {**data, "description": ""})
    assert 'id="id_description_error"' in response.content.decode()
    assert Invoice.objects.filter(doc_type="credit_note").count() == 1
    # 36 already credited: "full" credits the rest (70 excl. VAT, 84 incl.).
    response = owner_client.post(url, {"scope": "full", "kind": "services"})
    assert response.status_code == 302
    notes = Invoice.objects.filter(doc_type="credit_note").order_by("pk")
    assert [note.total_gross for note in notes] == [D("36.00"), D("84.00")]


def test_full_credit_cancels(owner_client, make_draft):
    invoice = _issued(make_draft)
    url = reverse("web:invoice_credit", args=[invoice.pk])
    owner_client.post(url, {"scope": "full", "kind": "services"})
    invoice.refresh_from_db()
    assert invoice.settlement == "cancelled"


# --- permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize("role_client", ["readonly", "sales"], indirect=True)
def test_refusals_change_nothing(role_client, make_draft):
    draft = make_draft()
    invoice = _issued(make_draft)
    _archive(invoice)
    posts = [
        (reverse("web:invoice_issue", args=[draft.pk]), {}),
        (reverse("web:invoice_send", args=[invoice.pk]), {}),
        (reverse("web:invoice_remind", args=[invoice.pk]), {}),
        (reverse("web:invoice_dispute", args=[invoice.pk]), {"disputed": "1"}),
        (reverse("web:invoice_credit", args=[invoice.pk]), {"scope": "full", "kind": "services"}),
    ]
    before = OutboxMessage.objects.count()
    for url, data in posts:
        response = role_client.post(url, data)
        assert response.status_code == 403, url
    draft.refresh_from_db()
    invoice.refresh_from_db()
    assert draft.status == "draft" and not invoice.disputed
    assert Invoice.objects.count() == 2 and not Reminder.objects.exists()
    assert OutboxMessage.objects.count() == before
    page = role_client.get(reverse("web:invoice", args=[invoice.pk])).content.decode()
    assert reverse("web:invoice_send", args=[invoice.pk]) not in page
    assert reverse("web:invoice_credit", args=[invoice.pk]) not in page


def test_readonly_may_not_delete_a_draft(readonly_client, make_draft):
    draft = make_draft()
    assert readonly_client.post(reverse("web:invoice_delete", args=[draft.pk])).status_code == 403
    assert Invoice.objects.filter(pk=draft.pk).exists()


def test_hidden_customers_and_other_companies(sales_client, sales, make_draft, company, customer):
    theirs = _issued(make_draft, customer=other_customer(company))
    mine = _issued(make_draft)
    restrict_sales(company, own=customer, sales=sales)
    response = sales_client.get(reverse("web:invoices"))
    assert [i.pk for i in response.context["page_obj"]] == [mine.pk]
    assert response.context["totals"]["gross"] == mine.total_gross
    assert sales_client.get(reverse("web:invoice", args=[theirs.pk])).status_code == 404
    stranger = stranger_client()
    assert stranger.get(reverse("web:invoice", args=[mine.pk])).status_code == 404
    assert stranger.get(reverse("web:invoice_pdf", args=[mine.pk])).status_code == 404
    assert stranger.post(reverse("web:invoice_dispute", args=[mine.pk]),
                         {"disputed": "1"}).status_code == 404  # fmt: skip
    mine.refresh_from_db()
    assert not mine.disputed
    assert stranger.get(reverse("web:invoices")).context["totals"]["count"] == 0


def test_pages_in_french(owner_client, make_draft):
    draft = make_draft()
    invoice = _issued(make_draft)
    _archive(invoice)
    for url in (reverse("web:invoice_new"), reverse("web:invoice", args=[draft.pk]),
                reverse("web:invoice", args=[invoice.pk])):  # fmt: skip
        response = owner_client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 200 and '<html lang="fr">' in response.content.decode()


def test_one_customer_from_their_page(owner_client, make_draft, company, customer):
    mine = _issued(make_draft)
    theirs = _issued(make_draft, customer=other_customer(company))
    response = owner_client.get(reverse("web:invoices"), {"customer": customer.pk})
    assert [i.pk for i in response.context["page_obj"]] == [mine.pk]
    page = response.content.decode()
    assert "Boulangerie Martin" in page and theirs.number not in page
    assert 'name="customer"' in page  # kept when the other filters change


def test_credit_refused_for_a_draft_or_a_credit_note(owner_client, make_draft):
    draft = make_draft()
    url = reverse("web:invoice_credit", args=[draft.pk])
    response = owner_client.post(url, {"scope": "full", "kind": "services"}, follow=True)
    assert response.status_code == 200
    assert "only an issued invoice can be credited" in response.content.decode()
    assert not Invoice.objects.filter(doc_type="credit_note").exists()


def test_add_line_keeps_what_was_typed_without_errors(owner_client, customer):
    data = _new_form(customer, add_line="1", **{"lines-0-quantity": ""})
    response = owner_client.post(reverse("web:invoice_new"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="lines-1-description"' in page
    assert 'value="Audit"' in page
    assert 'role="alert"' not in page  # an empty quantity is not refused before saving
    assert not Invoice.objects.exists()


def test_reverse_charge_to_a_consumer_is_refused_next_to_the_line(owner_client, consumer):
    before = Invoice.objects.count()
    response = owner_client.post(
        reverse("web:invoice_new"), _new_form(consumer, **{"lines-0-vat_code": "FR-0-AE"})
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "reverse charge (autoliquidation) is for business customers only"
        in html.split('id="id_lines-0-vat_code_error"')[1].split("</ul>")[0]
    )
    assert Invoice.objects.count() == before
