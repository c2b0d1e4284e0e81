"""Settings pages (owner only): every form saves through its service, or explains and
changes nothing."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.test import Client
from PIL import Image

from facturier.billing.models import (
    Company,
    EmailTemplate,
    Membership,
    NumberingSeries,
    ReminderLevel,
)
from facturier.billing.services import invoice_issue
from facturier.billing.services.actors import Actor
from facturier.billing.services.dunning import reminder_policy
from facturier.web.forms.settings import CompanyForm

pytestmark = pytest.mark.django_db

SETTINGS_PAGES = [
    "/settings/",
    "/settings/terms/",
    "/settings/branding/",
    "/settings/numbering/",
    "/settings/reminders/",
    "/settings/emails/",
    "/settings/emails/invoice/fr/",
    "/settings/users/",
]


def _company_form(company: Company, **changes: Any) -> dict[str, Any]:
    data = model_to_dict(company, fields=CompanyForm.Meta.fields)
    data = {k: ("" if v is None else v) for k, v in data.items()}
    for flag in ("capital_variable", "vat_on_debits", "sales_see_own_customers_only"):
        if not data[flag]:
            data.pop(flag)
    return {**data, **changes}


@pytest.mark.parametrize("url", SETTINGS_PAGES)
def test_owner_opens_every_settings_page(owner_client: Client, url: str) -> None:
    assert owner_client.get(url).status_code == 200


@pytest.mark.parametrize("role_client", ["accountant", "sales", "readonly"], indirect=True)
@pytest.mark.parametrize("url", SETTINGS_PAGES)
def test_other_roles_are_refused(role_client: Client, url: str) -> None:
    response = role_client.get(url)
    assert response.status_code == 403
    assert b"Only an owner" in response.content


@pytest.mark.parametrize("role_client", ["accountant", "sales", "readonly"], indirect=True)
def test_refused_post_changes_nothing(role_client: Client, company: Company) -> None:
    response = role_client.post("/settings/", _company_form(company, legal_name="Hijacked"))
    assert response.status_code == 403
    company.refresh_from_db()
    assert company.legal_name == "Atelier Test"


def test_company_identity_saved_and_normalised(owner_client: Client, company: Company) -> None:
    data = _company_form(
        company,
        legal_name="Atelier Renommé",
        siret="732 829 320 00074",
        iban="fr76 3000 6000 0112 3456 7890 189",
    )
    response = owner_client.post("/settings/", data)
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.legal_name == "Atelier Renommé"
    assert company.siret == "73282932000074"
    assert company.iban == "FR7630006000011234567890189"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("iban", "FR7630006000011234567890188", "IBAN"),
        ("siret", "55210055400013", "SIRET"),
        ("share_capital", "", "capital"),
        ("vat_number", "", "VAT number"),
    ],
)
def test_company_error_next_to_its_field(
    owner_client: Client, company: Company, field: str, value: str, message: str
) -> None:
    before = model_to_dict(company)
    response = owner_client.post("/settings/", _company_form(company, **{field: value}))
    assert response.status_code == 200
    block = response.content.decode().split(f'id="id_{field}"')[1].split('<div class="field')[0]
    assert 'class="errors"' in block and message.lower() in block.lower()
    company.refresh_from_db()
    assert model_to_dict(company) == before


def test_payment_terms_over_60_days_refused(owner_client: Client, company: Company) -> None:
    data = {"payment_terms_days": "90", "late_penalty_rate": "12.15", "early_payment_discount": "x"}
    response = owner_client.post("/settings/terms/", data)
    assert response.status_code == 200
    assert 'class="errors"' in response.content.decode().split('id="id_payment_terms_days"')[1]
    company.refresh_from_db()
    assert company.payment_terms_days == 30
    data["payment_terms_days"] = "45"
    assert owner_client.post("/settings/terms/", data).status_code == 302
    company.refresh_from_db()
    assert company.payment_terms_days == 45
    assert company.late_penalty_rate == Decimal("12.15")


def _png() -> bytes:
    out = BytesIO()
    Image.new("RGB", (4, 2), "red").save(out, "PNG")
    return out.getvalue()


def test_branding_logo_and_colour(owner_client: Client, company: Company) -> None:
    data = {
        "accent_colour": "#aa0000",
        "invoice_layout": "classic",
        "invoice_footer": "Merci",
        "logo": SimpleUploadedFile("mine.png", _png(), content_type="image/png"),
    }
    response = owner_client.post("/settings/branding/", data)
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.accent_colour == "#aa0000"
    assert company.logo.name.endswith(".png")
    logo = owner_client.get("/settings/logo/")
    assert logo.status_code == 200
    assert b"".join(logo.streaming_content) == _png()  # type: ignore[attr-defined]


def test_branding_refuses_a_fake_image_and_a_bad_colour(
    owner_client: Client, company: Company
) -> None:
    data = {
        "accent_colour": "red",
        "invoice_layout": "classic",
        "invoice_footer": "",
        "logo": SimpleUploadedFile("x.png", b"not an image", content_type="image/png"),
    }
    response = owner_client.post("/settings/branding/", data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "not a PNG or JPEG" in html.split('id="id_logo"')[1]
    company.refresh_from_db()
    assert company.accent_colour == "#1f4e79" and not company.logo


def test_numbering_pattern_change_and_refusal_once_used(
    owner_client: Client, company: Company, make_draft: Any
) -> None:
    series = NumberingSeries.objects.get(company=company, doc_type="invoice")
    prefix = f"s{series.pk}-"
    data = {
        "series": series.pk,
        prefix + "pattern": "FA{YY}-{SEQ:04}",
        prefix + "yearly_reset": "on",
    }
    assert owner_client.post("/settings/numbering/", data).status_code == 302
    series.refresh_from_db()
    assert series.pattern == "FA{YY}-{SEQ:04}"
    invoice_issue(make_draft(), actor=Actor.system("test"))
    data[prefix + "pattern"] = "X{YYYY}-{SEQ:05}"
    response = owner_client.post("/settings/numbering/", data)
    assert response.status_code == 200
    assert "already issued" in response.content.decode()
    series.refresh_from_db()
    assert series.pattern == "FA{YY}-{SEQ:04}"


def _levels_post(levels: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "levels-TOTAL_FORMS": str(len(levels)),
        "levels-INITIAL_FORMS": "0",
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "10",
    }
    for i, level in enumerate(levels):
        for key, value in level.items():
            if value is not False:
                data[f"levels-{i}-{key}"] = "on" if value is True else value
    return data


def test_reminder_policy_saved(owner_client: Client, company: Company) -> None:
    levels = [
        {"name": "Relance", "days": "10", "enabled": True, "attach_invoice": True},
        {"name": "Mise en demeure", "days": "40", "enabled": True, "formal_notice": True},
    ]
    response = owner_client.post("/settings/reminders/", _levels_post(levels))
    assert response.status_code == 302
    saved = [(lv.level, lv.name, lv.days, lv.formal_notice) for lv in reminder_policy(company)]
    assert saved == [(1, "Relance", 10, False), (2, "Mise en demeure", 40, True)]


def test_reminder_policy_with_formal_notice_first_is_refused(
    owner_client: Client, company: Company
) -> None:
    before = [(lv.level, lv.days) for lv in reminder_policy(company)]
    levels = [
        {"name": "Mise en demeure", "days": "5", "enabled": True, "formal_notice": True},
        {"name": "Relance", "days": "10", "enabled": True},
    ]
    response = owner_client.post("/settings/reminders/", _levels_post(levels))
    assert response.status_code == 200
    assert b"form-errors" in response.content
    assert [
        (lv.level, lv.days)
        for lv in ReminderLevel.objects.filter(company=company).order_by("level")
    ] == before


def test_email_template_saved_then_reset(owner_client: Client, company: Company) -> None:
    url = "/settings/emails/invoice/fr/"
    data = {"subject": "Votre facture {number}", "body": "Bonjour {customer}, {amount}."}
    assert owner_client.post(url, data).status_code == 302
    saved = EmailTemplate.objects.get(company=company, kind="invoice", language="fr")
    assert saved.subject == "Votre facture {number}"
    assert b"your wording" in owner_client.get("/settings/emails/").content
    assert owner_client.post(url + "reset/").status_code == 302
    assert not EmailTemplate.objects.filter(company=company).exists()


def test_email_template_with_unknown_placeholder_refused(
    owner_client: Client, company: Company
) -> None:
    data = {"subject": "Facture {number}", "body": "Montant : {montant}"}
    response = owner_client.post("/settings/emails/invoice/fr/", data)
    assert response.status_code == 200
    assert "{montant}" in response.content.decode().split('id="id_body"')[1]
    assert not EmailTemplate.objects.filter(company=company).exists()


def test_unknown_email_kind_is_not_found(owner_client: Client) -> None:
    assert owner_client.get("/settings/emails/nope/fr/").status_code == 404


def test_owner_adds_a_user_with_a_role(owner_client: Client, company: Company) -> None:
    data = {
        "username": "nina",
        "email": "nina@example.com",
        "role": "accountant",
        "password1": "Sup3r-long-secret",
        "password2": "Sup3r-long-secret",
    }
    assert owner_client.post("/settings/users/", data).status_code == 302
    membership = Membership.objects.get(user__username="nina")
    assert membership.company == company and membership.role == "accountant"


def test_user_form_errors(owner_client: Client, owner: User) -> None:
    data = {
        "username": owner.username,
        "email": "",
        "role": "sales",
        "password1": "Sup3r-long-secret",
        "password2": "Sup3r-long-secret",
    }
    response = owner_client.post("/settings/users/", data)
    assert response.status_code == 200
    assert "already exists" in response.content.decode().split('id="id_username"')[1]
    weak = {**data, "username": "new", "password1": "123", "password2": "123"}
    response = owner_client.post("/settings/users/", weak)
    assert response.status_code == 200
    assert not User.objects.filter(username="new").exists()


def test_accountant_cannot_add_users(accountant_client: Client) -> None:
    data = {
        "username": "mole",
        "email": "",
        "role": "owner",
        "password1": "Sup3r-long-secret",
        "password2": "Sup3r-long-secret",
    }
    assert accountant_client.post("/settings/users/", data).status_code == 403
    assert not User.objects.filter(username="mole").exists()


def test_every_company_field_is_shown_once() -> None:
    grouped = [name for _, names in CompanyForm.groups for name in names]
    assert sorted(grouped) == sorted(CompanyForm.Meta.fields)


def _state(company: Company) -> Any:
    company.refresh_from_db()
    return (
        model_to_dict(company),
        list(NumberingSeries.objects.filter(company=company).values_list("pattern", flat=True)),
        list(ReminderLevel.objects.filter(company=company).values_list("name", "days")),
        list(EmailTemplate.objects.filter(company=company).values_list("subject", flat=True)),
        list(User.objects.values_list("username", flat=True)),
    )


@pytest.mark.parametrize("role_client", ["accountant", "sales", "readonly"], indirect=True)
def test_every_refused_settings_post_changes_nothing(role_client: Client, company: Company) -> None:
    EmailTemplate.objects.create(
        company=company, kind="invoice", language="fr", subject="Mine", body="B"
    )
    reminder_policy(company)
    series = NumberingSeries.objects.get(company=company, doc_type="invoice")
    before = _state(company)
    posts = {
        "/settings/terms/": {
            "payment_terms_days": "10",
            "late_penalty_rate": "12",
            "early_payment_discount": "x",
        },
        "/settings/branding/": {
            "accent_colour": "#000000",
            "invoice_layout": "modern",
            "invoice_footer": "x",
        },
        "/settings/numbering/": {"series": series.pk, f"s{series.pk}-pattern": "X{YYYY}-{SEQ:05}"},
        "/settings/reminders/": _levels_post([{"name": "X", "days": "3", "enabled": True}]),
        "/settings/emails/invoice/fr/": {"subject": "Hacked {number}", "body": "x"},
        "/settings/emails/invoice/fr/reset/": {},
        "/settings/users/": {
            "username": "mole",
            "role": "owner",
            "password1": "Sup3r-long-secret",
            "password2": "Sup3r-long-secret",
        },
    }
    for url, data in posts.items():
        response = role_client.post(url, data)
        assert response.status_code == 403, url
        assert b"Nothing was changed" in response.content
    assert _state(company) == before
