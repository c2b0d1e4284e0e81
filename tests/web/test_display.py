"""Numbers and page furniture shown the French way."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from facturier.billing.models import Company
from facturier.billing.services import invoice_issue
from facturier.billing.services.dunning import invoice_dispute_set
from facturier.web.forms.common import NumberField
from tests.actors import SYS


def test_the_capital_is_shown_and_read_with_a_french_decimal_comma(
    owner_client: Client, company: Company
) -> None:
    page = owner_client.get("/settings/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    expected = str(company.share_capital).replace(".", ",")
    assert f'value="{expected}"' in page
    from decimal import Decimal

    from django.utils import translation

    with translation.override("fr"):
        assert NumberField().clean("10 000,50") == Decimal("10000.50")
    with translation.override("en"):  # the English grouping is read on an English page
        assert NumberField().clean("10,000.50") == Decimal("10000.50")


def test_pages_declare_their_icon(owner_client: Client) -> None:
    page = owner_client.get("/").content.decode()
    assert 'rel="icon" href="/static/web/favicon.svg"' in page


def test_reminder_schedule_reads_as_words(owner_client: Client, make_draft: Any) -> None:
    invoice = invoice_issue(make_draft(), actor=SYS)
    page = owner_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "planned" in page
    invoice_dispute_set(invoice, disputed=True, by=SYS)
    page = owner_client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "stopped: disputed" in page
    assert '<span class="badge">disputed</span>' not in page  # never the bare code


def test_line_forms_share_one_template(owner_client: Client) -> None:
    subscription = owner_client.get("/subscriptions/new/").content.decode()
    invoice = owner_client.get("/invoices/new/").content.decode()
    assert 'name="lines-0-description"' in subscription
    assert 'name="lines-0-description"' in invoice
    # Only a subscription's line says whether its amount is fixed, metered or to confirm.
    assert 'name="lines-0-mode"' in subscription
    assert 'name="lines-0-mode"' not in invoice


def test_email_kinds_are_named_in_french(owner_client: Client) -> None:
    page = owner_client.get("/settings/emails/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Facture envoyée au client" in page
    assert "Relance, niveau 2" in page
    assert "Invoice sent to the customer" not in page


def test_who_did_it_reads_as_a_person_would(owner_client, customer, settings):
    """The invoice said "Issued by billing-run" and the runs page "vm:14956": the system's
    own names are shown as words, in the page's language."""
    from datetime import date
    from decimal import Decimal

    from django.urls import reverse

    from facturier.billing.models import BillingRun, Invoice
    from facturier.billing.services.billing_run import billing_run
    from facturier.billing.services.subscriptions import (
        SubscriptionLineData,
        subscription_create,
    )
    from tests.actors import SYS

    subscription_create(
        customer=customer, name="Maintenance", actor=SYS, frequency_unit="month",
        anchor=date.today(), lines=[SubscriptionLineData(description="M", unit_price=Decimal(9))],
    )  # fmt: skip
    billing_run(worker="vm:14956")
    invoice = Invoice.objects.get()
    page = owner_client.get(reverse("web:invoice", args=[invoice.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    assert "Facturation automatique" in page.content.decode()
    assert "billing-run" not in page.content.decode()
    run = BillingRun.objects.get()
    page = owner_client.get(reverse("web:run", args=[run.pk])).content.decode()
    assert "Worker (vm:14956)" in page


@pytest.mark.parametrize(
    "name",
    ["web:exports", "web:customer_new", "web:subscription_create", "web:invoice_new",
     "web:payment_new", "web:settings", "web:settings_reminders", "web:settings_users"],
)  # fmt: skip
def test_ids_are_unique_and_labels_find_their_field(owner_client, customer, name):
    """The exports page repeated its fields' ids across its three forms: a label focused the
    wrong form's field."""
    import re
    from collections import Counter

    from django.urls import reverse

    page = owner_client.get(reverse(name)).content.decode()
    ids = Counter(re.findall(r'\sid="([^"]+)"', page))
    assert [i for i, n in ids.items() if n > 1] == []
    targets = re.findall(r'<label[^>]*\sfor="([^"]+)"', page)
    assert targets and [t for t in targets if t not in ids] == []
