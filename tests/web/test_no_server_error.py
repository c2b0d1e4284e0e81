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
from django.urls import reverse

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
D10 = Decimal(10)


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


# --- input that used to be a server error (security issue 10) --------------------------------


def _field_error(response: Any, field: str) -> str:
    """The error shown next to `field` (its id), '' when there is none."""
    html = response.content.decode()
    marker = f'id="{field}_error"'
    return html.split(marker, 1)[1].split("</ul>", 1)[0] if marker in html else ""


@pytest.mark.parametrize("value", ["sNaN", "-sNaN", "NaN", "Infinity", "-Infinity"])
def test_a_number_field_given_nan_is_a_field_error(
    owner_client: Client, customer: Customer, value: str
) -> None:
    """Decimal reads "sNaN", then any comparison with it raised InvalidOperation (a 500)."""
    from tests.web.test_invoices import _new_form
    from tests.web.test_subscriptions import _form as _subscription_form

    before = _state()
    for field in ("quantity", "unit_price", "discount_percent"):
        for name, form in (
            ("invoice_new", _new_form),
            ("subscription_create", _subscription_form),
            ("subscription_preview", _subscription_form),
        ):
            response = owner_client.post(
                reverse(f"web:{name}"), form(customer, **{f"lines-0-{field}": value})
            )
            assert response.status_code == 200, (name, field)
            if name == "subscription_preview":  # what keeps the preview from showing
                assert "Line 1: Enter a number." in response.content.decode()
            else:
                assert "Enter a number." in _field_error(response, f"id_lines-0-{field}"), name
    assert _state() == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"anchor": "9999-12-31"}, "anchor"),
        ({"anchor": "9999-12-31", "start": "9999-12-30"}, "anchor"),
        ({"anchor": "9999-12-31", "frequency": "semi_monthly"}, "anchor"),
    ],
)
def test_a_subscription_at_the_end_of_the_calendar_is_a_field_error(
    owner_client: Client, customer: Customer, changes: dict[str, str], field: str
) -> None:
    from tests.web.test_subscriptions import _form as _subscription_form

    before = _state()
    for name in ("subscription_create", "subscription_preview"):
        response = owner_client.post(
            reverse(f"web:{name}"), _subscription_form(customer, **changes)
        )
        assert response.status_code == 200, name
    created = owner_client.post(reverse("web:subscription_create"), _subscription_form(
        customer, **changes))  # fmt: skip
    assert _field_error(created, f"id_{field}")
    assert _state() == before


@pytest.mark.parametrize("value", ["99999999999999999999", str(2**63), "-1", "²", "abc"])
def test_a_list_filter_that_is_not_an_id_is_left_out(
    owner_client: Client, make_draft: Any, customer: Customer, value: str
) -> None:
    """On SQLite a customer id beyond 64 bits raised OverflowError (a 500)."""
    draft = make_draft()
    sub = subscription_create(
        customer=customer, name="Abonnement X", frequency_unit="month", actor=SYS,
        anchor=date(2026, 12, 1), lines=[SubscriptionLineData(description="x", unit_price=D10)],
    )  # fmt: skip
    payment_record(customer=customer, amount=Decimal("5.00"), received_on=date(2026, 11, 2),
                   method="transfer", reference="VIR-XYZ", actor=SYS)  # fmt: skip
    shown = {"invoices": f"/invoices/{draft.pk}/", "subscriptions": sub.name,
             "payments": "VIR-XYZ"}  # fmt: skip
    for name, mark in shown.items():
        response = owner_client.get(reverse(f"web:{name}"), {"customer": value})
        assert response.status_code == 200, name
        assert mark in response.content.decode(), name  # the filter is left out
    new_payment = owner_client.get(reverse("web:payment_new"), {"invoice": value})
    assert new_payment.status_code == 200


@pytest.mark.parametrize("value", ["99999999999999999999", "-1", "x"])
def test_an_export_with_a_wrong_filter_says_so_before_the_file_starts(
    owner_client: Client, make_draft: Any, value: str
) -> None:
    invoice_issue(make_draft(), actor=SYS)
    response = owner_client.get(reverse("web:export_invoices"), {"customer": value})
    assert response.status_code == 200
    assert not response.streaming  # the export page, not a file cut short
    page = response.content.decode()
    assert "Nothing was exported: these filters are not valid: customer." in page


def test_an_export_reads_its_first_rows_before_the_response_starts(
    make_draft: Any, django_assert_num_queries: Any
) -> None:
    """A query that fails does so in the view (an error page), not in the middle of a
    download: the first chunk of every export is read when the export is made."""
    from facturier.billing import exports

    make_draft()
    with django_assert_num_queries(1):
        rows = exports.invoice_rows(Invoice.objects.all())
    with django_assert_num_queries(1):
        exports.payment_rows(Payment.objects.all())
    with django_assert_num_queries(0):
        assert len(list(rows)) == 2  # the header and the draft, already read


def _png_header(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes declaring `width` × `height` pixels (no image data)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(20000, 20000), (10000, 10000), (5000, 4000), (1, 16000001)])
def test_a_logo_declaring_too_many_pixels_is_a_field_error(
    owner_client: Client, company: Company, settings: Any, tmp_path: Any, size: tuple[int, int]
) -> None:
    """Pillow raised DecompressionBombError (a 500) for 20,000 × 20,000; smaller bombs went
    through and were decoded when the PDF was rendered."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    data = _png_header(*size)
    assert len(data) < 200
    response = owner_client.post(reverse("web:settings_branding"), {
        "logo": SimpleUploadedFile("logo.png", data, content_type="image/png"),
        "accent_colour": "#123456", "invoice_layout": "classic", "invoice_footer": "",
    })  # fmt: skip
    assert response.status_code == 200
    assert "at most 16 million pixels" in _field_error(response, "id_logo")
    company.refresh_from_db()
    assert not company.logo and company.accent_colour != "#123456"
