"""Users of a company: roles, and never a way into the Django admin."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User

from facturier.billing.models import Company, Membership
from facturier.billing.services import InvalidInput, membership_update, user_create

PASSWORD = "Ut7!long-enough-pass"


@pytest.mark.parametrize("role", ["owner", "accountant", "sales", "readonly"])
def test_members_are_never_staff_nor_superusers(company: Company, role: str) -> None:
    user = user_create(company=company, username="m", password=PASSWORD, role=role)
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert user.membership.role == role
    # Their role is the web UI's matrix: no Django group nor permission to carry it.
    assert not user.groups.exists()
    assert user.get_all_permissions() == set()


def test_a_role_change_never_makes_staff(company: Company) -> None:
    user_create(company=company, username="o", password=PASSWORD, role="owner")
    user_create(company=company, username="m", password=PASSWORD, role="sales")
    # A member from before the members_not_staff migration: the next change clears them too.
    User.objects.filter(username="m").update(is_staff=True, is_superuser=True)
    user = membership_update(company=company, username="m", actor="o", role="owner")
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.membership.role) == (False, False, "owner")


def test_unknown_role_refused(company: Company) -> None:
    with pytest.raises(InvalidInput, match="role"):
        user_create(company=company, username="x", password=PASSWORD, role="boss")
    assert not User.objects.filter(username="x").exists()


def _members_not_staff() -> str:
    """The migration's module name, whatever its number."""
    folder = Path(importlib.import_module("facturier.billing.migrations").__path__[0])
    (found,) = folder.glob("*_members_not_staff.py")
    return found.stem


def test_migration_members_not_staff_takes_the_admin_away_from_members(company: Company) -> None:
    migration = importlib.import_module(f"facturier.billing.migrations.{_members_not_staff()}")
    member = user_create(company=company, username="m", password=PASSWORD, role="owner")
    # What user_create used to make: staff, superuser for owners, and the role's group.
    User.objects.filter(pk=member.pk).update(is_staff=True, is_superuser=True)
    group = Group.objects.create(name="owner")
    group.permissions.set(Permission.objects.filter(content_type__app_label="billing"))
    member.groups.add(group)
    member.user_permissions.add(Permission.objects.get(codename="view_invoice"))
    operator = User.objects.create_superuser("operator", password=PASSWORD)

    migration.members_not_staff(apps, None)

    member = User.objects.get(pk=member.pk)
    assert (member.is_staff, member.is_superuser) == (False, False)
    assert member.get_all_permissions() == set()
    assert not Group.objects.filter(name="owner").exists()
    assert Membership.objects.get(user=member).role == "owner"
    operator.refresh_from_db()
    assert (operator.is_staff, operator.is_superuser) == (True, True)


@pytest.mark.parametrize(
    "username",
    [
        "../x",  # made the users page a permanent 500
        "a/b",
        "x?y",
        " claire",
        "claire ",
        "adm\u200bin",  # zero-width space
        "ad\u200dmin",  # zero-width joiner
        "\u202eevil",  # right-to-left override
        "claire\u2066",  # left-to-right isolate
        "a\u200fb",  # right-to-left mark
        "a\x00b",
        "a\nb",
        "x\u2028y",  # line separator
        "x\u2029y",  # paragraph separator
        "\u3164",  # Hangul filler: a letter that shows nothing
        "a\ufeffb",  # byte order mark
        "",
        "a" * 151,
    ],
)
def test_usernames_that_are_refused(company: Company, username: str) -> None:
    with pytest.raises(InvalidInput) as err:
        user_create(company=company, username=username, password=PASSWORD, role="sales")
    assert err.value.field == "username"
    assert not User.objects.exists()


def test_the_refusal_says_what_is_wrong(company: Company) -> None:
    with pytest.raises(InvalidInput, match=r"caractère invisible ou de contrôle \(U\+200B\)"):
        user_create(company=company, username="adm\u200bin", password=PASSWORD, role="sales")
    with pytest.raises(InvalidInput, match="ni commencer ni finir par une espace"):
        user_create(company=company, username="admin ", password=PASSWORD, role="sales")


@pytest.mark.parametrize("username", ["claire.martin", "élodie", "jean-luc+1@atelier", "Zoë_2"])
def test_usernames_that_are_accepted(company: Company, username: str) -> None:
    user = user_create(company=company, username=username, password=PASSWORD, role="sales")
    assert user.username == username


def test_look_alike_usernames_are_taken(company: Company) -> None:
    user_create(company=company, username="admin", password=PASSWORD, role="owner")
    for twin in ("Admin", "ＡＤＭＩＮ", "ａdmin"):  # case, and full-width letters (NFKC)
        with pytest.raises(InvalidInput, match="« admin » existe déjà"):
            user_create(company=company, username=twin, password=PASSWORD, role="sales")
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    "password",
    [
        "olivia2026",  # the username
        "martin@example.com",  # the email
        "AtelierTest26",  # the company's legal name, printed on every invoice
        "Ateliers Test",
        "PixelForge!",  # its trade name
        "12345678",
        "short",
    ],
)
def test_passwords_checked_with_the_user_and_the_company(company: Company, password: str) -> None:
    Company.objects.filter(pk=company.pk).update(trade_name="Pixel Forge")
    company.refresh_from_db()
    with pytest.raises(InvalidInput) as err:
        user_create(
            company=company, username="olivia", password=password, role="owner",
            email="olivia.martin@example.com",
        )  # fmt: skip
    assert err.value.field == "password"
    assert not User.objects.exists() and not Membership.objects.exists()


def test_the_company_name_refusal_is_explained(company: Company) -> None:
    with pytest.raises(InvalidInput, match="trop semblable au nom de votre entreprise"):
        user_create(company=company, username="o", password="atelier-test", role="owner")


def test_operators_without_a_company_are_not_compared_with_one(db: None) -> None:
    from django.contrib.auth.password_validation import validate_password

    operator = User.objects.create_user("operator")
    validate_password("Atelier-Test-2026", user=operator)  # no company: nothing to compare
