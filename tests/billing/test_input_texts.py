"""Texts that reach an email header, a file name or a PDF are refused by the services when
they hold a control or invisible character, or show nothing, whatever the path (web, CLI,
API); multi-line texts keep their line breaks; an email's body has a size limit. Every
refusal names its field and changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import translation

from facturier.billing.models import (
    AuditEvent,
    Company,
    Customer,
    EmailTemplate,
    Invoice,
    Payment,
    Product,
    ReminderLevel,
    Subscription,
)
from facturier.billing.services import (
    InvalidInput,
    LineData,
    company_update,
    customer_create,
    customer_update,
    invoice_create,
    payment_record,
    product_create,
)
from facturier.billing.services.dunning import reminder_level_change, reminder_policy
from facturier.billing.services.limits import check_text, check_visible
from facturier.billing.services.subscriptions import SubscriptionLineData, subscription_create
from facturier.mail.templates import BODY_MAX, email_template_save
from tests.actors import SYS

D = Decimal

# What a person could paste, and what it does once it reaches a header, a name or a PDF.
REFUSED = {
    "header injection": "Evil\r\nBcc: victim@example.org",
    "line feed": "Evil\nBcc: victim@example.org",
    "NUL": "Atelier\x00",
    "C1 next line": "Atelier\x85Bcc",
    "escape": "Atelier\x1b[31m",
    "delete": "Atelier\x7f",
    "right-to-left override": "facture\u202efdp.exe",
    "left-to-right isolate": "Atelier \u2066x\u2069",
    "zero-width space": "Bou\u200blangerie",
    "zero-width joiner": "Bou\u200dlangerie",
    "word joiner": "Bou\u2060langerie",
    "byte-order mark": "\ufeffBoulangerie",
    "line separator": "Atelier\u2028Bcc",
}


@pytest.fixture(autouse=True)
def _english():
    with (
        time_machine.travel(datetime(2026, 11, 28, 10, tzinfo=UTC), tick=False),
        translation.override("en"),
    ):
        yield


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_check_text_refuses_controls_and_invisible_characters(text):
    with pytest.raises(InvalidInput, match=r"control or invisible character \(U\+[0-9A-F]{4}\)"):
        check_text(text, "name", max_length=200)
    if "\r\n" in text or (text.count("\n") == 1 and "\x85" not in text):
        # A multi-line text keeps its line breaks, a CR LF as LF.
        assert check_text(text, "notes", max_length=None, multiline=True) == text.replace(
            "\r\n", "\n"
        )


def test_check_text_keeps_what_people_write():
    for text in ("Boulangerie Martin", "Café « Le Zinc » & Fils", "株式会社", "Ōsaka – 大阪",
                 "مطعم", "שלום", "👩‍💻 Studio"[3:], "Straße", "l'Atelier"):  # fmt: skip
        assert check_text(text, "name", max_length=200) == text
    assert check_text("Ligne 1\r\nLigne 2\n\tRetrait", "notes", max_length=None,
                      multiline=True) == "Ligne 1\nLigne 2\n\tRetrait"  # fmt: skip
    with pytest.raises(InvalidInput, match="U\\+000D"):
        check_text("Ligne 1\rLigne 2", "notes", max_length=None, multiline=True)
    with pytest.raises(InvalidInput, match="U\\+0009"):
        check_text("a\tb", "name", max_length=200)  # a tab is a header's folding


@pytest.mark.parametrize("text", [" ", "\u3164", "\u2800\u2800", "\u00a0\u3000", "\u0301"])
def test_a_text_that_shows_nothing_is_refused(text):
    with pytest.raises(InvalidInput, match="shows nothing") as err:
        check_visible(text, "legal_name")
    assert err.value.field == "legal_name"
    assert check_visible("", "trade_name") == ""
    assert check_visible("\u3164A", "legal_name") == "\u3164A"


# --- every service that writes such a text ---------------------------------------------------


def _state() -> tuple[Any, ...]:
    return (
        list(Company.objects.values_list("legal_name", "trade_name", "invoice_footer")),
        list(Customer.objects.values_list("legal_name", "code", "address_line1", "city")),
        Product.objects.count(),
        Invoice.objects.count(),
        Payment.objects.count(),
        Subscription.objects.count(),
        EmailTemplate.objects.count(),
        list(ReminderLevel.objects.values_list("name", flat=True)),
        AuditEvent.objects.count(),
    )


def _writes(company: Company, customer: Customer, text: str) -> list[tuple[str, Any]]:
    """(field, a call writing `text` there) for every service that takes such a text."""
    new_customer = {
        "company": company, "kind": "consumer", "address_line1": "1 rue X", "postcode": "75001",
        "city": "Paris", "billing_emails": ["a@example.org"],
    }  # fmt: skip

    def sub(**kw: Any) -> Any:
        args = {"name": "Hébergement", **kw}
        return subscription_create(customer=customer, actor=SYS, frequency_unit="month",
                                   anchor=date(2026, 12, 1), lines=[SubscriptionLineData(
                                       description="x", unit_price=D(1))], **args)  # fmt: skip

    def draft(**kw: Any) -> Any:
        line = LineData(description=kw.pop("description", "Service"), unit_price=D(100))
        return invoice_create(actor=SYS, company=company, customer=customer, lines=[line], **kw)

    level = reminder_policy(company)[0].level
    return [
        ("legal_name", lambda: company_update(company, actor=SYS, legal_name=text)),
        ("trade_name", lambda: company_update(company, actor=SYS, trade_name=text)),
        ("invoice_footer", lambda: company_update(company, actor=SYS, invoice_footer=text)),
        ("city", lambda: company_update(company, actor=SYS, city=text)),
        ("legal_name", lambda: customer_create(legal_name=text, **new_customer)),
        ("code", lambda: customer_create(legal_name="X", code=text, **new_customer)),
        ("legal_name", lambda: customer_update(customer, legal_name=text)),
        ("address_line1", lambda: customer_update(customer, address_line1=text)),
        ("delivery_city", lambda: customer_update(customer, delivery_city=text)),
        ("billing_emails", lambda: customer_update(customer, billing_emails=[f"{text}@x.org"])),
        (
            "name",
            lambda: product_create(company=company, sku="P1", name=text, unit_price=D(1)),
        ),
        ("sku", lambda: product_create(company=company, sku=text, name="P", unit_price=D(1))),
        ("lines[1].description", lambda: draft(description=text)),
        ("customer_po", lambda: draft(customer_po=text[:50])),
        (
            "reference",
            lambda: payment_record(
                customer=customer,
                amount=D(1),
                received_on=date(2026, 11, 2),
                method="transfer",
                reference=text,
                actor=SYS,
            ),
        ),
        ("name", lambda: sub(name=text)),
        ("customer_po", lambda: sub(customer_po=text[:50])),
        (
            "subject",
            lambda: email_template_save(
                company,
                kind="invoice",
                language="fr",
                subject=text + " {number}",
                body="{number}",
                actor=SYS,
            ),
        ),
        (
            f"levels[{level}].name",
            lambda: reminder_level_change(company, level, by=SYS, name=text),
        ),
    ]


@pytest.mark.parametrize(
    "text",
    [REFUSED["header injection"], REFUSED["right-to-left override"], REFUSED["zero-width space"],
     "\u3164"],
    ids=["CR LF", "RLO", "ZWSP", "blank"],
)  # fmt: skip
def test_every_text_a_service_writes_is_checked(company, customer, text):
    writes = _writes(company, customer, text)
    before = _state()
    for field, write in writes:
        if text == "\u3164" and field in ("billing_emails", "customer_po", "reference", "subject"):
            continue  # not refused there: an optional reference, a subject with its number
        with pytest.raises(InvalidInput) as err:
            write()
        assert err.value.field == field, (field, err.value)
    assert _state() == before


def test_multi_line_texts_keep_their_lines(company, customer):
    product = product_create(company=company, sku="P1", name="Conseil", unit_price=D(1),
                             description="Une ligne\r\nUne autre")  # fmt: skip
    assert product.description == "Une ligne\nUne autre"
    notes = "Merci !\r\n\tRéf. 12"
    draft = invoice_create(actor=SYS, company=company, customer=customer, notes=notes,
                           lines=[LineData(description="Service", unit_price=D(1))])  # fmt: skip
    assert Invoice.objects.get(pk=draft.pk).notes == "Merci !\n\tRéf. 12"
    with pytest.raises(InvalidInput) as err:
        invoice_create(actor=SYS, company=company, customer=customer, notes="a\x00b",
                       lines=[LineData(description="Service", unit_price=D(1))])  # fmt: skip
    assert err.value.field == "notes"
    body = "Bonjour,\r\n\r\nVotre facture {number}."
    saved = email_template_save(company, kind="invoice", language="fr", subject="F {number}",
                                body=body, actor=SYS)  # fmt: skip
    assert saved.body == "Bonjour,\n\nVotre facture {number}.\n"
    assert Invoice.objects.count() == 1


def test_an_email_body_has_a_size_limit(company):
    body = "{number} " + "x" * BODY_MAX
    with pytest.raises(InvalidInput, match="at most 20000 characters") as err:
        email_template_save(company, kind="invoice", language="fr", subject="Facture {number}",
                            body=body, actor=SYS)  # fmt: skip
    assert err.value.field == "body"
    assert not EmailTemplate.objects.exists()
    assert not AuditEvent.objects.filter(action="email_template.saved").exists()
    fits = "{number} " + "x" * (BODY_MAX - 9)
    assert email_template_save(company, kind="invoice", language="fr", subject="F {number}",
                               body=fits, actor=SYS).pk  # fmt: skip
