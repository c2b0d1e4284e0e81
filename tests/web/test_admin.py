"""The Django admin is for operators only: unmounted by default, and even when mounted
(FACTURIER_ADMIN=1) no member of a company, whatever their role, gets any page of it."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.test import Client, override_settings
from django.urls import clear_url_caches, reverse

import facturier.urls
from facturier.billing.models import Company, Customer
from tests.web.conftest import PASSWORD

ROLES = ["owner", "accountant", "sales", "readonly"]


def _reload_urls() -> None:
    importlib.reload(facturier.urls)
    clear_url_caches()


@pytest.fixture
def admin_mounted() -> Iterator[None]:
    """The project's own urls, loaded again as with FACTURIER_ADMIN=1."""
    with override_settings(FACTURIER_ADMIN=True):
        _reload_urls()
        yield
    _reload_urls()


@pytest.fixture
def operator(db: None) -> User:
    """An operator, as `facturier manage createsuperuser` makes one: no company."""
    return User.objects.create_superuser("operator", "ops@example.com", PASSWORD)


def _some_pk(model: type[Model]) -> object:
    first = model._default_manager.order_by("pk").first()
    return first.pk if first is not None else 1


def every_admin_url() -> list[str]:
    """Every page of the admin: the index, each app, and for each registered model its
    list, add, change, delete and history pages; the password change pages; a user's
    password form; the view-on-site redirect, jsi18n and autocomplete."""
    urls = [
        reverse("admin:index"),
        reverse("admin:password_change"),
        reverse("admin:password_change_done"),
        reverse("admin:jsi18n"),
        reverse("admin:autocomplete"),
    ]
    for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
        urls.append(reverse("admin:app_list", args=[app_label]))
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pk = _some_pk(model)
        urls += [reverse(f"{info}_changelist"), reverse(f"{info}_add")]
        urls += [reverse(f"{info}_{page}", args=[pk]) for page in ("change", "delete", "history")]
    urls.append(reverse("admin:auth_user_password_change", args=[_some_pk(User)]))
    customer_type = ContentType.objects.get_for_model(Customer)
    urls.append(reverse("admin:view_on_site", args=[customer_type.pk, _some_pk(Customer)]))
    return urls


def test_the_admin_is_not_mounted_by_default(owner_client: Client, operator: User) -> None:
    assert Client().get("/admin/").status_code == 404
    assert owner_client.get("/admin/").status_code == 404
    operator_client = Client()
    operator_client.force_login(operator)
    assert operator_client.get("/admin/login/").status_code == 404


@pytest.mark.usefixtures("admin_mounted", "customer")
@pytest.mark.parametrize("role_client", ROLES, indirect=True)
def test_no_member_gets_any_admin_page(role_client: Client) -> None:
    urls = every_admin_url()
    assert len(urls) > 60  # every registered model's five pages, and the rest
    opened = {}
    for url in urls:
        response = role_client.get(url)
        refused = response.status_code in (403, 404) or (
            response.status_code == 302 and response["Location"].startswith("/admin/login/")
        )
        if not refused:
            opened[url] = response.status_code
    assert opened == {}
    # Nor can a member post to the admin.
    response = role_client.post(reverse("admin:billing_company_add"), {"legal_name": "X"})
    assert response.status_code == 302
    assert Company.objects.count() == 1


@pytest.mark.usefixtures("admin_mounted", "customer")
def test_a_member_with_legacy_superuser_flags_is_still_refused(
    owner_client: Client, owner: User
) -> None:
    # As a member of a database not yet migrated (members_not_staff) would be.
    User.objects.filter(pk=owner.pk).update(is_staff=True, is_superuser=True)
    for url in every_admin_url():
        response = owner_client.get(url)
        assert response.status_code != 200, url


@pytest.mark.usefixtures("admin_mounted")
def test_a_member_cannot_sign_in_to_the_admin(owner: User) -> None:
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": owner.username, "password": PASSWORD}
    )
    assert response.status_code == 200  # the form again, with its error
    assert client.get("/admin/").status_code == 302


@pytest.mark.usefixtures("admin_mounted", "customer", "owner")
def test_an_operator_without_a_company_gets_the_admin(operator: User) -> None:
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "operator", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        assert client.get(reverse(f"{info}_changelist")).status_code == 200, info
        assert client.get(reverse(f"{info}_change", args=[_some_pk(model)])).status_code in (
            200,
            302,  # no such object: sent back to the list
        ), info
    assert client.get(reverse("admin:billing_customer_changelist")).status_code == 200
    assert client.get(reverse("admin:password_change")).status_code == 200
