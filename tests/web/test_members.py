"""Owners change a member's role or disable an account; the company keeps an active owner."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.test import Client

from facturier.billing.models import AuditEvent, Company, Membership
from facturier.billing.services import company_create
from tests.conftest import COMPANY_FIELDS


def _post(client: Client, username: str, pk: int, role: str, active: bool) -> None:
    data = {f"{pk}-role": role}
    if active:
        data[f"{pk}-active"] = "on"
    client.post(f"/settings/users/{pk}/", data)


def test_owner_changes_a_role_and_disables_an_account(
    owner_client: Client, make_user: Callable[..., User], company: Company
) -> None:
    sam = make_user("sam", "sales")
    _post(owner_client, "sam", sam.pk, "accountant", True)
    sam.refresh_from_db()
    assert sam.membership.role == "accountant"
    assert not sam.is_staff and not sam.is_superuser and not sam.groups.exists()
    _post(owner_client, "sam", sam.pk, "accountant", False)
    sam.refresh_from_db()
    assert not sam.is_active
    events = AuditEvent.objects.filter(company=company, action="user.updated")
    assert events.count() == 2
    page = owner_client.get("/settings/users/").content.decode()
    assert "disabled" in page


def test_the_last_owner_stays_owner_and_active(
    owner_client: Client, owner: User, make_user: Callable[..., User]
) -> None:
    make_user("bob", "owner")
    bob = User.objects.get(username="bob")
    _post(owner_client, "bob", bob.pk, "owner", False)  # another owner remains: allowed
    response = owner_client.get("/settings/users/")
    assert response.status_code == 200
    # Olivia is now the only active owner: she can neither be demoted nor disable herself.
    _post(owner_client, owner.username, owner.pk, "readonly", True)
    owner.refresh_from_db()
    assert owner.membership.role == "owner"
    _post(owner_client, owner.username, owner.pk, "owner", False)
    owner.refresh_from_db()
    assert owner.is_active
    disable_self = owner_client.post(
        f"/settings/users/{owner.pk}/", {f"{owner.pk}-role": "owner"}, follow=True
    )
    assert "You cannot disable your own account." in disable_self.content.decode()


def test_refusals_show_a_message_and_change_nothing(owner_client: Client, owner: User) -> None:
    response = owner_client.post(
        f"/settings/users/{owner.pk}/",
        {f"{owner.pk}-role": "readonly", f"{owner.pk}-active": "on"},
        follow=True,
    )
    assert response.status_code == 200
    assert "at least one active owner" in response.content.decode()
    assert Membership.objects.get(user=owner).role == "owner"
    bad = owner_client.post(f"/settings/users/{owner.pk}/", {f"{owner.pk}-role": "boss"})
    assert bad.status_code == 302
    assert Membership.objects.get(user=owner).role == "owner"


def test_members_of_another_company_are_not_found(
    owner_client: Client, make_user: Callable[..., User]
) -> None:
    elsewhere = company_create(
        **{**COMPANY_FIELDS, "siren": "552100554", "vat_number": "FR96552100554"}
    )
    stranger = make_user("eve", "sales", of=elsewhere)
    response = owner_client.post(
        f"/settings/users/{stranger.pk}/", {f"{stranger.pk}-role": "owner"}
    )
    assert response.status_code == 404
    assert Membership.objects.get(user=stranger).role == "sales"


def test_only_owners_manage_members(
    accountant_client: Client, make_user: Callable[..., User]
) -> None:
    sam = make_user("sam", "sales")
    response = accountant_client.post(f"/settings/users/{sam.pk}/", {f"{sam.pk}-role": "owner"})
    assert response.status_code == 403
    assert Membership.objects.get(user=sam).role == "sales"


def test_the_users_page_copes_with_usernames_made_before_they_were_checked(
    owner_client: Client, company: Company
) -> None:
    odd = ["../x", "a/b", "x?y#z", "..", "%2e%2e", "\u202eevil"]
    for name in odd:
        Membership.objects.create(
            user=User.objects.create_user(name, password="x"), company=company, role="sales"
        )
    page = owner_client.get("/settings/users/")
    assert page.status_code == 200
    assert "<bdi>\u202eevil</bdi>" in page.content.decode()
    for name in odd:
        user = User.objects.get(username=name)
        _post(owner_client, name, user.pk, "readonly", True)
        assert Membership.objects.get(user=user).role == "readonly", name


def test_the_user_form_refuses_invisible_characters(owner_client: Client) -> None:
    data = {
        "username": "adm\u200bin",
        "email": "",
        "role": "owner",
        "password1": "Sup3r-long-secret",
        "password2": "Sup3r-long-secret",
    }
    response = owner_client.post("/settings/users/", data)
    assert response.status_code == 200
    field = response.content.decode().split('id="id_username"')[1]
    assert "invisible or control characters (U+200B)" in field
    assert not User.objects.filter(username__startswith="adm").exists()


def test_the_user_form_checks_the_password_against_the_user_and_company(
    owner_client: Client,
) -> None:
    for password in ("AtelierTest26", "nina.martin!"):
        data = {
            "username": "nina.martin",
            "email": "",
            "role": "sales",
            "password1": password,
            "password2": password,
        }
        response = owner_client.post("/settings/users/", data)
        assert response.status_code == 200
        field = response.content.decode().split('id="id_password1"')[1]
        assert "too similar to the" in field.split('id="id_password2"')[0]
    assert not User.objects.filter(username="nina.martin").exists()
