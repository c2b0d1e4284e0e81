"""The embedded mailbox pages: list, search, one message, its attachments, who may read."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from facturier.billing.models import Company, MailboxMessage
from facturier.billing.services import company_create
from facturier.mail.backends import MailboxBackend
from tests.conftest import COMPANY_FIELDS

pytestmark = pytest.mark.django_db


def _send(company: Company, subject: str, to: str, *, pdf: bytes | None = None) -> MailboxMessage:
    email = EmailMessage(
        subject,
        "Bonjour,\nvoici la facture.\n",
        "f@example.com",
        [to],
        cc=["rep@example.com"],
        bcc=["compta@example.com"],
    )
    if pdf is not None:
        email.attach("F2026-00001.pdf", pdf, "application/pdf")
    email.company_id = company.pk  # type: ignore[attr-defined]
    MailboxBackend().send_messages([email])
    return MailboxMessage.objects.latest("pk")


def test_list_search_and_read(owner_client: Client, company: Company) -> None:
    first = _send(company, "Facture F2026-00001", "client@example.org", pdf=b"%PDF-1.7 fake")
    _send(company, "Relance F2026-00002", "other@example.org")
    listing = owner_client.get("/mailbox/").content.decode()
    assert "Facture F2026-00001" in listing and "Relance F2026-00002" in listing
    found = owner_client.get("/mailbox/", {"q": "client@example"}).content.decode()
    assert "Facture F2026-00001" in found and "Relance" not in found
    page = owner_client.get(f"/mailbox/{first.pk}/").content.decode()
    assert "voici la facture." in page
    assert "compta@example.com" in page  # the hidden copy is shown to the company
    assert "F2026-00001.pdf" in page
    attachment = owner_client.get(f"/mailbox/{first.pk}/attachments/0/")
    assert attachment.status_code == 200
    assert attachment.content == b"%PDF-1.7 fake"
    assert attachment["Content-Type"] == "application/pdf"
    assert owner_client.get(f"/mailbox/{first.pk}/attachments/5/").status_code == 404


@pytest.mark.parametrize("role_client", ["accountant", "readonly"], indirect=True)
def test_accountant_and_readonly_read_the_mailbox(role_client: Client, company: Company) -> None:
    message = _send(company, "Facture", "c@example.org")
    assert role_client.get("/mailbox/").status_code == 200
    assert role_client.get(f"/mailbox/{message.pk}/").status_code == 200


def test_sales_may_not_read_the_mailbox(sales_client: Client, company: Company) -> None:
    message = _send(company, "Facture", "c@example.org")
    response = sales_client.get(f"/mailbox/{message.pk}/")
    assert response.status_code == 403
    assert b"mailbox" in response.content
    assert sales_client.get("/mailbox/").status_code == 403


def test_another_company_message_is_not_found(owner_client: Client, company: Company) -> None:
    other = company_create(**{**COMPANY_FIELDS, "legal_name": "Autre SAS"})
    message = _send(other, "Secret", "x@example.org")
    assert owner_client.get(f"/mailbox/{message.pk}/").status_code == 404
    assert b"Secret" not in owner_client.get("/mailbox/").content
