"""Whatever a signed-in user of any role opens or posts (even an empty form), the answer is a
page, a redirect or a refusal: never a server error. Refused POSTs change nothing."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.mail import EmailMessage
from django.test import Client

from facturier.billing.models import (
    AuditEvent,
    Company,
    Customer,
    Invoice,
    MailboxMessage,
    Payment,
    Subscription,
)
from facturier.billing.services import invoice_issue, payment_record
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.mail.backends import MailboxBackend
from tests.actors import SYS
from tests.web.test_every_page import PAGES, PUBLIC

pytestmark = pytest.mark.django_db

ROLES = ["owner", "accountant", "sales", "readonly"]


@pytest.fixture
def objects(company: Company, customer: Customer, make_draft: Any) -> dict[str, int]:
    """One object of each kind, so that the detail pages have something to show."""
    issued = invoice_issue(make_draft(), actor=SYS)
    make_draft()
    sub = subscription_create(
        customer=customer, name="S", frequency_unit="month", anchor=date(2026, 12, 1), actor=SYS,
        lines=[SubscriptionLineData(description="x", unit_price=Decimal("10"))],
    )  # fmt: skip
    payment = payment_record(
        customer=customer, amount=Decimal("5.00"), received_on=date(2026, 11, 2),
        method="transfer", actor=SYS,
    )  # fmt: skip
    email = EmailMessage("Facture", "Bonjour", "f@example.com", ["c@example.org"])
    email.company_id = company.pk  # type: ignore[attr-defined]
    MailboxBackend().send_messages([email])
    return {
        "customers": customer.pk,
        "invoices": issued.pk,
        "subscriptions": sub.pk,
        "payments": payment.pk,
        "mailbox": MailboxMessage.objects.get().pk,
    }


def _url(path: str, objects: dict[str, int]) -> str:
    section = path.strip("/").split("/")[0]
    return re.sub(r"/1/", f"/{objects.get(section, 1)}/", path, count=1)


def _state() -> tuple[int, ...]:
    return (
        Customer.objects.count(),
        Invoice.objects.count(),
        Subscription.objects.count(),
        Payment.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize("role_client", ROLES, indirect=True)
def test_no_page_or_empty_post_is_a_server_error(
    role_client: Client, objects: dict[str, int]
) -> None:
    failures = []
    for name, path, _view in PAGES:
        if name in PUBLIC:
            continue
        url = _url(path, objects)
        for method in ("get", "post"):
            response = getattr(role_client, method)(url)
            if response.status_code >= 500:
                failures.append((name, method, url, response.status_code))
    assert failures == []


def test_readonly_posts_change_nothing(readonly_client: Client, objects: dict[str, int]) -> None:
    before = _state()
    for name, path, _view in PAGES:
        if name in PUBLIC:
            continue
        readonly_client.post(_url(path, objects), {"confirm": "1"})
    assert _state() == before
