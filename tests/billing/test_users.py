"""Users of a company: roles, and never a way into the Django admin."""

from __future__ import annotations

import importlib

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
    # A member from before migration 0015: the next change clears the flags too.
    User.objects.filter(username="m").update(is_staff=True, is_superuser=True)
    user = membership_update(company=company, username="m", actor="o", role="owner")
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.membership.role) == (False, False, "owner")


def test_unknown_role_refused(company: Company) -> None:
    with pytest.raises(InvalidInput, match="role"):
        user_create(company=company, username="x", password=PASSWORD, role="boss")
    assert not User.objects.filter(username="x").exists()


def test_migration_0015_takes_the_admin_away_from_members(company: Company) -> None:
    migration = importlib.import_module("facturier.billing.migrations.0015_members_not_staff")
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
